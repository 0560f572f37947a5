import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Metrics, VolumeCensusEntry } from './metrics.ts'

/** A daemon's metrics in a registry of its own (never prom-client's global one). */
export interface PrometheusMetrics extends Metrics {
  /** The Prometheus text exposition of everything, gauges computed now. */
  scrape(): Promise<{ contentType: string; body: string }>
}

export interface CensusSource {
  /** Every volume fuxi knows, read at each scrape. */
  volumes(): Iterable<VolumeCensusEntry>
  /** Label values that always have a series (0 when nothing matches), so dashboards see them. */
  readonly providers: readonly string[]
  readonly phases: readonly string[]
}

/** Distinct operations kept per service; any further one is counted as `other` (a backstop). */
export const MAX_OPERATIONS_PER_SERVICE = 100

const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
const OPENSTACK_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
const LOCK_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120]

export function createPrometheusMetrics(census: CensusSource): PrometheusMetrics {
  const registers = [new Registry()]
  const requests = new Counter({
    name: 'fuxi_plugin_requests_total',
    help: 'Plugin requests answered, by endpoint and outcome (err: the answer carried an Err).',
    labelNames: ['endpoint', 'outcome'],
    registers,
  })
  const requestSeconds = new Histogram({
    name: 'fuxi_plugin_request_duration_seconds',
    help: 'Time to answer a plugin request, by endpoint and outcome.',
    labelNames: ['endpoint', 'outcome'],
    buckets: REQUEST_BUCKETS,
    registers,
  })
  const calls = new Counter({
    name: 'fuxi_openstack_requests_total',
    help: 'OpenStack API calls, by service, operation (method and path, ids as {id}) and HTTP status (error: no answer).',
    labelNames: ['service', 'operation', 'status'],
    registers,
  })
  const callSeconds = new Histogram({
    name: 'fuxi_openstack_request_duration_seconds',
    help: 'Time an OpenStack API call took, by service and operation.',
    labelNames: ['service', 'operation'],
    buckets: OPENSTACK_BUCKETS,
    registers,
  })
  const reconciles = new Counter({
    name: 'fuxi_reconcile_runs_total',
    help: 'Reconcile passes, by outcome (partial: some volume could not be reconciled; the next pass retries).',
    labelNames: ['outcome'],
    registers,
  })
  const reconcileActions = new Counter({
    name: 'fuxi_reconcile_actions_total',
    help: 'Actions reconcile passes took (adopted, re-mounted, released, rolled back, ...).',
    registers,
  })
  const lockWaits = new Histogram({
    name: 'fuxi_lock_wait_seconds',
    help: "Time an operation waited for a volume's lock.",
    buckets: LOCK_BUCKETS,
    registers,
  })
  const byProvider = (e: Iterable<VolumeCensusEntry>) => {
    const volumes = new Map<string, number>()
    const mounted = new Map<string, number>()
    const refs = new Map<string, number>()
    const add = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n)
    for (const p of census.providers) {
      for (const phase of census.phases) volumes.set(`${p}\n${phase}`, 0)
      mounted.set(p, 0)
      refs.set(p, 0)
    }
    for (const v of e) {
      add(volumes, `${v.provider}\n${v.phase}`, 1)
      add(mounted, v.provider, v.mounted ? 1 : 0)
      add(refs, v.provider, v.refs)
    }
    return { volumes, mounted, refs }
  }
  // The three gauges are set together, from one look at the volumes per scrape.
  const volumes = new Gauge({
    name: 'fuxi_volumes',
    help: 'Volumes fuxi knows, by provider and phase (the operation in progress; idle: none).',
    labelNames: ['provider', 'phase'],
    registers,
    collect() {
      const now = byProvider(census.volumes())
      volumes.reset()
      mounted.reset()
      refs.reset()
      for (const [k, n] of now.volumes) {
        const [provider = '', phase = ''] = k.split('\n')
        volumes.set({ provider, phase }, n)
      }
      for (const [provider, n] of now.mounted) mounted.set({ provider }, n)
      for (const [provider, n] of now.refs) refs.set({ provider }, n)
    },
  })
  const mounted = new Gauge({
    name: 'fuxi_volumes_mounted',
    help: 'Volumes attached and mounted on this host, by provider.',
    labelNames: ['provider'],
    registers,
  })
  const refs = new Gauge({
    name: 'fuxi_mount_references',
    help: 'Container mounts of fuxi volumes on this host (Mount calls not yet unmounted), by provider.',
    labelNames: ['provider'],
    registers,
  })
  const operations = new Map<string, Set<string>>()
  const bounded = (service: string, operation: string) => {
    const seen = operations.get(service) ?? new Set<string>()
    operations.set(service, seen)
    if (seen.has(operation)) return operation
    if (seen.size >= MAX_OPERATIONS_PER_SERVICE) return 'other'
    seen.add(operation)
    return operation
  }

  return {
    pluginRequest(endpoint, outcome, seconds) {
      requests.inc({ endpoint, outcome })
      requestSeconds.observe({ endpoint, outcome }, seconds)
    },
    openstackCall(c) {
      const operation = bounded(c.service, c.operation)
      calls.inc({ service: c.service, operation, status: c.status })
      callSeconds.observe({ service: c.service, operation }, c.seconds)
    },
    reconciled(outcome, actions) {
      reconciles.inc({ outcome })
      reconcileActions.inc(actions)
    },
    lockWaited(seconds) {
      lockWaits.observe(seconds)
    },
    async scrape() {
      const [registry] = registers as [Registry]
      return { contentType: registry.contentType, body: await registry.metrics() }
    },
  }
}
