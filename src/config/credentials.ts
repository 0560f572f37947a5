/**
 * Where a service section's Keystone credentials come from. The one place that decides it:
 * fuxi.conf, a clouds.yaml entry, or the OS_* environment (README "Credentials").
 */
import {
  type AuthOptions,
  effectiveAuth,
  type LegacyKeystoneOptions,
} from '../openstack/keystone.ts'
import type { CloudsFiles } from './clouds-yaml.ts'
import {
  AUTH_KEYS,
  type CredKey,
  cloudLayer,
  environmentLayer,
  type Layer,
} from './credential-layers.ts'
import {
  type CredentialsOrProblems,
  SERVICE_SECTIONS,
  type ServiceSection,
} from './credential-types.ts'

export type { Credentials, CredentialsOrProblems, ServiceSection } from './credential-types.ts'
export { SERVICE_SECTIONS } from './credential-types.ts'

type Values = Readonly<Record<string, Readonly<Record<string, unknown>> | undefined>>

/** What credentials are read from besides fuxi.conf. */
export interface CredentialInputs {
  readonly env: Readonly<Record<string, string | undefined>>
  /** clouds.yaml and secure.yaml (read when a section names a cloud, or OS_CLOUD is set). */
  readonly clouds?: CloudsFiles
}

const WHY: Record<ServiceSection, string> = {
  cinder:
    'the cinder provider needs Keystone; set auth_url, username, password, project_name (or application credentials) in [cinder], or cloud = NAME (clouds.yaml), or give fuxi OS_CLOUD or OS_AUTH_URL and the other OS_* variables',
  manila:
    'the manila provider needs Keystone; set auth_url, username, password, project_name (or application credentials) in [manila], or cloud = NAME (clouds.yaml), or auth_section = cinder, or give fuxi OS_CLOUD or OS_AUTH_URL and the other OS_* variables',
  nova: 'volume_connector = openstack attaches through Nova; set [nova] auth options, or auth_section = cinder, or cloud = NAME',
}

/**
 * Options that name one thing in different ways. A fuxi.conf key replaces the whole group it is
 * in, so a name from one place never meets an id from another (project_name here, project_id
 * from the environment would scope the token to the wrong project).
 */
const GROUPS: readonly (readonly CredKey[])[] = [
  ['auth_url'],
  ['auth_type'],
  ['username', 'user_id'],
  ['password'],
  ['user_domain_name', 'user_domain_id'],
  [
    'project_name',
    'project_id',
    'tenant_name',
    'tenant_id',
    'domain_name',
    'domain_id',
    'system_scope',
    'trust_id',
  ],
  ['project_domain_name', 'project_domain_id'],
  ['default_domain_id', 'default_domain_name'],
  ['token'],
  ['application_credential_id', 'application_credential_name'],
  ['application_credential_secret'],
  ['region_name'],
  ['interface'],
  ['cafile'],
  ['certfile'],
  ['keyfile'],
  ['insecure'],
]
/** Options of the service's own section even when auth_section borrows another's credentials. */
const CONNECTION: ReadonlySet<CredKey> = new Set([
  'region_name',
  'interface',
  'cafile',
  'certfile',
  'keyfile',
  'insecure',
])

/** The origin of an auth_type no source gave: password, unless a token or secret says otherwise. */
export const INFERRED = 'inferred from the options given'

const NOT_READ: CloudsFiles = {
  searched: [],
  file: undefined,
  secureFile: undefined,
  clouds: {},
  fromSecure: {},
  error: 'clouds.yaml is not read here',
}

/**
 * The credentials of service section `svc`. `full` is fuxi.conf with defaults, `explicit` only
 * what the file sets. The auth options are those of `svc`, or of the section its auth_section
 * names; the first of these decides where they come from:
 *  1. that section's `cloud = NAME`: the clouds.yaml entry NAME;
 *  2. that section's `auth_url`, or the legacy [keystone] auth_url: fuxi.conf alone, as before;
 *  3. OS_CLOUD in fuxi's environment: that clouds.yaml entry;
 *  4. OS_AUTH_URL in fuxi's environment: the OS_* variables.
 * In 1, 3 and 4 every option fuxi.conf sets wins over that source, group by group (GROUPS).
 * Two sources never mix: OS_* variables are not read when a cloud is used, nor either when
 * fuxi.conf has an auth_url of its own.
 */
export function resolveCredentials(
  full: Values,
  explicit: Values,
  svc: ServiceSection,
  inputs: CredentialInputs,
): CredentialsOrProblems {
  const named = String(full[svc]?.auth_section ?? '')
  if (named && !SERVICE_SECTIONS.includes(named as ServiceSection))
    return {
      problems: [
        `[${svc}] auth_section = ${named}: must name one of ${SERVICE_SECTIONS.join(', ')}`,
      ],
    }
  if (named && explicit[svc]?.cloud)
    return {
      problems: [
        `[${svc}] cloud and auth_section are both set: credentials come from one place; keep one of them`,
      ],
    }
  const from = (named || svc) as ServiceSection
  const cloud = String(explicit[from]?.cloud ?? '')
  const { env } = inputs
  const clouds = inputs.clouds ?? NOT_READ
  const stack = (layer: Layer, where: string) =>
    stacked(layer, explicit, svc, from, `[${from}] (${where})`)
  if (cloud)
    return stack(cloudLayer(clouds, cloud, `[${from}] cloud = ${cloud}`), cloudWhere(cloud, clouds))
  if (full[from]?.auth_url || full.keystone?.auth_url) return fromConf(full, explicit, svc, from)
  if (env.OS_CLOUD)
    return stack(
      cloudLayer(clouds, env.OS_CLOUD, `OS_CLOUD = ${env.OS_CLOUD} (for [${svc}])`),
      `OS_CLOUD: ${cloudWhere(env.OS_CLOUD, clouds)}`,
    )
  if (env.OS_AUTH_URL) return stack(environmentLayer(env), 'the OS_* environment')
  return { problems: [`[${svc}] auth_url is not set (nor [keystone] auth_url): ${WHY[svc]}`] }
}

const cloudWhere = (name: string, c: CloudsFiles) => `cloud "${name}" in ${c.file ?? 'clouds.yaml'}`

/** A source, with what fuxi.conf sets on top; unset options take fuxi's defaults. */
function stacked(
  base: Layer,
  explicit: Values,
  svc: ServiceSection,
  from: ServiceSection,
  where: string,
): CredentialsOrProblems {
  if (base.problems.length) return { problems: base.problems }
  const values: Partial<Record<CredKey, unknown>> = { ...base.values }
  const origins: Record<string, string> = { ...base.origins }
  for (const group of GROUPS) {
    const section = CONNECTION.has(group[0] as CredKey) ? svc : from
    const set = (k: CredKey) => {
      const v = explicit[section]?.[k]
      return v !== undefined && v !== ''
    }
    if (!group.some(set)) continue
    for (const k of group) {
      delete values[k]
      delete origins[k]
      if (!set(k)) continue
      values[k] = explicit[section]?.[k]
      origins[k] = `fuxi.conf [${section}]`
    }
  }
  const s = (k: CredKey) => (typeof values[k] === 'string' ? (values[k] as string) : '')
  const auth = Object.fromEntries(AUTH_KEYS.map((k) => [k, s(k)])) as Omit<AuthOptions, 'auth_type'>
  let authType = s('auth_type')
  if (!authType) {
    authType = auth.application_credential_secret
      ? 'v3applicationcredential'
      : auth.token && !auth.password
        ? 'token'
        : 'password'
    origins.auth_type = INFERRED
  }
  return {
    section: from,
    where,
    auth: { ...auth, auth_type: authType },
    region: s('region_name'),
    interface: s('interface') || 'public',
    tls: {
      cafile: s('cafile'),
      certfile: s('certfile'),
      keyfile: s('keyfile'),
      insecure: values.insecure === true,
    },
    origins,
    files: base.files,
  }
}

/** Keys the legacy [keystone] section gives when the service section has no auth_url. */
const LEGACY_KEYS: Partial<Record<CredKey, string>> = {
  auth_url: 'auth_url',
  username: 'admin_user',
  password: 'admin_password',
  project_name: 'admin_tenant_name',
  token: 'admin_token',
}

/** fuxi.conf alone: the section (or its auth_section), else the legacy [keystone] section. */
function fromConf(
  full: Values,
  explicit: Values,
  svc: ServiceSection,
  from: ServiceSection,
): CredentialsOrProblems {
  const own = full[svc] ?? {}
  const ks = (full.keystone ?? {}) as Readonly<Record<string, unknown>>
  const legacy = !full[from]?.auth_url
  const auth = effectiveAuth(
    full[from] as unknown as AuthOptions,
    ks as unknown as LegacyKeystoneOptions,
  )
  const str = (v: unknown) => (typeof v === 'string' ? v : '')
  const origins: Record<string, string> = {}
  const note = (k: string, section: string, key = k) => {
    const dflt = explicit[section]?.[key] === undefined ? ' (default)' : ''
    origins[k] = `fuxi.conf [${section}]${section === 'keystone' ? ` ${key}` : ''}${dflt}`
  }
  for (const k of [...AUTH_KEYS, 'auth_type'] as const) {
    if (!auth[k]) continue
    const lk = LEGACY_KEYS[k]
    if (legacy && lk) note(k, 'keystone', lk)
    else if (legacy && k === 'auth_type' && (ks.admin_password || ks.admin_token))
      origins[k] = 'fuxi.conf [keystone] (admin_password or admin_token)'
    else note(k, from)
  }
  const cafile = str(own.cafile) || (legacy ? str(ks.auth_ca_cert) : '')
  const insecure = own.insecure === true || (legacy && ks.auth_insecure === true)
  const region = str(own.region_name) || str(ks.region)
  if (region)
    note(
      'region_name',
      own.region_name ? svc : 'keystone',
      own.region_name ? 'region_name' : 'region',
    )
  note('interface', svc)
  if (cafile) note('cafile', own.cafile ? svc : 'keystone', own.cafile ? 'cafile' : 'auth_ca_cert')
  for (const k of ['certfile', 'keyfile'] as const) if (own[k]) note(k, svc)
  if (insecure)
    note('insecure', own.insecure ? svc : 'keystone', own.insecure ? 'insecure' : 'auth_insecure')
  return {
    section: from,
    where: `[${from}]`,
    auth,
    region,
    interface: str(own.interface) || 'public',
    tls: { cafile, certfile: str(own.certfile), keyfile: str(own.keyfile), insecure },
    origins,
    files: [],
  }
}
