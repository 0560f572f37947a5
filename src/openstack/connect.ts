import type { FuxiConfig } from '../config/schema.ts'
import { ConfigError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { effectiveAuth } from './keystone.ts'
import { Session } from './session.ts'
import { createTransport } from './transport.ts'

export type ServiceSection = 'cinder' | 'manila' | 'nova'
const SECTIONS: readonly ServiceSection[] = ['cinder', 'manila', 'nova']

/**
 * A Keystone session for one service section: its auth options (or those of `auth_section`, or
 * the legacy [keystone] section when it has no auth_url), region, interface, endpoint override,
 * TLS files and timeout.
 */
export function sessionFromConfig(cfg: FuxiConfig, section: ServiceSection, log: Logger): Session {
  const own = cfg[section]
  let authFrom: ServiceSection = section
  if (own.auth_section) {
    if (!SECTIONS.includes(own.auth_section as ServiceSection))
      throw new ConfigError('fuxi.conf', [
        `[${section}] auth_section = ${own.auth_section}: must name one of ${SECTIONS.join(', ')}`,
      ])
    authFrom = own.auth_section as ServiceSection
  }
  const authSection = cfg[authFrom]
  const legacy = !authSection.auth_url
  const auth = effectiveAuth(authSection, cfg.keystone)
  if (!auth.auth_url)
    throw new ConfigError('fuxi.conf', [
      `[${section}] auth_url is not set (nor [keystone] auth_url): fuxi needs Keystone to reach ${section}`,
    ])
  return new Session({
    section: authFrom,
    auth,
    region: own.region_name || cfg.keystone.region,
    interface: own.interface,
    endpointOverride: own.endpoint_override || undefined,
    transport: createTransport({
      timeoutMs: own.timeout * 1000,
      tls: {
        cafile: own.cafile || (legacy ? cfg.keystone.auth_ca_cert : '') || undefined,
        certfile: own.certfile || undefined,
        keyfile: own.keyfile || undefined,
        insecure: own.insecure || (legacy && cfg.keystone.auth_insecure),
      },
      log,
    }),
    log,
  })
}
