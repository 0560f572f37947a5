import { VolumeInUseError, VolumeStateError } from '../../errors.ts'
import type { CinderVolume } from '../../openstack/cinder.ts'

/** How a host uses its attachment. */
export type Mode = 'rw' | 'ro'

/** One attachment of a volume, and who holds it. */
export interface Holder {
  readonly attachmentId: string
  /** A fuxi host id, a Nova server id, Cinder's host_name, or "an unknown host". */
  readonly host: string
  /** Where the holder's name comes from. */
  readonly by: 'fuxi' | 'instance' | 'cinder' | 'unknown'
  /** Read-write unless fuxi recorded read-only: an unknown holder may write. */
  readonly mode: Mode
  /** The holder's last heartbeat (ms since the epoch, its clock); undefined: never heard. */
  readonly seenAt?: number | undefined
}

/** Where a Cinder volume is attached, from this host's point of view. */
export type AttachState =
  | { kind: 'NOT_ATTACHED' }
  /** Attached here (normally one attachment), maybe elsewhere too (multiattach). */
  | { kind: 'ATTACHED_TO_THIS'; mine: readonly Holder[]; others: readonly Holder[] }
  /** Attached elsewhere only. */
  | { kind: 'ATTACHED_TO_OTHER'; others: readonly Holder[]; multiattach: boolean }
  /** Cinder is moving it (creating, reserved, attaching, detaching, extending, ...). */
  | { kind: 'TRANSITIONAL'; status: string; pending: readonly Pending[] }
  /** An error status: needs an operator. */
  | { kind: 'ERROR'; status: string }

const SETTLED = new Set(['available', 'in-use'])

/**
 * Volume metadata naming the holder of one attachment: `<host id>;<rw|ro>;<last heartbeat>`.
 * Written before the attachment is completed (so the next host to attach sees it: Cinder lets
 * nobody else attach a volume while it is attaching), refreshed by heartbeats, deleted on detach.
 * Cinder hides host_name from non-admins; this is how hosts see each other.
 */
export const attachmentKey = (attachmentId: string) => `fuxi_attachment_${attachmentId}`
const ATTACHMENT_KEY_PREFIX = 'fuxi_attachment_'
/**
 * Volume metadata: the host formatting the (blank) volume right now. It stays once the format is
 * done (saving a call per first mount), as the record of which host formatted it and when; with
 * `fuxi_formatted = true` beside it nobody reads it as a claim.
 */
export const FORMATTING_KEY = 'fuxi_formatting'
/** Volume metadata: `readonly-many` lets other hosts mount a multiattach volume read-only. */
export const ACCESS_KEY = 'fuxi_access'

export function holderValue(host: string, mode: Mode, at: number): string {
  return `${host};${mode};${new Date(at).toISOString()}`
}

/** Reads a holder value; a bare host name (written before heartbeats) is read-write, never heard. */
export function parseHolderValue(value: string): { host: string; mode: Mode; seenAt?: number } {
  const [host = '', mode, seen] = value.split(';')
  const seenAt = seen ? Date.parse(seen) : Number.NaN
  return {
    host,
    mode: mode === 'ro' ? 'ro' : 'rw',
    ...(Number.isFinite(seenAt) ? { seenAt } : {}),
  }
}

/** Who holds each of a volume's (completed) attachments. */
export function holdersOf(v: CinderVolume): Holder[] {
  return v.attachments.map((a) => {
    const recorded = v.metadata[attachmentKey(a.attachment_id)]
    const fuxi = recorded ? parseHolderValue(recorded) : undefined
    const base = { attachmentId: a.attachment_id, mode: fuxi?.mode ?? 'rw', seenAt: fuxi?.seenAt }
    if (a.server_id) return { ...base, host: a.server_id, by: 'instance' as const }
    if (fuxi?.host) return { ...base, host: fuxi.host, by: 'fuxi' as const }
    if (a.host_name) return { ...base, host: a.host_name, by: 'cinder' as const }
    return { ...base, host: 'an unknown host', by: 'unknown' as const }
  })
}

/** An attachment a host recorded and Cinder does not list yet: one being attached right now. */
export interface Pending {
  readonly host: string
  readonly attachmentId: string
}

export function pendingHolders(v: CinderVolume): Pending[] {
  const listed = new Set(v.attachments.map((a) => a.attachment_id))
  return Object.entries(v.metadata)
    .filter(([k]) => k.startsWith(ATTACHMENT_KEY_PREFIX))
    .map(([k, value]) => ({
      host: parseHolderValue(value).host,
      attachmentId: k.slice(ATTACHMENT_KEY_PREFIX.length),
    }))
    .filter((p) => !listed.has(p.attachmentId))
}

/**
 * Classifies a volume for `me` (this host's id, or its Nova instance id); pure. `recorded` is the
 * attachment this host's own records name: it is this host's whatever name it carries (fuxi
 * before host ids wrote the host name). A host name alone never makes an attachment this host's:
 * hosts cloned from one image share one.
 */
export function attachState(v: CinderVolume, me: string, recorded?: string): AttachState {
  if (v.status.startsWith('error')) return { kind: 'ERROR', status: v.status }
  if (!SETTLED.has(v.status))
    return { kind: 'TRANSITIONAL', status: v.status, pending: pendingHolders(v) }
  const all = holdersOf(v)
  const isMine = (h: Holder) => h.host === me || h.attachmentId === recorded
  const mine = all.filter(isMine)
  const others = all.filter((h) => !isMine(h))
  if (mine.length) return { kind: 'ATTACHED_TO_THIS', mine, others }
  if (others.length) return { kind: 'ATTACHED_TO_OTHER', others, multiattach: v.multiattach }
  return { kind: 'NOT_ATTACHED' }
}

/** What a mount on this host does with the volume. */
export type AttachDecision =
  | { kind: 'ATTACH'; mode: Mode }
  /** This host's attachment exists: use it. */
  | { kind: 'REUSE'; attachmentId: string; mode: Mode }
  /** The holders are gone (takeover policy): delete their attachments, then attach. */
  | { kind: 'TAKE_OVER'; from: readonly Holder[]; mode: Mode }

export interface AttachPolicy {
  /** "host" (attachments API) or "instance" (Nova): for messages. */
  readonly holder: 'host' | 'instance'
  readonly takeover: 'never' | 'stale' | 'force'
  readonly takeoverAfterMs: number
  /** The volume lets other hosts mount it read-only while one writes (`-o access=readonly-many`). */
  readonly readonlyMany: boolean
  readonly now: number
}

/** Whether the takeover policy lets this host take `h`'s attachment: never one heard from lately. */
export function mayTakeOver(h: Holder, p: AttachPolicy): boolean {
  if (p.takeover === 'never') return false
  if (h.seenAt !== undefined) return p.now - h.seenAt > p.takeoverAfterMs
  return p.takeover === 'force'
}

/**
 * Decides a mount: attach read-write or read-only, reuse this host's attachment, take over from
 * dead holders, or refuse (throws, naming the holders and the fix). A volume that is not
 * multiattach is used by one host at a time; a multiattach one is written by one host at a time
 * (ext4 and xfs are not cluster filesystems), the others reading it only if it was created
 * `-o access=readonly-many`.
 */
export function decideAttach(
  name: string,
  v: CinderVolume,
  state: AttachState,
  p: AttachPolicy,
): AttachDecision {
  switch (state.kind) {
    case 'ERROR':
      throw new VolumeStateError(
        `Cinder volume ${v.id} ("${name}") is in status "${state.status}"; it needs an operator (see cinder show ${v.id}, then reset-state or delete it)`,
      )
    case 'TRANSITIONAL':
      throw new VolumeStateError(transitional(name, v, state))
    case 'NOT_ATTACHED':
      return { kind: 'ATTACH', mode: 'rw' }
    case 'ATTACHED_TO_THIS': {
      const mine = state.mine[0] as Holder
      return { kind: 'REUSE', attachmentId: mine.attachmentId, mode: mine.mode }
    }
    case 'ATTACHED_TO_OTHER': {
      const writers = state.others.filter((h) => h.mode === 'rw')
      if (state.multiattach && !writers.length) return { kind: 'ATTACH', mode: 'rw' }
      if (state.multiattach && p.readonlyMany) return { kind: 'ATTACH', mode: 'ro' }
      const blocking = state.multiattach ? writers : state.others
      if (blocking.every((h) => mayTakeOver(h, p)))
        return { kind: 'TAKE_OVER', from: blocking, mode: 'rw' }
      throw new VolumeInUseError(refusal(name, v, blocking, state.multiattach, p))
    }
  }
}

/** Why a volume Cinder is moving cannot be attached now, and what to do if it stays so. */
export function transitional(
  name: string,
  v: CinderVolume,
  state: { status: string; pending: readonly Pending[] },
): string {
  const who = state.pending.map((p) => `${p.host} (attachment ${p.attachmentId})`).join(', ')
  const stuck = state.pending.length
    ? `; if it stays so, that host may be gone: cinder --os-volume-api-version 3.27 attachment-delete ${state.pending.map((p) => p.attachmentId).join(' ')}`
    : ''
  return `Cinder volume ${v.id} ("${name}") is "${state.status}"${who ? `: ${who} is attaching it` : ': another operation is in progress'}; retry in a moment${stuck}`
}

function heard(h: Holder, now: number): string {
  if (h.seenAt === undefined)
    return h.by === 'fuxi'
      ? 'never heard from (a fuxi without heartbeats)'
      : 'not a fuxi host (the original fuxi, Nova or the CLI attached it)'
  return `last heard from ${Math.max(0, Math.round((now - h.seenAt) / 1000))} s ago`
}

function refusal(
  name: string,
  v: CinderVolume,
  holders: readonly Holder[],
  multiattach: boolean,
  p: AttachPolicy,
): string {
  const who = holders
    .map(
      (h) =>
        `${h.host} (attachment ${h.attachmentId}, ${h.mode === 'rw' ? 'read-write' : 'read-only'}, ${heard(h, p.now)})`,
    )
    .join(', ')
  const why = multiattach
    ? 'a multiattach volume is written by one host at a time (ext4 and xfs are not cluster filesystems): stop its containers there, or create the volume with -o access=readonly-many so that other hosts mount it read-only'
    : `it is used on one ${p.holder} at a time: stop its containers there (or create it with -o multiattach=true)`
  const alive = holders.filter((h) => h.seenAt !== undefined && !mayTakeOver(h, p))
  const detach =
    p.holder === 'instance'
      ? holders.map((h) => `openstack server remove volume ${h.host} ${v.id}`).join('; ')
      : `cinder --os-volume-api-version 3.27 attachment-delete ${holders.map((h) => h.attachmentId).join(' ')}`
  const takeover =
    p.takeover !== 'never' && alive.length
      ? ` fuxi does not take it over: that ${p.holder} is alive ([cinder] takeover_after = ${Math.round(p.takeoverAfterMs / 1000)} s).`
      : ` If that ${p.holder} is gone for good, detach it there (${detach}) and retry${p.takeover === 'never' && p.holder === 'host' ? ', or set [cinder] takeover = stale to let fuxi take volumes from hosts silent for takeover_after seconds' : ''}.`
  return `volume "${name}" is attached to ${who}; ${why}.${takeover}`
}
