import { type OptionSpec, type OptionValue, SCHEMA } from './schema.ts'

/** Renders etc/fuxi.conf.sample from the schema: every section and key, commented out. */
export function renderSample(): string {
  const out = [
    '# fuxi.conf sample, generated from src/config/schema.ts by `npm run gen-config-sample`.',
    '# Every key the original OpenStack fuxi accepted is accepted here; unknown keys are errors.',
    '# With no config file at all, fuxi serves the `local` provider with the defaults below.',
    '',
  ]
  for (const [section, opts] of Object.entries(
    SCHEMA as unknown as Record<string, Record<string, OptionSpec>>,
  )) {
    out.push(`[${section}]`, '')
    for (const [key, spec] of Object.entries(opts)) {
      out.push(`# ${spec.doc}`)
      out.push(`# (${describeKind(spec)})`)
      out.push(`#${key} = ${renderValue(spec.default)}`, '')
    }
  }
  return `${out.join('\n').trimEnd()}\n`
}

function describeKind(spec: OptionSpec): string {
  const k = spec.kind
  switch (k.type) {
    case 'string':
      return k.secret ? 'string, secret: never logged' : 'string'
    case 'path':
      return 'absolute path'
    case 'bool':
      return 'boolean: true or false'
    case 'int':
      return `integer ${k.min}..${k.max}`
    case 'port':
      return 'port 1..65535'
    case 'enum':
      return `one of: ${k.values.join(', ')}`
    case 'list':
      return k.values ? `comma-separated list of: ${k.values.join(', ')}` : 'comma-separated list'
    case 'dict':
      return 'comma-separated key:value pairs'
  }
}

function renderValue(v: OptionValue): string {
  if (Array.isArray(v)) return v.join(',')
  if (typeof v === 'object')
    return Object.entries(v)
      .map(([k, x]) => `${k}:${x}`)
      .join(',')
  return String(v)
}
