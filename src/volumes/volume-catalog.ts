import type { ProviderName } from '../config/schema.ts'
import { VolumeNotFoundError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { dataPath } from './layout.ts'
import { totalRefs } from './mount-refs.ts'
import { validateVolumeName } from './names.ts'
import type { BackendVolume, VolumeProvider } from './provider.ts'
import type { VolumeRecord } from './record.ts'
import { adoptedRecord, mountpointOf, type VolumeDeps } from './volume-deps.ts'

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

/**
 * Get and List: what fuxi knows, answered from memory, and the cloud volumes it does not know yet
 * (made on another host, or by the original fuxi), adopted on first sight.
 */
export class VolumeCatalog {
  readonly #d: VolumeDeps
  readonly #listed = new Map<string, { at: number; backends: readonly BackendVolume[] }>()
  readonly #listing = new Map<string, Promise<readonly BackendVolume[]>>()

  constructor(d: VolumeDeps) {
    this.#d = d
    // Gone from the cloud too (removed here): not listed again from an older listing.
    d.store.onForget((name) => {
      for (const [p, l] of this.#listed)
        this.#listed.set(p, { ...l, backends: l.backends.filter((b) => b.name !== name) })
    })
  }

  get(rawName: unknown): VolumeView | undefined {
    const rec = this.#d.store.get(validateVolumeName(rawName))
    return rec && this.#view(rec)
  }

  list(): VolumeView[] {
    return this.#d.store.all().map((r) => this.#view(r))
  }

  /** Get for Docker: a volume fuxi does not know yet may exist in a cloud provider. */
  async lookup(rawName: unknown): Promise<VolumeView | undefined> {
    const name = validateVolumeName(rawName)
    const known = this.#d.store.get(name)
    if (known) {
      // A cloud volume fuxi has not looked at since it started: look now, for Status (and the
      // Mount that usually follows reuses what it saw). The cloud being down still answers.
      const p = this.#d.providers.get(known.provider)
      if (p?.scope === 'global' && !Object.keys(p.describe(name)).length)
        await p
          .get(name)
          .catch((err: unknown) =>
            this.#log('get', name, p.name).warn({ err }, 'cloud details not available'),
          )
      return this.#view(known)
    }
    const rec = await this.#d.store.withLock(name, () => this.adopt(name))
    return rec && this.#view(rec)
  }

  /** List for Docker: what fuxi knows, plus the cloud providers' volumes it has not seen yet. */
  async listAll(): Promise<VolumeView[]> {
    const views = this.list()
    const known = new Set(views.map((v) => v.name))
    const clouds = this.#d.providers.clouds
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

  /** The record of `name`, adopted from a cloud provider if fuxi lacks it (caller holds the lock). */
  async adopt(name: string): Promise<VolumeRecord | undefined> {
    const known = this.#d.store.get(name)
    if (known) return known
    for (const p of this.#d.providers.clouds) {
      const b = await p.get(name)
      if (!b) continue
      const rec = await this.#d.store.save(adoptedRecord(this.#d, p.name, { ...b, name }))
      this.#log('adopt', name, p.name).info('volume found in the provider; adopted')
      return rec
    }
    return undefined
  }

  /** Like adopt, but a volume that is nowhere is VolumeNotFoundError. */
  async require(name: string): Promise<VolumeRecord> {
    const rec = await this.adopt(name)
    if (!rec) throw new VolumeNotFoundError(name)
    return rec
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

  #view(rec: VolumeRecord): VolumeView {
    const d = this.#d
    const mounted = rec.device !== null
    return {
      name: rec.name,
      // List answers with every volume: the path is made only for the mounted ones.
      mountpoint: mounted ? dataPath(mountpointOf(d, rec), rec.options) : '',
      createdAt: rec.createdAt,
      // Built only when asked for (Get, inspect); List sends names and mountpoints alone.
      get status() {
        const provider = d.providers.get(rec.provider)
        const mountpoint = mountpointOf(d, rec)
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
