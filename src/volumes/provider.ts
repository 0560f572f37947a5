import type { ProviderName } from '../config/schema.ts'
import type { Logger } from '../log.ts'
import type { MountStep } from './record.ts'

/** A volume as its provider sees it. */
export interface BackendVolume {
  readonly name: string
  /** RFC 3339 with zone. */
  readonly createdAt: string
  /** Effective options (e.g. size, fstype), strings as Docker sends them. */
  readonly options: Readonly<Record<string, string>>
}

/** What the volume service hands a provider for a mount or unmount. */
export interface OpContext {
  readonly log: Logger
  /**
   * Announce the step about to run. The service records it durably when recovery depends on it
   * (an interrupted 'formatting' may be redone with force); every step is a fault-injection point.
   */
  step(step: MountStep): Promise<void>
  /** The step a previous attempt was at when the daemon died (set during recovery only). */
  readonly interruptedAt?: MountStep | undefined
}

/** Physical state of a volume on this host. */
export interface PhysicalState {
  readonly mounted: boolean
  /** Devices (or sources) attached for this volume. */
  readonly devices: readonly string[]
}

/**
 * One storage backend (local, cinder, manila). The volume service serializes calls per volume
 * and keeps mount references; a provider only does the work. Every method is idempotent: a call
 * repeated after a crash or timeout finishes the job instead of failing or doing it twice.
 */
export interface VolumeProvider {
  readonly name: ProviderName
  /** Docker scope: 'local' when volumes exist on this host only, 'global' for cloud resources. */
  readonly scope: 'local' | 'global'
  /** Validates Create options and applies defaults. Throws InvalidRequestError; no side effects. */
  parseOptions(opts: Readonly<Record<string, string>>): Record<string, string>
  /** Makes the volume (options already parsed). Existing volume of that name: returned as is. */
  create(name: string, options: Readonly<Record<string, string>>): Promise<BackendVolume>
  /** Deletes the volume; already gone is success. Called only when nothing has it mounted. */
  remove(name: string): Promise<void>
  get(name: string): Promise<BackendVolume | undefined>
  list(): Promise<BackendVolume[]>
  /** Attach, format if never formatted and blank, mount at `mountpoint`; returns the device. */
  mount(name: string, mountpoint: string, ctx: OpContext): Promise<string>
  /** Unmount `mountpoint` and detach; nothing mounted/attached is success. */
  unmount(name: string, mountpoint: string, ctx: OpContext): Promise<void>
  /** Physical state of several volumes at once (one look at the host for all of them). */
  inspect(
    targets: readonly { name: string; mountpoint: string }[],
  ): Promise<Map<string, PhysicalState>>
  /** Extra fields for `docker volume inspect`'s Status. */
  describe(name: string): Readonly<Record<string, unknown>>
}
