import type { ProviderName } from '../config/schema.ts'
import type { Logger } from '../log.ts'
import type { MadeResource, MountStep } from './record.ts'

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

/** What the volume service hands a provider for a Create. */
export interface CreateContext {
  readonly log: Logger
  /** Written on what this create makes (metadata `fuxi_created_by`): proof that it made it. */
  readonly marker: string
  /**
   * Record `id` as made by this create, durably, before waiting on it: a failed or interrupted
   * create deletes that id (and nothing else), while it still carries `marker`.
   */
  made(id: string): Promise<void>
}

/** What the volume service hands a provider for a Remove. */
export interface RemoveContext {
  readonly log: Logger
  /** Called once every check has passed, right before the resource `id` is deleted. */
  deleting(id: string): Promise<void>
}

/** What `discard` did with a resource a failed create made. */
export type DiscardOutcome =
  | { kind: 'deleted' }
  | { kind: 'gone' }
  /** Not deleted: someone else's by now, or already used (attached, formatted, given access). */
  | { kind: 'kept'; why: string }

/** Physical state of a volume on this host. */
export interface PhysicalState {
  readonly mounted: boolean
  /**
   * What this host still holds for the volume besides the mount: the loop devices of a local
   * volume, the id of this host's Cinder attachment, the source of a mounted share. Empty: nothing.
   */
  readonly held: readonly string[]
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
  /**
   * Makes the volume (options already parsed). Existing volume of that name: returned as is.
   * Whatever it makes it marks with `ctx.marker` and reports with `ctx.made` before waiting on it;
   * a failure after that is cleaned up by the caller through `discard`, never by name.
   */
  create(
    name: string,
    options: Readonly<Record<string, string>>,
    ctx?: CreateContext,
  ): Promise<BackendVolume>
  /**
   * Deletes the resource a failed or interrupted create made (`made`), only while it carries that
   * create's marker and nobody has used it yet. Never looks anything up by name.
   */
  discard(made: MadeResource, log: Logger): Promise<DiscardOutcome>
  /**
   * Deletes the volume; already gone is success. Called only when nothing has it mounted here.
   * Refuses (throws) without changing anything when another host still uses it; calls
   * `ctx.deleting(id)` once every check has passed, right before deleting.
   */
  remove(name: string, ctx?: RemoveContext): Promise<void>
  /** Whether the resource `id` still exists (and is not being deleted): after an interrupted remove. */
  exists(id: string): Promise<boolean>
  get(name: string): Promise<BackendVolume | undefined>
  list(): Promise<BackendVolume[]>
  /**
   * Grows the volume to `sizeGiB` (never shrinks: InvalidRequestError), and its filesystem when it
   * is mounted at `mountpoint` here. Returns the volume's options after. Absent: cannot resize.
   */
  resize?(
    name: string,
    sizeGiB: number,
    mountpoint: string | undefined,
    log: Logger,
  ): Promise<Readonly<Record<string, string>>>
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
  /**
   * Tells other hosts this one is alive, on the volumes it holds (run every [cinder]
   * heartbeat_interval); returns how many it refreshed. Providers without shared volumes have none.
   */
  heartbeat?(): Promise<number>
}
