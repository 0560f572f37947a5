import { readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import convict from 'convict'
import { ConfigError } from '../errors.ts'
import { keystoneSections } from '../providers/registry.ts'
import { loadClouds } from './clouds-yaml.ts'
import { coerce } from './coerce.ts'
import {
  type CredentialInputs,
  type CredentialsOrProblems,
  resolveCredentials,
  SERVICE_SECTIONS,
  type ServiceSection,
} from './credentials.ts'
import { parseIni } from './ini.ts'
import { parseListenAddress } from './listen-address.ts'
import { type FuxiConfig, type OptionSpec, type OptionValue, SCHEMA } from './schema.ts'
import { type CredentialSources, NO_SOURCES } from './sources.ts'

const specs = SCHEMA as unknown as Record<string, Record<string, OptionSpec>>

type Values = Record<string, Record<string, OptionValue>>

export interface LoadOptions {
  /**
   * Report sections without usable credentials (default). Off for the admin commands that only
   * talk to the daemon: their environment is not the daemon's.
   */
  checkCredentials?: boolean
}

/**
 * Reads and validates a fuxi.conf; every problem is reported at once, with file and line.
 * Credentials may also come from clouds.yaml and OS_* variables (`sources`; none by default).
 */
export async function loadConfigFile(
  file: string,
  sources: CredentialSources = NO_SOURCES,
  o: LoadOptions = {},
): Promise<FuxiConfig> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    throw new ConfigError(file, [`cannot read the file: ${(e as Error).message}`])
  }
  const read = readValues(text, file)
  const { env } = sources
  // clouds.yaml (and the YAML parser) only when something names a cloud.
  const wanted = !!env.OS_CLOUD || SERVICE_SECTIONS.some((s) => read.values[s]?.cloud)
  const clouds = wanted ? await loadClouds(sources) : undefined
  return finish(read, file, { env, clouds }, o)
}

/** The embedded default: no file, provider `local` only. */
export function defaultConfig(): FuxiConfig {
  return parseConfig('', '(built-in defaults)')
}

export function parseConfig(
  text: string,
  file: string,
  inputs: CredentialInputs = { env: {} },
  o: LoadOptions = {},
): FuxiConfig {
  return finish(readValues(text, file), file, inputs, o)
}

/** The values the file sets (coerced to their types), and what is wrong with its lines. */
function readValues(text: string, file: string): { values: Values; problems: string[] } {
  const ini = parseIni(text, file)
  const problems = [...ini.problems]
  const values: Values = {}
  for (const s of ini.sections) {
    if (!specs[s.name])
      problems.push(
        `${file}:${s.line}: unknown section [${s.name}]${suggest(s.name, Object.keys(specs))}; valid: ${Object.keys(specs).join(', ')}`,
      )
  }
  for (const e of ini.entries) {
    const section = specs[e.section]
    if (!section) continue
    const spec = section[e.key]
    if (!spec) {
      problems.push(
        `${file}:${e.line}: unknown key "${e.key}" in [${e.section}]${suggest(e.key, Object.keys(section))}`,
      )
      continue
    }
    const c = coerce(spec.kind, e.value)
    if (!c.ok) problems.push(`${file}:${e.line}: [${e.section}] ${e.key}: ${c.problem}`)
    else values[e.section] = { ...values[e.section], [e.key]: c.value }
  }
  return { values, problems }
}

function finish(
  read: { values: Values; problems: string[] },
  file: string,
  inputs: CredentialInputs,
  o: LoadOptions,
): FuxiConfig {
  const { values } = read
  const problems = [...read.problems]
  if (!problems.length) problems.push(...validateWithConvict(values))
  const full = withDefaults(values)
  const credentials = Object.fromEntries(
    SERVICE_SECTIONS.map((s) => [s, resolveCredentials(full, values, s, inputs)]),
  ) as Record<ServiceSection, CredentialsOrProblems>
  const config = { ...full, credentials } as unknown as FuxiConfig
  if (!problems.length) problems.push(...crossChecks(config, o.checkCredentials !== false))
  if (problems.length) throw new ConfigError(file, problems)
  return deepFreeze(config)
}

/** convict re-checks the coerced values against the schema (types, ranges, no extra keys). */
function validateWithConvict(values: Values): string[] {
  const schema: Record<string, Record<string, convict.SchemaObj>> = {}
  for (const [section, opts] of Object.entries(specs)) {
    schema[section] = {}
    for (const [key, spec] of Object.entries(opts)) {
      schema[section][key] = {
        doc: spec.doc,
        default: spec.default as never,
        format: formatFor(spec),
      }
    }
  }
  try {
    const c = convict(schema as convict.Schema<unknown>)
    c.load(values)
    c.validate({ allowed: 'strict' })
    return []
  } catch (e) {
    return (e as Error).message.split('\n').filter(Boolean)
  }
}

function formatFor(spec: OptionSpec): convict.SchemaObj['format'] {
  const k = spec.kind
  switch (k.type) {
    case 'string':
    case 'path':
      return String
    case 'bool':
      return Boolean
    case 'int':
    case 'port':
      return (v: unknown) => {
        if (!Number.isInteger(v)) throw new Error('must be an integer')
      }
    case 'enum':
      return [...k.values]
    case 'list':
      return Array
    case 'dict':
      return Object
  }
}

function crossChecks(c: FuxiConfig, credentials: boolean): string[] {
  const problems: string[] = []
  const providers = c.DEFAULT.volume_providers
  if (!providers.length)
    problems.push('[DEFAULT] volume_providers is empty: name at least one of local, cinder, manila')
  if (providers.includes('manila')) {
    problems.push(...manilaChecks(c.manila))
    if (c.manila.share_proto === 'NFS' && !c.DEFAULT.my_ip && !c.manila.access_to)
      problems.push(
        "[DEFAULT] my_ip is not set (nor [manila] access_to): NFS shares are opened to this host's address; set my_ip to the address the share servers see",
      )
  }
  const metrics = c.DEFAULT.metrics_listen && parseListenAddress(c.DEFAULT.metrics_listen)
  if (metrics && !metrics.ok) problems.push(`[DEFAULT] metrics_listen: ${metrics.problem}`)
  for (const svc of credentials ? keystoneSections(c) : []) {
    const creds = c.credentials[svc]
    if ('problems' in creds) problems.push(...creds.problems)
  }
  return problems
}

/** What fuxi's Manila provider cannot do, said at start rather than at the first mount. */
function manilaChecks(m: FuxiConfig['manila']): string[] {
  const problems: string[] = []
  if (m.share_proto === 'GLUSTERFS')
    problems.push('[manila] share_proto = GLUSTERFS is not supported by fuxi; use NFS or CEPHFS')
  const wanted: Record<string, string> = { NFS: 'ip', CEPHFS: 'cephx' }
  for (const [proto, type] of Object.entries(m.proto_access_type_map))
    if (wanted[proto.toUpperCase()] && wanted[proto.toUpperCase()] !== type)
      problems.push(
        `[manila] proto_access_type_map: ${proto}:${type} is not supported; fuxi gives NFS shares ip access and CEPHFS shares cephx access (remove the entry or use NFS:ip,CEPHFS:cephx)`,
      )
  const cidr = m.export_cidr
  if (cidr && !isCidr(cidr))
    problems.push(`[manila] export_cidr = ${cidr} is not a CIDR (e.g. 192.0.2.0/24)`)
  return problems
}

function isCidr(s: string): boolean {
  const [net, bits, more] = s.split('/')
  const family = isIP(net ?? '')
  return (
    !!family &&
    more === undefined &&
    /^\d+$/.test(bits ?? '') &&
    Number(bits) <= (family === 4 ? 32 : 128)
  )
}

function withDefaults(values: Values): Values {
  const out: Values = {}
  for (const [section, opts] of Object.entries(specs)) {
    out[section] = {}
    for (const [key, spec] of Object.entries(opts))
      out[section][key] = values[section]?.[key] ?? spec.default
  }
  return out
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}

function suggest(word: string, candidates: string[]): string {
  const best = candidates
    .map((c) => ({ c, d: distance(word.toLowerCase(), c.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0]
  return best && best.d <= 2 ? ` (did you mean "${best.c}"?)` : ''
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] ?? 0
      row[j] = Math.min(cur + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length] ?? 0
}
