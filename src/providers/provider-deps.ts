import type { Exec } from '../host/exec.ts'
import type { Host } from '../host/host.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics/metrics.ts'

/** What building a provider from the config may use. */
export interface ProviderDeps {
  readonly exec: Exec
  readonly host: Host
  /** This host's identity in the cloud. */
  readonly hostId: string
  readonly log: Logger
  /** Where the provider's OpenStack calls are counted. */
  readonly metrics: Metrics
}
