/** How fuxi.conf options are described: their kinds, and builders for the schema table. */
export type OptionKind =
  | { type: 'string'; secret?: boolean; pattern?: { re: RegExp; hint: string } }
  | { type: 'path' }
  | { type: 'bool' }
  | { type: 'int'; min: number; max: number }
  | { type: 'port' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'list'; values?: readonly string[] }
  | { type: 'dict' }

export type OptionValue =
  | string
  | number
  | boolean
  | readonly string[]
  | Readonly<Record<string, string>>

export interface OptionSpec {
  kind: OptionKind
  default: OptionValue
  doc: string
  /** Accepted for compatibility with the original fuxi; fuxi itself does not act on it. */
  ignored?: boolean
}

export const str = (doc: string, def = '', ignored = false) => ({
  kind: { type: 'string' as const },
  default: def,
  doc,
  ignored,
})
export const secret = (doc: string) => ({
  kind: { type: 'string' as const, secret: true },
  default: '',
  doc,
})
export const bool = (doc: string, def: boolean, ignored = false) => ({
  kind: { type: 'bool' as const },
  default: def,
  doc,
  ignored,
})
export const path = (doc: string, def: string) => ({
  kind: { type: 'path' as const },
  default: def,
  doc,
})
export const int = (doc: string, def: number, min: number, max: number) => ({
  kind: { type: 'int' as const, min, max },
  default: def,
  doc,
})
/** One of `values`; the config type holds the literal union. */
export const oneOf = <const V extends readonly string[]>(
  doc: string,
  values: V,
  def: V[number],
) => ({
  kind: { type: 'enum' as const, values },
  default: def,
  doc,
})
export const compat = (doc: string) =>
  str(`${doc} (accepted for compatibility; not used by fuxi)`, '', true)
