import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { defaultConfig } from '../../src/config/load.ts'
import type { AuthOptions } from '../../src/openstack/keystone.ts'
import { Session, type SessionOptions } from '../../src/openstack/session.ts'
import { createTransport, type TlsOptions } from '../../src/openstack/transport.ts'
import { memoryLogger } from './tmp.ts'

// The cloud tier needs the dev cloud: sh scripts/devcloud/up.sh (npm test and npm run test:cloud
// start it).
export const DEVCLOUD_DIR = process.env.FUXI_DEVCLOUD_DIR ?? '/var/lib/fuxi-devcloud'
/** Keystone on :5001 shares the database and keys but issues short-lived tokens. */
export const SHORT_TOKEN_KEYSTONE = 'http://127.0.0.1:5001/v3'
export const SHORT_TOKEN_TTL_MS = Number(process.env.FUXI_DEVCLOUD_SHORT_TOKEN_TTL ?? 8) * 1000

/** Reads an openrc written by scripts/devcloud/up.sh into [cinder]-style auth options. */
export function devcloudAuth(rc: 'openrc' | 'openrc-demo'): AuthOptions {
  const env: Record<string, string> = {}
  for (const m of readFileSync(`${DEVCLOUD_DIR}/${rc}`, 'utf8').matchAll(/^export (\w+)=(.*)$/gm))
    env[m[1] as string] = m[2] as string
  return {
    ...defaultConfig().cinder,
    auth_url: env.OS_AUTH_URL ?? '',
    username: env.OS_USERNAME ?? '',
    password: env.OS_PASSWORD ?? '',
    project_name: env.OS_PROJECT_NAME ?? '',
    user_domain_name: env.OS_USER_DOMAIN_NAME ?? '',
    project_domain_name: env.OS_PROJECT_DOMAIN_NAME ?? '',
  }
}

export function devcloudAppCredential(): { id: string; secret: string } {
  const text = readFileSync(`${DEVCLOUD_DIR}/keystone/app-credential`, 'utf8')
  return {
    id: /^id="(.*)"$/m.exec(text)?.[1] ?? '',
    secret: /^secret="(.*)"$/m.exec(text)?.[1] ?? '',
  }
}

/** The non-admin user's application credential as [cinder] auth options. */
export function appCredentialAuth(): AuthOptions {
  const { id, secret } = devcloudAppCredential()
  return {
    ...devcloudAuth('openrc-demo'),
    auth_type: 'v3applicationcredential',
    username: '',
    password: '',
    project_name: '',
    application_credential_id: id,
    application_credential_secret: secret,
  }
}

export interface Identity {
  label: string
  admin: boolean
  auth: () => AuthOptions
}

/** Every client call runs as each of these. */
export const IDENTITIES: readonly Identity[] = [
  { label: 'admin, password', admin: true, auth: () => devcloudAuth('openrc') },
  { label: 'non-admin, password', admin: false, auth: () => devcloudAuth('openrc-demo') },
  { label: 'non-admin, application credential', admin: false, auth: appCredentialAuth },
]

export function cloudSession(
  auth: AuthOptions,
  o: Partial<Omit<SessionOptions, 'auth' | 'transport'>> & {
    timeoutMs?: number
    tls?: TlsOptions
  } = {},
): Session {
  const log = o.log ?? memoryLogger().log
  return new Session({
    section: 'cinder',
    region: 'RegionOne',
    interface: 'public',
    ...o,
    auth,
    transport: createTransport({ timeoutMs: o.timeoutMs ?? 30_000, tls: o.tls, log }),
    log,
  })
}

/** A name no other run or test uses. */
export const uniqueName = (what: string) => `fuxi-ct-${what}-${randomBytes(3).toString('hex')}`

/**
 * fuxi.conf lines giving a section the non-admin user's Keystone credentials ([cinder]: and the
 * `local` connection type, which the dev cloud's loop-backed Cinder exports).
 */
export function demoAuthConf(section: 'cinder' | 'manila'): string[] {
  const a = devcloudAuth('openrc-demo')
  return [
    `[${section}]`,
    ...(section === 'cinder' ? ['local_connection = true'] : []),
    `auth_url = ${a.auth_url}`,
    `username = ${a.username}`,
    `password = ${a.password}`,
    `project_name = ${a.project_name}`,
    'user_domain_name = Default',
    'project_domain_name = Default',
    'region_name = RegionOne',
  ]
}

/**
 * A clouds.yaml with the non-admin user's password credentials as entry `cloud` (without the
 * password when `password` is false: it then goes in secure.yaml).
 */
export function demoCloudsYaml(cloud: string, o: { password: boolean }): string {
  const a = devcloudAuth('openrc-demo')
  return [
    'clouds:',
    `  ${cloud}:`,
    '    auth:',
    `      auth_url: ${a.auth_url}`,
    `      username: ${a.username}`,
    ...(o.password ? [`      password: "${a.password}"`] : []),
    `      project_name: ${a.project_name}`,
    '      user_domain_name: Default',
    '      project_domain_name: Default',
    '    region_name: RegionOne',
    '',
  ].join('\n')
}
