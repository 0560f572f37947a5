import type { ProviderName } from '../config/schema.ts'
import type { MountRefs } from './mount-refs.ts'

/** Steps of a mount, recorded so a crash mid-way can be finished or rolled back. */
export type MountStep = 'attaching' | 'formatting' | 'mounting'

/**
 * What one Create made in its provider: the resource's id, and the marker this create wrote on
 * it. Only this is ever deleted when the create fails or is interrupted, and only while the
 * resource still carries the marker: never anything found by name.
 */
export interface MadeResource {
  readonly id: string
  readonly marker: string
}

/** The multi-step operation in progress on a volume, if any. */
export type Phase =
  | { kind: 'idle' }
  /** `made` is recorded as soon as the provider has made something, before it waits on it. */
  | { kind: 'creating'; made?: MadeResource }
  | { kind: 'mounting'; step: MountStep; id: string }
  | { kind: 'unmounting' }
  /** Written only once the provider has checked that it may delete `id`, right before it does. */
  | { kind: 'removing'; id?: string }

/** Every phase kind, for metrics that show each, zero or not (a Record: none can be left out). */
const PHASES: Readonly<Record<Phase['kind'], true>> = {
  idle: true,
  creating: true,
  mounting: true,
  unmounting: true,
  removing: true,
}
export const PHASE_KINDS = Object.keys(PHASES) as readonly Phase['kind'][]

/** What fuxi remembers about one volume (one JSON file in the journal). */
export interface VolumeRecord {
  readonly name: string
  readonly provider: ProviderName
  /** RFC 3339 with zone (dockerd's Go decoder needs the zone). */
  readonly createdAt: string
  /** Effective create options (defaults applied), as strings like Docker's Opts. */
  readonly options: Readonly<Record<string, string>>
  readonly refs: MountRefs
  /** Boot id of the host when `refs` were written: refs from an earlier boot are void. */
  readonly bootId: string
  /** Block device (or source) while fuxi has the volume attached and mounted; null otherwise. */
  readonly device: string | null
  readonly phase: Phase
}
