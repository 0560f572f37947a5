import type { ProviderName } from '../config/schema.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { mountpointFor } from './names.ts'
import type { BackendVolume, OpContext } from './provider.ts'
import type { ProviderSet } from './provider-set.ts'
import type { MountStep, Phase, VolumeRecord } from './record.ts'
import type { VolumeStore } from './volume-store.ts'

/** Test-only crash injection: called at named points; the test daemon SIGKILLs itself there. */
export type FaultHook = (point: string) => void

/** What the volume service and the reconciler share. */
export interface VolumeDeps {
  readonly store: VolumeStore
  readonly providers: ProviderSet
  /** This boot of the host: mount references from another boot are void. */
  readonly bootId: string
  /** This host's stable id (marks what its creates make). */
  readonly hostId: string
  readonly volumeDir: string
  readonly log: Logger
  readonly fault?: FaultHook | undefined
  /** Where reconcile passes are counted (NO_METRICS when metrics are off). */
  readonly metrics: Metrics
}

export function mountpointOf(d: Pick<VolumeDeps, 'volumeDir'>, rec: VolumeRecord): string {
  return mountpointFor(d.volumeDir, rec.provider, rec.name)
}

/** The record of a volume fuxi finds in a provider and did not know: nothing in progress. */
export function adoptedRecord(
  d: Pick<VolumeDeps, 'bootId'>,
  provider: ProviderName,
  b: BackendVolume,
): VolumeRecord {
  return {
    name: b.name,
    provider,
    createdAt: b.createdAt,
    options: b.options,
    refs: {},
    bootId: d.bootId,
    device: null,
    phase: { kind: 'idle' },
  }
}

/**
 * What a provider's mount or unmount of `rec` gets: its log, and the steps it announces. Only an
 * interrupted format changes what recovery must do, so only that step is journaled (other steps
 * are not worth an fsync); every step is a fault-injection point.
 */
export function opContext(
  d: Pick<VolumeDeps, 'store' | 'fault'>,
  rec: VolumeRecord,
  log: Logger,
  interruptedAt?: MountStep,
): OpContext {
  return {
    log,
    interruptedAt,
    step: async (step) => {
      if (step === 'formatting') {
        const current = d.store.get(rec.name) ?? rec
        const phase: Phase =
          current.phase.kind === 'mounting'
            ? { ...current.phase, step }
            : { kind: 'mounting', step, id: '' }
        await d.store.save({ ...current, phase })
      }
      d.fault?.(`mount:${step}`)
    },
  }
}

/** Milliseconds since `t0` (performance.now()), rounded for logs. */
export function msSince(t0: number): number {
  return Math.round((performance.now() - t0) * 100) / 100
}
