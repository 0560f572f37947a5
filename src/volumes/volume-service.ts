import { randomUUID } from 'node:crypto'
import type { ProviderName } from '../config/schema.ts'
import { BUDGET_MS, withDeadline } from '../deadline.ts'
import { InvalidRequestError, VolumeExistsError, VolumeInUseError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { dataFolder } from './data-folder.ts'
import { addRef, releaseRef, totalRefs } from './mount-refs.ts'
import { validateVolumeName } from './names.ts'
import type { CreateContext, VolumeProvider } from './provider.ts'
import type { VolumeRecord } from './record.ts'
import { VolumeCatalog, type VolumeView } from './volume-catalog.ts'
import { mountpointOf, msSince as ms, opContext, type VolumeDeps } from './volume-deps.ts'
import { parseResizeSize, resizeRecord } from './volume-resize.ts'

export type { VolumeView } from './volume-catalog.ts'
export type { FaultHook } from './volume-deps.ts'

/**
 * Docker's volume operations across providers: names, one lock per volume, the mount-reference
 * multiset, and a journal entry per volume recording any multi-step operation in progress.
 * Get/List answer from memory (the catalog); everything else is serialized per volume.
 */
export class VolumeService {
  readonly #d: VolumeDeps
  readonly #catalog: VolumeCatalog

  constructor(deps: VolumeDeps) {
    this.#d = deps
    this.#catalog = new VolumeCatalog(deps)
  }

  /** Docker scope: 'local' if any enabled provider is host-local (it cannot claim cluster scope). */
  get scope(): 'local' | 'global' {
    return this.#d.providers.scope
  }

  get(rawName: unknown): VolumeView | undefined {
    return this.#catalog.get(rawName)
  }
  list(): VolumeView[] {
    return this.#catalog.list()
  }
  lookup(rawName: unknown): Promise<VolumeView | undefined> {
    return this.#catalog.lookup(rawName)
  }
  listAll(): Promise<VolumeView[]> {
    return this.#catalog.listAll()
  }

  async create(rawName: unknown, opts: Readonly<Record<string, string>>): Promise<void> {
    const name = validateVolumeName(rawName)
    const provider = this.#d.providers.forCreate(opts.volume_provider)
    const options = provider.parseOptions(opts)
    const { store } = this.#d
    await store.withLock(name, async () => {
      const existing = store.get(name)
      if (existing) {
        if (existing.provider !== provider.name)
          throw new VolumeExistsError(
            `volume "${name}" already exists with provider ${existing.provider}; names are unique across providers`,
          )
        return // Create is idempotent: retries and concurrent creates succeed.
      }
      const log = this.#log('create', name, provider.name)
      const t0 = performance.now()
      let rec = await store.save({
        name,
        provider: provider.name,
        createdAt: new Date().toISOString(),
        options,
        refs: {},
        bootId: this.#d.bootId,
        device: null,
        phase: { kind: 'creating' },
      })
      const marker = `${this.#d.hostId}/${randomUUID()}`
      const ctx: CreateContext = {
        log,
        marker,
        made: async (id) => {
          rec = await store.save({ ...rec, phase: { kind: 'creating', made: { id, marker } } })
        },
      }
      try {
        const backend = await provider.create(name, options, ctx)
        const { createdAt } = backend
        rec = await store.save({
          ...rec,
          createdAt,
          options: backend.options,
          phase: { kind: 'idle' },
        })
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
    const phase = this.#d.store.get(rec.name)?.phase ?? rec.phase
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
    await this.#d.store.forget(rec.name)
  }

  async remove(rawName: unknown): Promise<void> {
    const name = validateVolumeName(rawName)
    const { store } = this.#d
    await store.withLock(name, async () => {
      const rec = await this.#catalog.require(name)
      const n = totalRefs(rec.refs)
      if (n > 0)
        throw new VolumeInUseError(
          `volume "${name}" is mounted by ${n} container mount(s) on this host; stop the containers using it, then remove it`,
        )
      const provider = this.#d.providers.of(rec)
      const log = this.#log('remove', name, rec.provider)
      const t0 = performance.now()
      try {
        // A device still recorded means an unmount failed earlier: finish it first.
        if (rec.device !== null) {
          await provider.unmount(name, mountpointOf(this.#d, rec), opContext(this.#d, rec, log))
          await store.save({ ...rec, device: null })
        }
        // The journal says "removing" only once the provider has checked that it may delete, so
        // a refusal leaves the volume as it was, and a restart never finishes a refused remove.
        await provider.remove(name, {
          log,
          deleting: async (id) => {
            await store.save({ ...store.require(name), phase: { kind: 'removing', id } })
          },
        })
      } catch (err) {
        log.info(
          { err, ms: ms(t0), outcome: err instanceof VolumeInUseError ? 'refused' : 'error' },
          'volume not removed; it is as it was',
        )
        const now = store.get(name)
        if (now && now.phase.kind !== 'idle')
          await store.saveAfterError({ ...now, phase: { kind: 'idle' } }, log)
        throw err
      }
      await store.forget(name)
      log.info({ ms: ms(t0), outcome: 'ok' }, 'volume removed')
    })
  }

  /** Adds a reference for `id`; attaches and mounts on the first. Returns the mountpoint. */
  async mount(rawName: unknown, id: unknown): Promise<string> {
    const name = validateVolumeName(rawName)
    const mountId = validateMountId(id)
    const { store } = this.#d
    return store.withLock(name, async () => {
      let rec = await this.#catalog.require(name)
      const provider = this.#d.providers.of(rec)
      const mp = mountpointOf(this.#d, rec)
      const log = this.#log('mount', name, rec.provider).child({ mountId })
      const t0 = performance.now()
      const first = totalRefs(rec.refs) === 0
      rec = await store.save({
        ...rec,
        phase: { kind: 'mounting', step: 'attaching', id: mountId },
      })
      let device: string
      let path: string
      try {
        device = await provider.mount(name, mp, opContext(this.#d, rec, log))
        path = await dataFolder(mp, rec.options, log)
      } catch (err) {
        // dockerd never sends Unmount for a failed Mount: undo our own partial work now.
        if (first)
          await provider
            .unmount(name, mp, opContext(this.#d, rec, log))
            .catch((e: unknown) =>
              log.error({ err: e }, 'rollback of failed mount incomplete; reconcile will retry'),
            )
        log.warn({ err, ms: ms(t0), outcome: 'error' }, 'mount failed')
        const device = first ? null : rec.device
        await store.saveAfterError({ ...store.require(name), phase: { kind: 'idle' }, device }, log)
        throw err
      }
      this.#d.fault?.('mount:before-commit')
      rec = await store.save({
        ...store.require(name),
        refs: addRef(rec.refs, mountId),
        bootId: this.#d.bootId,
        device,
        phase: { kind: 'idle' },
      })
      log.info(
        { device, refs: totalRefs(rec.refs), first, ms: ms(t0), outcome: 'ok' },
        'volume mounted',
      )
      return path
    })
  }

  /** `fuxi resize`: grows a volume (online when mounted here); returns its size in GiB. */
  async resize(rawName: unknown, rawSize: unknown): Promise<string> {
    const name = validateVolumeName(rawName)
    const size = parseResizeSize(rawSize)
    return this.#d.store.withLock(name, async () => {
      const rec = await this.#catalog.require(name)
      return resizeRecord(this.#d, rec, size, this.#log('resize', name, rec.provider))
    })
  }

  /** Drops a reference of `id`; unmounts and detaches when none is left. Unknown IDs are a no-op. */
  async unmount(rawName: unknown, id: unknown): Promise<void> {
    const name = validateVolumeName(rawName)
    const mountId = validateMountId(id)
    const { store } = this.#d
    await store.withLock(name, async () => {
      const rec = store.get(name)
      const log = this.#log('unmount', name, rec?.provider).child({ mountId })
      if (!rec) return log.info({ outcome: 'noop' }, 'unmount of unknown volume: nothing to do')
      const { refs, released } = releaseRef(rec.refs, mountId)
      if (!released) return log.info({ outcome: 'noop' }, 'unknown mount ID: nothing to do')
      const t0 = performance.now()
      if (totalRefs(refs) > 0) {
        await store.save({ ...rec, refs })
        return log.info(
          { refs: totalRefs(refs), ms: ms(t0), outcome: 'ok' },
          'reference released; still mounted',
        )
      }
      const pending = await store.save({ ...rec, refs, phase: { kind: 'unmounting' } })
      this.#d.fault?.('unmount:before-work')
      try {
        await this.#d.providers
          .of(rec)
          .unmount(name, mountpointOf(this.#d, rec), opContext(this.#d, pending, log))
      } catch (err) {
        // The reference is gone either way (dockerd would otherwise count it twice on retry);
        // the device stays recorded so the reconciler finishes the job.
        log.error({ err, ms: ms(t0), outcome: 'error' }, 'unmount failed')
        await store.saveAfterError({ ...pending, phase: { kind: 'idle' } }, log)
        throw err
      }
      await store.save({ ...pending, device: null, phase: { kind: 'idle' } })
      log.info({ ms: ms(t0), outcome: 'ok' }, 'volume unmounted and detached')
    })
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
