import { VolumeStateError } from '../errors.ts'

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
      found = found.filter((r) => dockerName(r) === name) // adopted under another name: not this one
      if (!found.length)
        found = await o.list({ metadata: { ...owned, [DOCKER_NAME_KEY]: name }, ...scope })
      if (found.length > 1)
        throw new VolumeStateError(
          `${found.length} ${o.kind} are named "${name}" with ${OWNER_KEY}=${o.volumeFrom} (${found.map((r) => r.id).join(', ')}); rename or delete all but one`,
        )
      return found[0]
    },
    /** Every fuxi resource, one per Docker name; `duplicate` hears of the others. */
    async listAll(duplicate: (d: { name: string; ids: string[] }) => void): Promise<R[]> {
      const byName = new Map<string, R>()
      for (const r of await o.list({ metadata: owned, ...scope })) {
        const name = dockerName(r)
        if (!name) continue
        const first = byName.get(name)
        if (first) duplicate({ name, ids: [first.id, r.id] })
        else byName.set(name, r)
      }
      return [...byName.values()]
    },
  }
}
