import { readFileSync } from 'node:fs'
import { defaultConfig } from '../../src/config/load.ts'
import type { AuthOptions } from '../../src/openstack/keystone.ts'

export const DEVCLOUD_DIR = process.env.FUXI_DEVCLOUD_DIR ?? '/var/lib/fuxi-devcloud'

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
