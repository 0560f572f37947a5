import { ConfigError, OpenStackHttpError } from '../errors.ts'

/** The auth options of one service section ([cinder], [nova], [manila]) or the legacy [keystone]. */
export interface AuthOptions {
  auth_type: string
  auth_url: string
  username: string
  user_id: string
  password: string
  user_domain_name: string
  user_domain_id: string
  project_name: string
  project_id: string
  project_domain_name: string
  project_domain_id: string
  domain_name: string
  domain_id: string
  default_domain_id: string
  default_domain_name: string
  trust_id: string
  tenant_name: string
  tenant_id: string
  token: string
  system_scope: string
  application_credential_id: string
  application_credential_name: string
  application_credential_secret: string
}

/** The legacy [keystone] section, used when a service section has no auth_url. */
export interface LegacyKeystoneOptions {
  auth_url: string
  admin_user: string
  admin_tenant_name: string
  admin_password: string
  admin_token: string
}

/** Merge a service section with the legacy fallback, as the original did. */
export function effectiveAuth(
  section: Readonly<AuthOptions>,
  legacy: Readonly<LegacyKeystoneOptions>,
): AuthOptions {
  if (section.auth_url) return { ...section }
  return {
    ...section,
    auth_type: legacy.admin_password
      ? 'password'
      : legacy.admin_token
        ? 'token'
        : section.auth_type,
    auth_url: legacy.auth_url,
    username: legacy.admin_user,
    password: legacy.admin_password,
    project_name: legacy.admin_tenant_name,
    token: legacy.admin_token,
  }
}

type Ref = { id: string } | { name: string; domain: { id: string } | { name: string } }

/**
 * Builds the body of `POST /v3/auth/tokens` for the configured auth type. Every missing piece is
 * reported with the section and key to set.
 */
export function authRequestBody(
  o: Readonly<AuthOptions>,
  section: string,
  where = `[${section}]`,
): Record<string, unknown> {
  const problems: string[] = []
  const need = (cond: boolean, msg: string) => {
    if (!cond) problems.push(`${where} ${msg}`)
  }
  need(!!o.auth_url, 'auth_url is not set (e.g. https://keystone.example.com:5000/v3)')
  const defaultDomain = (id: string, name: string) =>
    id
      ? { id }
      : name
        ? { name }
        : o.default_domain_id
          ? { id: o.default_domain_id }
          : o.default_domain_name
            ? { name: o.default_domain_name }
            : { id: 'default' }
  const type = (o.auth_type || 'password').toLowerCase()
  let identity: Record<string, unknown>
  let scoped = true
  switch (type) {
    case 'password':
    case 'v3password': {
      need(!!(o.username || o.user_id), 'password auth needs username or user_id')
      need(!!o.password, 'password auth needs password')
      const user: Record<string, unknown> = o.user_id
        ? { id: o.user_id }
        : { name: o.username, domain: defaultDomain(o.user_domain_id, o.user_domain_name) }
      identity = { methods: ['password'], password: { user: { ...user, password: o.password } } }
      break
    }
    case 'v3applicationcredential':
    case 'applicationcredential': {
      need(
        !!o.application_credential_secret,
        'application credential auth needs application_credential_secret',
      )
      need(
        !!(
          o.application_credential_id ||
          (o.application_credential_name && (o.user_id || o.username))
        ),
        'application credential auth needs application_credential_id, or application_credential_name with username or user_id',
      )
      const cred: Record<string, unknown> = o.application_credential_id
        ? { id: o.application_credential_id }
        : {
            name: o.application_credential_name,
            user: o.user_id
              ? { id: o.user_id }
              : { name: o.username, domain: defaultDomain(o.user_domain_id, o.user_domain_name) },
          }
      identity = {
        methods: ['application_credential'],
        application_credential: { ...cred, secret: o.application_credential_secret },
      }
      scoped = false // the credential carries its own project scope
      break
    }
    case 'token':
    case 'v3token':
      need(!!o.token, 'token auth needs token')
      identity = { methods: ['token'], token: { id: o.token } }
      break
    default:
      problems.push(
        `${where} auth_type "${o.auth_type}" is not supported; use password, v3applicationcredential or token`,
      )
      identity = {}
  }
  if (problems.length) throw new ConfigError('fuxi.conf', problems)
  const auth: Record<string, unknown> = { identity }
  if (scoped) {
    const projectId = o.project_id || o.tenant_id
    const projectName = o.project_name || o.tenant_name
    let scope: Record<string, unknown> | undefined
    if (o.trust_id) scope = { 'OS-TRUST:trust': { id: o.trust_id } }
    else if (projectId) scope = { project: { id: projectId } }
    else if (projectName)
      scope = {
        project: {
          name: projectName,
          domain: defaultDomain(o.project_domain_id, o.project_domain_name),
        } satisfies Ref,
      }
    else if (o.domain_id) scope = { domain: { id: o.domain_id } }
    else if (o.domain_name) scope = { domain: { name: o.domain_name } }
    else if (o.system_scope) scope = { system: { [o.system_scope]: true } }
    if (scope) auth.scope = scope
  }
  return { auth }
}

export interface CatalogEndpoint {
  interface: string
  region_id?: string
  region?: string
  url: string
}
export interface CatalogEntry {
  type: string
  name?: string
  endpoints: CatalogEndpoint[]
}

export interface Token {
  value: string
  expiresAt: number
  /** Keystone's clock when it issued the token (issued_at), when it says. */
  issuedAt?: number
  catalog: CatalogEntry[]
  projectId: string | undefined
}

/**
 * Reads a `POST /v3/auth/tokens` answer: token from X-Subject-Token, expiry and catalog from the
 * body. `from` names the request in the error about an answer without a usable token.
 */
export function parseTokenResponse(
  headers: Readonly<Record<string, string>>,
  json: unknown,
  from: { url: string; requestId?: string } = { url: '/v3/auth/tokens' },
): Token {
  const unusable = (detail: string) =>
    new OpenStackHttpError({ service: 'keystone', method: 'POST', ...from, detail })
  const value = headers['x-subject-token']
  const token = (
    json as {
      token?: {
        expires_at?: string
        issued_at?: string
        catalog?: CatalogEntry[]
        project?: { id?: string }
      }
    } | null
  )?.token
  if (!value || !token?.expires_at)
    throw unusable('Keystone answered without a token (no X-Subject-Token header or expires_at)')
  const expiresAt = Date.parse(token.expires_at)
  if (Number.isNaN(expiresAt))
    throw unusable(`Keystone token has an unreadable expires_at "${token.expires_at}"`)
  const issuedAt = token.issued_at ? Date.parse(token.issued_at) : Number.NaN
  return {
    value,
    expiresAt,
    ...(Number.isNaN(issuedAt) ? {} : { issuedAt }),
    catalog: token.catalog ?? [],
    projectId: token.project?.id,
  }
}

/** The endpoint URL for (service type, region, interface), or a message naming what exists. */
export function findEndpoint(
  catalog: readonly CatalogEntry[],
  serviceType: string,
  region: string,
  iface: string,
): { url: string } | { error: string } {
  const entry = catalog.find((c) => c.type === serviceType)
  if (!entry)
    return {
      error: `the service catalog has no "${serviceType}" service (it has: ${catalog.map((c) => c.type).join(', ') || 'nothing'}); set endpoint_override or fix the catalog`,
    }
  const candidates = entry.endpoints.filter((e) => e.interface === iface)
  const inRegion = region
    ? candidates.filter((e) => (e.region_id ?? e.region) === region)
    : candidates
  const hit = inRegion[0]
  if (hit) return { url: hit.url.replace(/\/+$/, '') }
  const have = entry.endpoints
    .map((e) => `${e.interface}@${e.region_id ?? e.region ?? '?'}`)
    .join(', ')
  return {
    error: `no ${iface} endpoint of "${serviceType}"${region ? ` in region "${region}"` : ''} (catalog has: ${have}); check region_name and interface`,
  }
}
