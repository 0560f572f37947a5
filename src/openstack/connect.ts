import type { Credentials, ServiceSection } from '../config/credential-types.ts'
import type { FuxiConfig } from '../config/schema.ts'
import { ConfigError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { Session } from './session.ts'
import { createTransport, type TlsOptions } from './transport.ts'

export type { ServiceSection } from '../config/credential-types.ts'

/**
 * A Keystone session for one service section: the credentials the config resolved for it
 * (fuxi.conf, clouds.yaml or OS_*: config/credentials.ts), with the section's endpoint override
 * and timeout. Its calls are counted in `metrics` when given.
 */
export function sessionFromConfig(
  cfg: FuxiConfig,
  section: ServiceSection,
  log: Logger,
  metrics?: Metrics,
): Session {
  const own = cfg[section]
  const creds = cfg.credentials[section]
  if ('problems' in creds) throw new ConfigError('fuxi.conf', creds.problems)
  return new Session({
    section: creds.section,
    where: creds.where,
    auth: creds.auth,
    region: creds.region,
    interface: creds.interface,
    endpointOverride: own.endpoint_override || undefined,
    transport: createTransport({
      timeoutMs: own.timeout * 1000,
      tls: tlsOf(creds),
      log,
      metrics,
    }),
    log,
  })
}

/** The transport's TLS options from resolved credentials (empty file names: none). */
export function tlsOf({ tls }: Credentials): TlsOptions {
  return {
    cafile: tls.cafile || undefined,
    certfile: tls.certfile || undefined,
    keyfile: tls.keyfile || undefined,
    insecure: tls.insecure,
  }
}
