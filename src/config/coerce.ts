import type { OptionKind, OptionValue } from './schema.ts'

const TRUE = new Set(['true', 'yes', 'on', '1'])
const FALSE = new Set(['false', 'no', 'off', '0'])

export type Coerced = { ok: true; value: OptionValue } | { ok: false; problem: string }

/** Turns the raw INI string into the option's type, strictly: "fix it" beats "guess". */
export function coerce(kind: OptionKind, raw: string): Coerced {
  const v = raw.trim()
  switch (kind.type) {
    case 'string':
      if (v && kind.pattern && !kind.pattern.re.test(v))
        return { ok: false, problem: `"${v}" is not valid: ${kind.pattern.hint}` }
      return { ok: true, value: v }
    case 'path':
      return v.startsWith('/') && !v.split('/').includes('..')
        ? { ok: true, value: v.replace(/\/+$/, '') || '/' }
        : { ok: false, problem: `"${v}" is not an absolute path without ".." (e.g. /var/lib/fuxi)` }
    case 'bool': {
      const l = v.toLowerCase()
      if (TRUE.has(l)) return { ok: true, value: true }
      if (FALSE.has(l)) return { ok: true, value: false }
      return { ok: false, problem: `"${v}" is not a boolean: use true or false` }
    }
    case 'int':
    case 'port': {
      const [min, max] = kind.type === 'port' ? [1, 65535] : [kind.min, kind.max]
      if (!/^\d+$/.test(v)) return { ok: false, problem: `"${v}" is not a whole number` }
      const n = Number(v)
      return n >= min && n <= max
        ? { ok: true, value: n }
        : { ok: false, problem: `${n} is out of range: use ${min}..${max}` }
    }
    case 'enum': {
      const hit = kind.values.find((x) => x.toLowerCase() === v.toLowerCase())
      return hit
        ? { ok: true, value: hit }
        : { ok: false, problem: `"${v}" is not one of: ${kind.values.join(', ')}` }
    }
    case 'list': {
      const items = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
      const bad = kind.values ? items.filter((x) => !kind.values?.includes(x)) : []
      if (bad.length)
        return {
          ok: false,
          problem: `unknown value(s) ${bad.map((b) => `"${b}"`).join(', ')}: use ${kind.values?.join(', ')}`,
        }
      if (new Set(items).size !== items.length)
        return { ok: false, problem: `"${v}" lists a value twice` }
      return { ok: true, value: items }
    }
    case 'dict': {
      const out: Record<string, string> = {}
      for (const pair of v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const m = /^([^:]+):(.+)$/.exec(pair)
        if (!m)
          return { ok: false, problem: `"${pair}" is not key:value (e.g. NFS:ip,CEPHFS:cephx)` }
        out[(m[1] ?? '').trim()] = (m[2] ?? '').trim()
      }
      return { ok: true, value: out }
    }
  }
}
