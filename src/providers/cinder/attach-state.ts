import { VolumeInUseError, VolumeStateError } from '../../errors.ts'
import type { CinderVolume } from '../../openstack/cinder.ts'

/** Where a Cinder volume is attached, from this host's point of view. */
export type AttachState =
  | { kind: 'NOT_ATTACHED' }
  /** Attached here: these attachments are this host's (normally one). */
  | { kind: 'ATTACHED_TO_THIS'; attachmentIds: readonly string[]; others: readonly string[] }
  /** Attached elsewhere only; a mount here is allowed when the volume is multiattach. */
  | { kind: 'ATTACHED_TO_OTHER'; hosts: readonly string[]; multiattach: boolean }
  /** Cinder is moving it (creating, reserved, attaching, detaching, extending, ...): wait, retry. */
  | { kind: 'TRANSITIONAL'; status: string }
  /** An error status: needs an operator. */
  | { kind: 'ERROR'; status: string }

const SETTLED = new Set(['available', 'in-use'])

/** Volume metadata key naming the host of one attachment (Cinder hides host_name from non-admins). */
export const attachmentKey = (attachmentId: string) => `fuxi_attachment_${attachmentId}`

/**
 * Who holds an attachment: the Nova server for an instance attachment, else Cinder's host_name
 * (admins see it), else the host fuxi recorded in the volume's metadata.
 */
export function attachmentHost(v: CinderVolume, a: CinderVolume['attachments'][number]): string {
  return (
    a.server_id ?? a.host_name ?? v.metadata[attachmentKey(a.attachment_id)] ?? 'an unknown host'
  )
}

/** Classifies a volume for `host` (this host's name, or its Nova instance id); pure. */
export function attachState(v: CinderVolume, host: string): AttachState {
  if (v.status.startsWith('error')) return { kind: 'ERROR', status: v.status }
  if (!SETTLED.has(v.status)) return { kind: 'TRANSITIONAL', status: v.status }
  const mine = v.attachments.filter((a) => attachmentHost(v, a) === host)
  const others = v.attachments.map((a) => attachmentHost(v, a)).filter((h) => h !== host)
  if (mine.length)
    return { kind: 'ATTACHED_TO_THIS', attachmentIds: mine.map((a) => a.attachment_id), others }
  if (others.length) return { kind: 'ATTACHED_TO_OTHER', hosts: others, multiattach: v.multiattach }
  return { kind: 'NOT_ATTACHED' }
}

/**
 * Refuses a volume this host cannot attach now: in an error state, moving, or held by another
 * host (or instance) without multiattach, unless `takeover` lets this host take it.
 */
export function assertAttachable(
  name: string,
  v: CinderVolume,
  state: AttachState,
  o: { holder: 'host' | 'instance'; takeover?: boolean },
): void {
  switch (state.kind) {
    case 'ERROR':
      throw new VolumeStateError(
        `Cinder volume ${v.id} ("${name}") is in status "${state.status}"; it needs an operator (see cinder show ${v.id}, then reset-state or delete it)`,
      )
    case 'TRANSITIONAL':
      throw new VolumeStateError(
        `Cinder volume ${v.id} ("${name}") is "${state.status}": another operation is in progress; retry in a moment`,
      )
    case 'ATTACHED_TO_OTHER':
      if (state.multiattach || o.takeover) return
      throw new VolumeInUseError(
        `volume "${name}" is attached to ${state.hosts.join(', ')}; it can be used on one ${o.holder} at a time (stop its containers there, or create it with -o multiattach=true${o.holder === 'host' ? '; if that host is gone for good, [cinder] takeover = force lets this host take it' : ''})`,
      )
    case 'NOT_ATTACHED':
    case 'ATTACHED_TO_THIS':
      return
  }
}
