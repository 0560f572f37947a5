import { VolumeNotFoundError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { CreateContext, DiscardOutcome } from '../volumes/provider.ts'
import type { MadeResource } from '../volumes/record.ts'
import {
  CREATED_BY_KEY,
  cloudNames,
  createUntilAvailable,
  type NamedResource,
} from './cloud-names.ts'

/** A Cinder volume or a Manila share: what the shared skeleton needs of it. */
export interface CloudResource extends NamedResource {
  readonly status: string
  readonly created_at?: string
}

/** The calls a cloud provider's skeleton makes on its resources. */
export interface ResourceApi<R extends CloudResource> {
  /** "Cinder volume", "Manila share": for messages. */
  readonly one: string
  /** "Cinder volumes", "Manila shares". */
  readonly kind: string
  readonly volumeFrom: string
  readonly allTenants?: boolean
  list(f: { name?: string; metadata: Record<string, string>; allTenants?: boolean }): Promise<R[]>
  get(id: string): Promise<R | undefined>
  /** Waits for `available`; undefined when the resource vanished. */
  waitAvailable(id: string, timeoutMs: number): Promise<R | undefined>
  delete(id: string): Promise<unknown>
  setMetadata(id: string, md: Record<string, string>): Promise<Record<string, string>>
  /**
   * Why a resource that a failed create made (it carries that create's marker, and is available
   * or in error) must stay, e.g. it is attached or formatted; undefined when it may go.
   */
  whyKeep(r: R): Promise<string | undefined>
}

/** What fuxi last saw of a resource (and what else the provider keeps with it). */
export type Sighting<R, X> = { r: R; at: number } & Partial<X>

/** A resource looked at this recently (e.g. by the Get dockerd sends before Mount) is not read again. */
export const FRESH_MS = 30_000

/**
 * A name found nowhere this recently is not looked up again by Create: dockerd sends Get (which
 * looks) right before Create. One made elsewhere in between is settled after the create, as any
 * two creates of one name at once are (the older resource wins).
 */
export const MISS_REUSE_MS = 5_000

/**
 * What Cinder and Manila volumes share: Docker names to resources (cloud-names.ts), what was last
 * seen of each, create until available with rollback by id, adoption with -o volume_id, the
 * listing, discard and exists. A provider adds its own operations on top.
 */
export function cloudResources<R extends CloudResource, X extends object = object>(
  api: ResourceApi<R>,
  log: Logger,
) {
  const names = cloudNames<R>({ ...api, list: (f) => api.list(f) })
  const { dockerName } = names
  const seen = new Map<string, Sighting<R, X>>()
  /** When a name was last looked up and found nowhere. */
  const missed = new Map<string, number>()

  /** Keeps what was seen of `r` (and `more`, merged into what was kept with it). */
  function remember(r: R, more: Partial<X> = {}): R {
    const name = dockerName(r)
    if (name) seen.set(name, { ...seen.get(name), ...more, r, at: Date.now() } as Sighting<R, X>)
    return r
  }

  async function find(name: string): Promise<R | undefined> {
    const r = await names.find(name)
    missed.delete(name)
    if (!r) {
      seen.delete(name)
      if (missed.size > 1000) missed.clear() // names dockerd asked about once: a bound, not a cache
      missed.set(name, Date.now())
    }
    return r && remember(r)
  }

  async function discard(made: MadeResource, dlog: Logger): Promise<DiscardOutcome> {
    let r = await api.get(made.id)
    if (r?.status === 'creating') r = await api.waitAvailable(made.id, 20_000).catch(() => r)
    if (!r || r.status === 'deleting') return { kind: 'gone' }
    if (r.metadata[CREATED_BY_KEY] !== made.marker)
      return { kind: 'kept', why: "it does not carry this create's marker" }
    const kept = ['available', 'error'].includes(r.status)
      ? await api.whyKeep(r)
      : `it is "${r.status}"`
    if (kept) return { kind: 'kept', why: kept }
    await api.delete(r.id)
    const name = dockerName(r)
    if (seen.get(name)?.r.id === r.id) seen.delete(name)
    dlog.info({ id: r.id }, `deleted the ${api.one} a failed create made`)
    return { kind: 'deleted' }
  }

  return {
    names,
    dockerName,
    remember,
    find,
    discard,
    /** What was seen of `name`, however long ago. */
    seen: (name: string): Sighting<R, X> | undefined => seen.get(name),
    /** What was seen of `name` within FRESH_MS. */
    fresh(name: string): Sighting<R, X> | undefined {
      const s = seen.get(name)
      return s && Date.now() - s.at < FRESH_MS ? s : undefined
    },
    /** Forget what was seen of `name` (it changed, or is gone). */
    drop(name: string): void {
      seen.delete(name)
    },
    async mustFind(name: string): Promise<R> {
      const r = await find(name)
      if (!r) throw new VolumeNotFoundError(name)
      return r
    },
    async exists(id: string): Promise<boolean> {
      const r = await api.get(id)
      return r !== undefined && r.status !== 'deleting'
    },
    /**
     * `-o volume_id=`: resource `id` becomes the Docker volume `name`, without being renamed;
     * `check` refuses one in a state that cannot be adopted; `more` is metadata to add.
     */
    async adopt(
      name: string,
      id: string,
      check: (r: R) => void,
      more: (r: R) => Record<string, string> = () => ({}),
    ): Promise<R> {
      const { r, md } = names.adoption(await api.get(id), id, name)
      check(r)
      const metadata = await api.setMetadata(id, { ...md, ...more(r) })
      log.info({ id, name }, `adopted an existing ${api.one}`)
      return remember({ ...r, metadata })
    },
    /**
     * The resource named `name`: the existing one, else the one `adopt` makes this volume (-o
     * volume_id), else one made now by `make` (which marks it with `ctx.marker`) and waited for,
     * by id; a rival made at the same moment is settled here.
     */
    async create(
      name: string,
      ctx: CreateContext,
      o: { make: () => Promise<R>; waitMs: number; adopt?: (() => Promise<R>) | undefined },
    ): Promise<{ r: R; how: 'found' | 'adopted' | 'made' }> {
      const missedAt = missed.get(name)
      const existing =
        missedAt !== undefined && Date.now() - missedAt < MISS_REUSE_MS
          ? undefined
          : await find(name)
      missed.delete(name) // what follows makes one or fails: a miss no longer
      if (existing) return { r: existing, how: 'found' }
      if (o.adopt) return { r: await o.adopt(), how: 'adopted' }
      const r = await createUntilAvailable({
        one: api.one,
        name,
        ctx,
        create: o.make,
        waitAvailable: (id) => api.waitAvailable(id, o.waitMs),
        rivals: () => names.named(name),
        discard: (made) => discard(made, ctx.log),
      })
      return { r: remember(r), how: 'made' }
    },
    /** Every fuxi resource, one per Docker name (duplicates and unusable names logged). */
    async list(): Promise<R[]> {
      const all = await names.listAll(
        (dups) =>
          log.warn(
            dups,
            `two ${api.kind} share a fuxi name; Docker sees the first; rename or delete one`,
          ),
        (bad) =>
          log.warn(
            bad,
            `${api.one} marked for fuxi has a name that cannot be a Docker volume name; not listed (rename it)`,
          ),
      )
      return all.map((r) => remember(r))
    },
  }
}
