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

/** Classifies a volume for `host` (the connector's host name); pure, one table for all callers. */
export function attachState(v: CinderVolume, host: string): AttachState {
  if (v.status.startsWith('error')) return { kind: 'ERROR', status: v.status }
  if (!SETTLED.has(v.status)) return { kind: 'TRANSITIONAL', status: v.status }
  const mine = v.attachments.filter((a) => a.host_name === host)
  const others = v.attachments
    .filter((a) => a.host_name !== host)
    .map((a) => a.host_name ?? a.server_id ?? 'unknown host')
  if (mine.length)
    return { kind: 'ATTACHED_TO_THIS', attachmentIds: mine.map((a) => a.attachment_id), others }
  if (others.length) return { kind: 'ATTACHED_TO_OTHER', hosts: others, multiattach: v.multiattach }
  return { kind: 'NOT_ATTACHED' }
}
