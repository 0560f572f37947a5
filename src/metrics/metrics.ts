/**
 * What fuxi counts, as the code that does the work reports it. The composition root hands each
 * part the slice it needs: the no-op `NO_METRICS` when `[DEFAULT] metrics_listen` is unset, else
 * a Prometheus registry of this daemon's own (prometheus.ts, the only file that knows
 * prom-client). Labels must stay few: endpoint paths, service types, templated API paths with no
 * ids in them, status codes.
 */
export interface Metrics {
  /** A plugin request was answered: `err` when the answer carried an Err (any HTTP status). */
  pluginRequest(endpoint: string, outcome: Outcome, seconds: number): void
  /** An OpenStack HTTP call ended (each attempt of a retried GET is one call). */
  openstackCall(call: OpenStackCall): void
  /** A reconcile pass ended, having taken `actions` actions. */
  reconciled(outcome: ReconcileOutcome, actions: number): void
  /** A volume's lock was taken after waiting `seconds` for it. */
  lockWaited(seconds: number): void
}

export type Outcome = 'ok' | 'err'

/**
 * `ok`: nothing failed; `partial`: the pass ran to its end but some volume or provider could not
 * be reconciled (logged; the next pass tries again); `err`: the pass itself failed.
 */
export type ReconcileOutcome = 'ok' | 'partial' | 'err'

export interface OpenStackCall {
  /** Catalog service type (volumev3, sharev2, compute) or keystone. */
  readonly service: string
  /** Method and templated path, e.g. `POST /v3/{id}/volumes/{id}/action`. */
  readonly operation: string
  /** The HTTP status, or `error` when no answer came (timeout, refused connection). */
  readonly status: string
  readonly seconds: number
}

/** Metrics off: every report is dropped. */
export const NO_METRICS: Metrics = {
  pluginRequest() {},
  openstackCall() {},
  reconciled() {},
  lockWaited() {},
}

/** One volume as the scrape-time gauges see it. */
export interface VolumeCensusEntry {
  readonly provider: string
  /** The multi-step operation in progress (`idle` when none). */
  readonly phase: string
  /** Container mount references on this host. */
  readonly refs: number
  /** Attached and mounted on this host. */
  readonly mounted: boolean
}
