import { randomUUID } from 'node:crypto'
import { InvalidRequestError, VolumeExistsError, VolumeStateError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { isVolumeName } from '../volumes/names.ts'
import type { CreateContext, DiscardOutcome } from '../volumes/provider.ts'
import type { MadeResource } from '../volumes/record.ts'

/** A Cinder volume or a Manila share: what naming needs of it. */
export interface NamedResource {
  readonly id: string
  readonly name: string | null
  readonly metadata: Readonly<Record<string, string>>
}

/** Metadata that makes a cloud resource a fuxi volume (`volume_from` is the original fuxi's). */
export const OWNER_KEY = 'volume_from'
/** The Docker name of a resource adopted with -o volume_id whose own name differs. */
export const DOCKER_NAME_KEY = 'fuxi_name'

/**
 * How Docker names map to cloud resources: a resource named like the Docker volume and marked
 * with `volume_from`, or one marked with `fuxi_name` (adopted under another name). Two matches are
 * an error the operator must resolve; list() keeps the first of each name.
 */
export function cloudNames<R extends NamedResource>(o: {
  /** "Cinder volumes", "Manila shares": for messages. */
  kind: string
  /** "Cinder volume", "Manila share". */
  one: string
  volumeFrom: string
  allTenants?: boolean
  list: (f: {
    name?: string
    metadata: Record<string, string>
    allTenants?: boolean
  }) => Promise<R[]>
}) {
  const owned = { [OWNER_KEY]: o.volumeFrom }
  const scope = o.allTenants ? { allTenants: true } : {}
  const dockerName = (r: R) => r.metadata[DOCKER_NAME_KEY] || r.name || ''
  return {
    dockerName,
    owned,
    async find(name: string): Promise<R | undefined> {
      let found = await o.list({ name, metadata: owned, ...scope })
      found = found.filter((r) => dockerName(r) === name) // adopted as another: not this one
      // Only then by adopted name (asking both at once is slower: the cloud's API serializes them).
      if (!found.length)
        found = await o.list({ metadata: { ...owned, [DOCKER_NAME_KEY]: name }, ...scope })
      if (found.length > 1)
        throw new VolumeStateError(
          `${found.length} ${o.kind} are named "${name}" with ${OWNER_KEY}=${o.volumeFrom} (${found.map((r) => r.id).join(', ')}); rename or delete all but one`,
        )
      return found[0]
    },
    /** Resources named `name` and marked as fuxi's (duplicates included: for the create race). */
    async named(name: string): Promise<R[]> {
      const found = await o.list({ name, metadata: owned, ...scope })
      return found.filter((r) => dockerName(r) === name)
    },
    /**
     * `-o volume_id=`: checks that resource `id` (`r`, undefined when there is none) may become the
     * Docker volume `name` without being renamed; returns it and the metadata that makes it so.
     */
    adoption(r: R | undefined, id: string, name: string): { r: R; md: Record<string, string> } {
      if (!r)
        throw new InvalidRequestError(
          `no ${o.one} with id ${id} (option volume_id)`,
          'INVALID_OPTION',
        )
      const owner = r.metadata[OWNER_KEY]
      if (owner && owner !== o.volumeFrom)
        throw new VolumeExistsError(
          `${o.one} ${id} already belongs to ${OWNER_KEY}=${owner}; fuxi does not take it over`,
        )
      const other = r.metadata[DOCKER_NAME_KEY] || (owner ? r.name : '')
      if (other && other !== name)
        throw new VolumeExistsError(`${o.one} ${id} is already the Docker volume "${other}"`)
      return { r, md: r.name === name ? { ...owned } : { ...owned, [DOCKER_NAME_KEY]: name } }
    },
    /**
     * Every fuxi resource, one per Docker name; `duplicate` hears of the others, `unusable` of
     * resources whose name cannot be a Docker volume name (it would become a path: never listed).
     */
    async listAll(
      duplicate: (d: { name: string; ids: string[] }) => void,
      unusable: (d: { name: string; id: string }) => void = () => {},
    ): Promise<R[]> {
      const byName = new Map<string, R>()
      for (const r of await o.list({ metadata: owned, ...scope })) {
        const name = dockerName(r)
        if (!name) continue
        if (!isVolumeName(name)) {
          unusable({ name, id: r.id })
          continue
        }
        const first = byName.get(name)
        if (first) duplicate({ name, ids: [first.id, r.id] })
        else byName.set(name, r)
      }
      return [...byName.values()]
    },
  }
}

/** Metadata naming the create that made a resource (`<host id>/<uuid>`): what may undo it. */
export const CREATED_BY_KEY = 'fuxi_created_by'

/** A create context for callers that keep no journal (tests, tools): records nothing. */
export function detachedCreate(log: Logger): CreateContext {
  return { log, marker: `detached/${randomUUID()}`, made: async () => {} }
}

/**
 * Makes a cloud resource (marked with `ctx.marker` by `create`), records its id through
 * `ctx.made` before waiting, and waits until it is usable. A failure is left to the caller, who
 * deletes that id through the provider's `discard`. When two hosts made the same name at once,
 * both keep the older resource (by created_at, then id) and the newer one's maker deletes its own.
 */
export async function createUntilAvailable<R extends NamedResource & { created_at?: string }>(o: {
  /** "Cinder volume", "Manila share". */
  one: string
  name: string
  ctx: CreateContext
  create: () => Promise<R>
  waitAvailable: (id: string) => Promise<R | undefined>
  /** Resources now holding the Docker name `name` (after ours is available). */
  rivals: () => Promise<R[]>
  discard: (made: MadeResource) => Promise<DiscardOutcome>
}): Promise<R> {
  const created = await o.create()
  o.ctx.log.info({ id: created.id, name: o.name }, `${o.one} created; waiting for available`)
  await o.ctx.made(created.id)
  const r = await o.waitAvailable(created.id)
  if (!r) throw new VolumeStateError(`${o.one} ${created.id} vanished while being created`)
  const rivals = (await o.rivals()).filter((x) => x.id !== r.id)
  if (!rivals.length) return r
  const first = [r, ...rivals].sort(
    (a, b) =>
      Date.parse(cloudTime(a.created_at)) - Date.parse(cloudTime(b.created_at)) ||
      a.id.localeCompare(b.id),
  )[0] as R
  if (first.id === r.id) return r
  // Another host made this name first: use theirs, and take ours back.
  const outcome = await o.discard({ id: r.id, marker: o.ctx.marker })
  o.ctx.log.info(
    { id: r.id, kept: first.id, outcome: outcome.kind },
    `another host created ${o.one} "${o.name}" at the same time; using the older one`,
  )
  return first
}

/** OpenStack's `created_at` (UTC, usually without a zone) as RFC 3339 with one, as dockerd needs. */
export const cloudTime = (t: string | null | undefined): string =>
  new Date(`${(t ?? '').replace(/Z$/, '')}Z`).toISOString()
