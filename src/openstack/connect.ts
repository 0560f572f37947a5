import { keystoneSectionOf, type ServiceSection } from '../config/keystone-sections.ts'
import type { FuxiConfig } from '../config/schema.ts'
import { ConfigError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { effectiveAuth } from './keystone.ts'
import { Session } from './session.ts'
import { createTransport } from './transport.ts'

export type { ServiceSection } from '../config/keystone-sections.ts'

/**
 * A Keystone session for one service section: its auth options (or those of `auth_section`, or
 * the legacy [keystone] section when it has no auth_url), region, interface, endpoint override,
 * TLS files and timeout. Its calls are counted in `metrics` when given.
 */
export function sessionFromConfig(
  cfg: FuxiConfig,
  section: ServiceSection,
  log: Logger,
  metrics?: Metrics,
): Session {
  const own = cfg[section]
  const { from: authFrom, legacy, problems } = keystoneSectionOf(cfg, section)
  if (problems.length) throw new ConfigError('fuxi.conf', problems)
  const auth = effectiveAuth(cfg[authFrom], cfg.keystone)
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
      metrics,
    }),
    log,
  })
}
