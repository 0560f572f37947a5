/**
 * The places credentials come from besides fuxi.conf, each read into one `Layer` of fuxi's own
 * option names: a clouds.yaml entry and the OS_* environment. credentials.ts stacks them.
 */
import type { AuthOptions } from '../openstack/keystone.ts'
import type { CloudEntry, CloudsFiles } from './clouds-yaml.ts'
import { isMap } from './clouds-yaml.ts'
import { coerce } from './coerce.ts'

/** Every option a credential source can give, by its fuxi.conf name. */
export type CredKey =
  | keyof AuthOptions
  | 'region_name'
  | 'interface'
  | 'cafile'
  | 'certfile'
  | 'keyfile'
  | 'insecure'

export const AUTH_KEYS = [
  'auth_url',
  'username',
  'user_id',
  'password',
  'user_domain_name',
  'user_domain_id',
  'project_name',
  'project_id',
  'project_domain_name',
  'project_domain_id',
  'domain_name',
  'domain_id',
  'default_domain_id',
  'default_domain_name',
  'trust_id',
  'tenant_name',
  'tenant_id',
  'token',
  'system_scope',
  'application_credential_id',
  'application_credential_name',
  'application_credential_secret',
] as const satisfies readonly (keyof AuthOptions)[]

/** One source's values, where each came from (never the value itself), and what is wrong. */
export interface Layer {
  readonly values: Partial<Record<CredKey, string | boolean>>
  readonly origins: Partial<Record<CredKey, string>>
  readonly problems: readonly string[]
  /** The files read (clouds.yaml, secure.yaml): they hold secrets. */
  readonly files: readonly string[]
}

/** The OS_* variable of each option (the OpenStack clients' names). */
const ENV_NAMES: Readonly<Record<CredKey, string>> = {
  ...(Object.fromEntries(AUTH_KEYS.map((k) => [k, `OS_${k.toUpperCase()}`])) as Record<
    (typeof AUTH_KEYS)[number],
    string
  >),
  auth_type: 'OS_AUTH_TYPE',
  region_name: 'OS_REGION_NAME',
  interface: 'OS_INTERFACE',
  cafile: 'OS_CACERT',
  certfile: 'OS_CERT',
  keyfile: 'OS_KEY',
  insecure: 'OS_INSECURE',
}

/** The OS_* environment as a layer; empty variables count as unset. */
export function environmentLayer(env: Readonly<Record<string, string | undefined>>): Layer {
  const values: Layer['values'] = {}
  const origins: Layer['origins'] = {}
  const problems: string[] = []
  const put = (k: CredKey, raw: string | undefined, name: string) => {
    if (!raw) return
    const v = typed(k, raw, (p) => problems.push(`environment ${name}: ${p}`))
    if (v === undefined) return
    values[k] = v
    origins[k] = 'the environment (OS_*)'
  }
  for (const [k, name] of Object.entries(ENV_NAMES) as [CredKey, string][]) put(k, env[name], name)
  if (!values.interface) put('interface', env.OS_ENDPOINT_TYPE, 'OS_ENDPOINT_TYPE')
  return { values, origins, problems, files: [] }
}

/**
 * The clouds.yaml entry `name` as a layer: `auth.*`, `auth_type`, `region_name` (else the first
 * of `regions`), `interface`, `cacert`, `cert`, `key`, `verify` (false: insecure) or `insecure`.
 * Other keys are for other clients and are left alone.
 */
export function cloudLayer(files: CloudsFiles, name: string, label: string): Layer {
  const fail = (p: string): Layer => ({ values: {}, origins: {}, problems: [p], files: [] })
  const searched = `searched: ${files.searched.join(', ')}`
  if (files.error) return fail(`${label}: ${files.error}`)
  if (!files.file) return fail(`${label}: no clouds.yaml found (${searched})`)
  const entry = files.clouds[name]
  if (!entry) {
    const have = Object.keys(files.clouds).join(', ') || 'none'
    return fail(`${label}: no cloud "${name}" in ${files.file} (it has: ${have}; ${searched})`)
  }
  const secret = new Set(files.fromSecure[name] ?? [])
  const values: Layer['values'] = {}
  const origins: Layer['origins'] = {}
  const problems: string[] = []
  const put = (k: CredKey, raw: unknown, path: string) => {
    if (raw === undefined || raw === '') return
    if (typeof raw !== 'string') {
      problems.push(`${label}: ${path} must be a single value`)
      return
    }
    const v = typed(k, raw, (p) => problems.push(`${label}: ${path}: ${p}`))
    if (v === undefined) return
    values[k] = v
    origins[k] = `${secret.has(path) ? files.secureFile : files.file} (cloud "${name}")`
  }
  const auth = isMap(entry.auth) ? entry.auth : {}
  for (const k of AUTH_KEYS) put(k, auth[k], `auth.${k}`)
  put('auth_type', entry.auth_type, 'auth_type')
  put('region_name', entry.region_name ?? firstRegion(entry), 'region_name')
  put('interface', entry.interface, 'interface')
  put('cafile', entry.cacert, 'cacert')
  put('certfile', entry.cert, 'cert')
  put('keyfile', entry.key, 'key')
  if (entry.verify !== undefined) {
    const verify = typed('insecure', String(entry.verify), (p) =>
      problems.push(`${label}: verify: ${p}`),
    )
    if (typeof verify === 'boolean') {
      values.insecure = !verify
      origins.insecure = `${secret.has('verify') ? files.secureFile : files.file} (cloud "${name}")`
    }
  } else put('insecure', entry.insecure, 'insecure')
  const used = [
    files.file,
    ...(Object.keys(files.fromSecure).includes(name) ? [files.secureFile] : []),
  ]
  return { values, origins, problems, files: used.filter((f): f is string => !!f) }
}

function firstRegion(entry: CloudEntry): unknown {
  const r = Array.isArray(entry.regions) ? entry.regions[0] : undefined
  return isMap(r) ? r.name : r
}

const INTERFACES: Readonly<Record<string, string>> = {
  publicurl: 'public',
  internalurl: 'internal',
  adminurl: 'admin',
}

/** A raw string as the option's type: insecure a strict boolean, interface public|internal|admin. */
function typed(
  k: CredKey,
  raw: string,
  problem: (p: string) => void,
): string | boolean | undefined {
  const v = raw.trim()
  if (k === 'insecure' || k === 'interface') {
    const kind =
      k === 'insecure'
        ? ({ type: 'bool' } as const)
        : ({ type: 'enum', values: ['public', 'internal', 'admin'] } as const)
    const c = coerce(kind, INTERFACES[v.toLowerCase()] ?? v)
    if (!c.ok) {
      problem(c.problem)
      return undefined
    }
    return c.value as string | boolean
  }
  if ((k === 'cafile' || k === 'certfile' || k === 'keyfile') && !v.startsWith('/')) {
    problem(`"${v}" is not an absolute path`)
    return undefined
  }
  return v
}
