import { formatListenAddress, isLoopback, parseListenAddress } from '../config/listen-address.ts'
import { InternalError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { MetricsServer } from './http-server.ts'
import { type Metrics, NO_METRICS } from './metrics.ts'
import type { CensusSource } from './prometheus.ts'

export interface MetricsSetup {
  /** What the daemon's parts report to (NO_METRICS when off). */
  readonly metrics: Metrics
  /** Starts serving /metrics; undefined when metrics are off. */
  listen(log: Logger): Promise<MetricsServer | undefined>
}

/**
 * Metrics as `[DEFAULT] metrics_listen` says: empty, none (prom-client is not even loaded, so a
 * daemon without metrics starts no slower); else a registry of this daemon's own, served once
 * the daemon listens.
 */
export async function startMetrics(listen: string, census: CensusSource): Promise<MetricsSetup> {
  if (!listen) return { metrics: NO_METRICS, listen: async () => undefined }
  const at = parseListenAddress(listen)
  // The config loader has checked it already.
  if (!at.ok) throw new InternalError(`metrics_listen: ${at.problem}`)
  const [{ createPrometheusMetrics }, { serveMetrics }] = await Promise.all([
    import('./prometheus.ts'),
    import('./http-server.ts'),
  ])
  const metrics = createPrometheusMetrics(census)
  return {
    metrics,
    async listen(log) {
      const server = await serveMetrics(at.value, () => metrics.scrape(), log)
      const where = formatListenAddress(server.address)
      if (isLoopback(at.value)) log.info({ metrics: `http://${where}/metrics` }, 'serving metrics')
      else
        log.warn(
          { metrics: `http://${where}/metrics` },
          'serving metrics beyond loopback: anyone who reaches it reads volume counts and API call rates',
        )
      return server
    },
  }
}
