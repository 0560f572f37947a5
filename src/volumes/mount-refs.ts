/**
 * Mount references: a multiset `{mountId: count}`. dockerd reuses mount IDs (`docker cp` on a
 * running container mounts again with the container's ID; copy-up adds a pair), so a set would
 * detach a volume under a running container. Pure functions over frozen values.
 */
export type MountRefs = Readonly<Record<string, number>>

export function totalRefs(refs: MountRefs): number {
  let n = 0
  for (const c of Object.values(refs)) n += c
  return n
}

export function addRef(refs: MountRefs, id: string): MountRefs {
  return { ...refs, [id]: (refs[id] ?? 0) + 1 }
}

/** Drops one reference of `id`; `released` is false (and refs unchanged) for an unknown ID. */
export function releaseRef(refs: MountRefs, id: string): { refs: MountRefs; released: boolean } {
  const n = refs[id]
  if (!n) return { refs, released: false }
  const next = { ...refs }
  if (n > 1) next[id] = n - 1
  else delete next[id]
  return { refs: next, released: true }
}
