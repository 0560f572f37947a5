import { randomUUID } from 'node:crypto'
import type { ProviderName } from '../config/schema.ts'
import { BUDGET_MS, withDeadline } from '../deadline.ts'
import {
  InvalidRequestError,
  VolumeExistsError,
  VolumeInUseError,
  VolumeNotFoundError,
} from '../errors.ts'
import type { Locks } from '../host/locks.ts'
import type { Logger } from '../log.ts'
import type { Journal } from './journal.ts'
import { addRef, releaseRef, totalRefs } from './mount-refs.ts'
import { mountpointFor, validateVolumeName } from './names.ts'
import type { BackendVolume, CreateContext, OpContext, VolumeProvider } from './provider.ts'
import type { MountStep, Phase, VolumeRecord } from './record.ts'

/** A cloud provider's listing is reused for List this long. */
export const LIST_FRESH_MS = 2_000

/** What Get/List report for a volume. */
export interface VolumeView {
  readonly name: string
  /** The mountpoint while mounted, '' otherwise. */
  readonly mountpoint: string
  readonly createdAt: string
  readonly status: Readonly<Record<string, unknown>>
}

/** Test-only crash injection: called at named points; the test daemon SIGKILLs itself there. */
export type FaultHook = (point: string) => void

export interface VolumeServiceDeps {
  /** Enabled providers in configured order; the first is the default for Create. */
  readonly providers: readonly VolumeProvider[]
  readonly journal: Journal
  readonly locks: Locks
  readonly bootId: string
  /** This host's stable id (marks what its creates make). */
  readonly hostId: string
  readonly volumeDir: string
  readonly log: Logger
  readonly fault?: FaultHook | undefined
}

/**
 * Docker's volume semantics across providers: names, one lock per volume, the mount-reference
 * multiset, and a journal entry per volume recording any multi-step operation in progress.
 * Get/List answer from memory; everything else is serialized per volume.
 */
export class VolumeService {
  readonly #d: VolumeServiceDeps
  readonly #records = new Map<string, VolumeRecord>()
  readonly #providers: Map<string, VolumeProvider>
  readonly #listed = new Map<string, { at: number; backends: readonly BackendVolume[] }>()
  readonly #listing = new Map<string, Promise<readonly BackendVolume[]>>()

  constructor(deps: VolumeServiceDeps) {
    if (!deps.providers.length) throw new Error('at least one provider is required')
    this.#d = deps
    this.#providers = new Map(deps.providers.map((p) => [p.name, p]))
  }

  /** Load the journal into memory. Call once before serving. */
  async load(): Promise<void> {
    for (const r of await this.#d.journal.readAll()) this.#records.set(r.name, r)
  }

  /** Docker scope: 'local' if any enabled provider is host-local (it cannot claim cluster scope). */
  get scope(): 'local' | 'global' {
    return this.#d.providers.some((p) => p.scope === 'local') ? 'local' : 'global'
  }

  async create(rawName: unknown, opts: Readonly<Record<string, string>>): Promise<void> {
    const name = validateVolumeName(rawName)
    const provider = this.#providerFor(opts.volume_provider)
    const options = provider.parseOptions(opts)
    await this.#d.locks.withLock(name, async () => {
      const existing = this.#records.get(name)
      if (existing) {
        if (existing.provider !== provider.name)
          throw new VolumeExistsError(
            `volume "${name}" already exists with provider ${existing.provider}; names are unique across providers`,
          )
        return // Create is idempotent: retries and concurrent creates succeed.
      }
      const log = this.#log('create', name, provider.name)
      const t0 = performance.now()
      let rec: VolumeRecord = {
        name,
        provider: provider.name,
        createdAt: new Date().toISOString(),
        options,
        refs: {},
        bootId: this.#d.bootId,
        device: null,
        phase: { kind: 'creating' },
      }
      await this.save(rec)
      const marker = `${this.#d.hostId}/${randomUUID()}`
      const ctx: CreateContext = {
        log,
        marker,
        made: async (id) => {
          rec = await this.save({ ...rec, phase: { kind: 'creating', made: { id, marker } } })
        },
      }
      try {
        const backend = await provider.create(name, options, ctx)
        rec = {
          ...rec,
          createdAt: backend.createdAt,
          options: backend.options,
          phase: { kind: 'idle' },
        }
        await this.save(rec)
      } catch (err) {
        log.warn({ err, ms: ms(t0), outcome: 'error' }, 'create failed')
        await this.#undoCreate(rec, provider, log).catch((e: unknown) =>
          log.error({ err: e }, 'undoing the failed create failed; fuxi reconcile retries it'),
        )
        throw err
      }
      log.info({ options, ms: ms(t0), outcome: 'ok' }, 'volume created')
    })
  }

  /**
   * A create failed: delete what it made (by id, only while it carries this create's marker),
   * never anything found by name; then forget the record.
   */
  async #undoCreate(rec: VolumeRecord, provider: VolumeProvider, log: Logger): Promise<void> {
    const phase = this.#records.get(rec.name)?.phase ?? rec.phase
    const made = phase.kind === 'creating' ? phase.made : undefined
    if (!made)
      log.info({ outcome: 'nothing-made' }, 'the failed create made nothing; nothing to undo')
    else {
      const outcome = await withDeadline(
        BUDGET_MS.rollback,
        `rollback of the create of ${rec.name}`,
        () => provider.discard(made, log),
      ).catch((err: unknown) => {
        log.error(
          { err, id: made.id },
          `could not delete what the failed create made (${made.id}); it is listed as volume "${rec.name}": remove it with docker volume rm if it is not wanted`,
        )
        return undefined
      })
      if (outcome)
        log.info(
          {
            id: made.id,
            outcome: outcome.kind,
            why: outcome.kind === 'kept' ? outcome.why : undefined,
          },
          'undid the failed create',
        )
    }
    await this.forget(rec.name)
  }

  async remove(rawName: unknown): Promise<void> {
    const name = validateVolumeName(rawName)
    await this.#d.locks.withLock(name, async () => {
      const rec = await this.#requireOrAdopt(name)
      const n = totalRefs(rec.refs)
      if (n > 0)
        throw new VolumeInUseError(
          `volume "${name}" is mounted by ${n} container mount(s) on this host; stop the containers using it, then remove it`,
        )
      const provider = this.providerOf(rec)
      const log = this.#log('remove', name, rec.provider)
      const t0 = performance.now()
      try {
        // A device still recorded means an unmount failed earlier: finish it first.
        if (rec.device !== null) {
          await provider.unmount(name, this.mountpointOf(rec), this.context(rec, log))
          await this.save({ ...rec, device: null })
        }
        // The journal says "removing" only once the provider has checked that it may delete, so
        // a refusal leaves the volume as it was, and a restart never finishes a refused remove.
        await provider.remove(name, {
          log,
          deleting: async (id) => {
            await this.save({ ...this.#require(name), phase: { kind: 'removing', id } })
          },
        })
      } catch (err) {
        log.info(
          { err, ms: ms(t0), outcome: err instanceof VolumeInUseError ? 'refused' : 'error' },
          'volume not removed; it is as it was',
        )
        const now = this.#records.get(name)
        if (now && now.phase.kind !== 'idle')
          await this.#saveAfterError({ ...now, phase: { kind: 'idle' } }, log)
        throw err
      }
      await this.forget(name)
      log.info({ ms: ms(t0), outcome: 'ok' }, 'volume removed')
    })
  }

  /** Adds a reference for `id`; attaches and mounts on the first. Returns the mountpoint. */
  async mount(rawName: unknown, id: unknown): Promise<string> {
    const name = validateVolumeName(rawName)
    const mountId = validateMountId(id)
    return this.#d.locks.withLock(name, async () => {
      let rec = await this.#requireOrAdopt(name)
      const provider = this.providerOf(rec)
      const mp = this.mountpointOf(rec)
      const log = this.#log('mount', name, rec.provider).child({ mountId })
      const t0 = performance.now()
      const first = totalRefs(rec.refs) === 0
      rec = await this.save({
        ...rec,
        phase: { kind: 'mounting', step: 'attaching', id: mountId },
      })
      let device: string
      try {
        device = await provider.mount(name, mp, this.context(rec, log))
      } catch (err) {
        // dockerd never sends Unmount for a failed Mount: undo our own partial work now.
        if (first)
          await provider
            .unmount(name, mp, this.context(rec, log))
            .catch((e: unknown) =>
              log.error({ err: e }, 'rollback of failed mount incomplete; reconcile will retry'),
            )
        log.warn({ err, ms: ms(t0), outcome: 'error' }, 'mount failed')
        await this.#saveAfterError(
          { ...this.#require(name), phase: { kind: 'idle' }, device: first ? null : rec.device },
          log,
        )
        throw err
      }
      this.#d.fault?.('mount:before-commit')
      rec = await this.save({
        ...this.#require(name),
        refs: addRef(rec.refs, mountId),
        bootId: this.#d.bootId,
        device,
        phase: { kind: 'idle' },
      })
      log.info(
        { device, refs: totalRefs(rec.refs), first, ms: ms(t0), outcome: 'ok' },
        'volume mounted',
      )
      return mp
    })
  }

  /** Drops a reference of `id`; unmounts and detaches when none is left. Unknown IDs are a no-op. */
  async unmount(rawName: unknown, id: unknown): Promise<void> {
    const name = validateVolumeName(rawName)
    const mountId = validateMountId(id)
    await this.#d.locks.withLock(name, async () => {
      const rec = this.#records.get(name)
      const log = this.#log('unmount', name, rec?.provider).child({ mountId })
      if (!rec) return log.info({ outcome: 'noop' }, 'unmount of unknown volume: nothing to do')
      const { refs, released } = releaseRef(rec.refs, mountId)
      if (!released) return log.info({ outcome: 'noop' }, 'unknown mount ID: nothing to do')
      const t0 = performance.now()
      if (totalRefs(refs) > 0) {
        await this.save({ ...rec, refs })
        return log.info(
          { refs: totalRefs(refs), ms: ms(t0), outcome: 'ok' },
          'reference released; still mounted',
        )
      }
      const pending = await this.save({ ...rec, refs, phase: { kind: 'unmounting' } })
      this.#d.fault?.('unmount:before-work')
      try {
        await this.providerOf(rec).unmount(name, this.mountpointOf(rec), this.context(pending, log))
      } catch (err) {
        // The reference is gone either way (dockerd would otherwise count it twice on retry);
        // the device stays recorded so the reconciler finishes the job.
        log.error({ err, ms: ms(t0), outcome: 'error' }, 'unmount failed')
        await this.#saveAfterError({ ...pending, phase: { kind: 'idle' } }, log)
        throw err
      }
      await this.save({ ...pending, device: null, phase: { kind: 'idle' } })
      log.info({ ms: ms(t0), outcome: 'ok' }, 'volume unmounted and detached')
    })
  }

  get(rawName: unknown): VolumeView | undefined {
    const rec = this.#records.get(validateVolumeName(rawName))
    return rec && this.#view(rec)
  }

  list(): VolumeView[] {
    return [...this.#records.values()].map((r) => this.#view(r))
  }

  /**
   * Get for Docker: a volume fuxi does not know yet may exist in a cloud provider (made on another
   * host, or by the original fuxi); it is adopted on first sight.
   */
  async lookup(rawName: unknown): Promise<VolumeView | undefined> {
    const name = validateVolumeName(rawName)
    const known = this.#records.get(name)
    if (known) {
      // A cloud volume fuxi has not looked at since it started: look now, for Status (and the
      // Mount that usually follows reuses what it saw). The cloud being down still answers.
      const p = this.#providers.get(known.provider)
      if (p?.scope === 'global' && !Object.keys(p.describe(name)).length)
        await p
          .get(name)
          .catch((err: unknown) =>
            this.#log('get', name, p.name).warn({ err }, 'cloud details not available'),
          )
      return this.#view(known)
    }
    const rec = await this.#d.locks.withLock(name, () => this.#adopt(name))
    return rec && this.#view(rec)
  }

  /** List for Docker: what fuxi knows, plus the cloud providers' volumes it has not seen yet. */
  async listAll(): Promise<VolumeView[]> {
    const views = this.list()
    const known = new Set(views.map((v) => v.name))
    const clouds = this.#d.providers.filter((x) => x.scope === 'global')
    const listings = await Promise.all(clouds.map((p) => this.#cloudList(p))) // at once, not in turn
    for (const [i, p] of clouds.entries()) {
      for (const b of listings[i] ?? [])
        if (!known.has(b.name)) {
          known.add(b.name)
          views.push({
            name: b.name,
            mountpoint: '',
            createdAt: b.createdAt,
            status: { provider: p.name, ...b.options },
          })
        }
    }
    return views
  }

  /**
   * A cloud provider's volumes for List: the last listing while it is younger than
   * LIST_FRESH_MS (bursts of `docker volume ls` from tools do not each wait on the cloud), else a
   * new one, shared by concurrent callers.
   */
  async #cloudList(p: VolumeProvider): Promise<readonly BackendVolume[]> {
    const cached = this.#listed.get(p.name)
    if (cached && Date.now() - cached.at < LIST_FRESH_MS) return cached.backends
    const inFlight = this.#listing.get(p.name)
    if (inFlight !== undefined) return inFlight
    const pending = p
      .list()
      .then((backends) => {
        this.#listed.set(p.name, { at: Date.now(), backends })
        return backends
      })
      .catch((err: unknown) => {
        this.#d.log.warn(
          { err, provider: p.name },
          'listing failed; showing the volumes fuxi knows',
        )
        return cached?.backends ?? []
      })
      .finally(() => this.#listing.delete(p.name))
    this.#listing.set(p.name, pending)
    return pending
  }

  /** A record for a volume a cloud provider has and the journal lacks (caller holds the lock). */
  async #adopt(name: string): Promise<VolumeRecord | undefined> {
    const known = this.#records.get(name)
    if (known) return known
    for (const p of this.#d.providers.filter((x) => x.scope === 'global')) {
      const b = await p.get(name)
      if (!b) continue
      const rec: VolumeRecord = {
        name,
        provider: p.name,
        createdAt: b.createdAt,
        options: b.options,
        refs: {},
        bootId: this.#d.bootId,
        device: null,
        phase: { kind: 'idle' },
      }
      await this.save(rec)
      this.#log('adopt', name, p.name).info('volume found in the provider; adopted')
      return rec
    }
    return undefined
  }

  async #requireOrAdopt(name: string): Promise<VolumeRecord> {
    const rec = await this.#adopt(name)
    if (!rec) throw new VolumeNotFoundError(name)
    return rec
  }

  /** Names of every known volume, for the reconciler. */
  names(): string[] {
    return [...this.#records.keys()]
  }

  record(name: string): VolumeRecord | undefined {
    return this.#records.get(name)
  }

  providers(): readonly VolumeProvider[] {
    return this.#d.providers
  }

  // ---- also used by the reconciler -------------------------------------------------------

  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.#d.locks.withLock(name, fn)
  }
  get bootId(): string {
    return this.#d.bootId
  }

  /**
   * The journal write after a failed operation: its own failure (a full disk) is logged and the
   * operation's error is what the caller gets; the journal keeps the phase, which the next call
   * or the reconciler finishes.
   */
  async #saveAfterError(rec: VolumeRecord, log: Logger): Promise<void> {
    await this.save(rec).catch((e: unknown) =>
      log.error({ err: e }, 'could not record the failed operation in the journal'),
    )
  }

  /** Persist then publish a record (journal first, so memory never runs ahead of disk). */
  async save(rec: VolumeRecord): Promise<VolumeRecord> {
    await this.#d.journal.write(rec)
    this.#records.set(rec.name, rec)
    return rec
  }

  async forget(name: string): Promise<void> {
    await this.#d.journal.remove(name)
    this.#records.delete(name)
    // Gone from the cloud too (removed here): not listed again from an older listing.
    for (const [p, l] of this.#listed)
      this.#listed.set(p, { ...l, backends: l.backends.filter((b) => b.name !== name) })
  }

  context(rec: VolumeRecord, log: Logger, interruptedAt?: MountStep): OpContext {
    return {
      log,
      interruptedAt,
      step: async (step) => {
        // Only an interrupted format changes what recovery must do; other steps are not worth an fsync.
        if (step === 'formatting') {
          const current = this.#records.get(rec.name) ?? rec
          const phase: Phase =
            current.phase.kind === 'mounting'
              ? { ...current.phase, step }
              : { kind: 'mounting', step, id: '' }
          await this.save({ ...current, phase })
        }
        this.#d.fault?.(`mount:${step}`)
      },
    }
  }

  #providerFor(requested: string | undefined): VolumeProvider {
    if (requested === undefined) return this.#d.providers[0] as VolumeProvider
    const p = this.#providers.get(requested)
    if (!p)
      throw new InvalidRequestError(
        `invalid value for option "volume_provider": ${JSON.stringify(requested)}; enabled providers: ${[...this.#providers.keys()].join(', ')}`,
        'INVALID_OPTION',
      )
    return p
  }

  providerOf(rec: VolumeRecord): VolumeProvider {
    const p = this.#providers.get(rec.provider)
    if (!p)
      throw new VolumeExistsError(
        `volume "${rec.name}" belongs to provider ${rec.provider}, which is not enabled; add it to [DEFAULT] volume_providers`,
      )
    return p
  }

  #require(name: string): VolumeRecord {
    const rec = this.#records.get(name)
    if (!rec) throw new VolumeNotFoundError(name)
    return rec
  }

  mountpointOf(rec: VolumeRecord): string {
    return mountpointFor(this.#d.volumeDir, rec.provider, rec.name)
  }

  #view(rec: VolumeRecord): VolumeView {
    const provider = this.#providers.get(rec.provider)
    const mounted = rec.device !== null
    const mountpoint = this.mountpointOf(rec)
    return {
      name: rec.name,
      mountpoint: mounted ? mountpoint : '',
      createdAt: rec.createdAt,
      // Built only when asked for (Get, inspect); List sends names and mountpoints alone.
      get status() {
        return {
          provider: rec.provider,
          ...rec.options,
          ...provider?.describe(rec.name),
          mounted,
          device: rec.device ?? undefined,
          mountpoint,
          refs: totalRefs(rec.refs),
          mount_ids: Object.keys(rec.refs).length,
          phase: rec.phase.kind,
        }
      },
    }
  }

  #log(op: string, volume: string, provider: ProviderName | undefined): Logger {
    return this.#d.log.child({ op, volume, provider })
  }
}

function validateMountId(id: unknown): string {
  if (typeof id !== 'string' || id === '' || id.length > 256)
    throw new InvalidRequestError(
      'mount ID is missing or invalid: dockerd sends {"Name": ..., "ID": ...}',
    )
  return id
}

function ms(t0: number): number {
  return Math.round((performance.now() - t0) * 100) / 100
}
