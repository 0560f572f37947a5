import { OpenStackHttpError, VolumeStateError } from '../../errors.ts'
import type { Logger } from '../../log.ts'
import type { CinderVolume } from '../../openstack/cinder.ts'
import type { OpContext } from '../../volumes/provider.ts'
import type { AttachFlow, CinderApi } from './attach-flow.ts'
import {
  type AttachDecision,
  type AttachPolicy,
  attachState,
  decideAttach,
  pendingHolders,
  transitional,
} from './attach-state.ts'
import type { AttachmentRecord, attachmentRecords } from './attachment-records.ts'

/** How often a mount decides again after waiting for a volume that another host was moving. */
const SETTLE_ROUNDS = 3
/** How long one such wait may take (within the Mount's budget). */
export const SETTLE_WAIT_MS = 30_000

export interface Attached {
  readonly record: AttachmentRecord
  /** The volume's metadata as of the attach (holder keys, fstype, formatted). */
  readonly metadata: Readonly<Record<string, string>>
  /** The volume as last seen (its other holders). */
  readonly volume: CinderVolume
  /** This mount made the attachment (so a failure undoes it). */
  readonly created: boolean
}

/**
 * This host's attachment of a volume: its own when it has one, else a new one, as the attach
 * policy decides. A refusal is never returned from a cached look (it is looked at again first),
 * and a volume another host is attaching right now is waited for, then decided on again.
 */
export async function attachHere(o: {
  name: string
  /** The volume as last seen, and whether that look is fresh. */
  v: CinderVolume
  fresh: boolean
  me: string
  api: CinderApi
  flow: AttachFlow
  records: ReturnType<typeof attachmentRecords>
  policy: (v: CinderVolume) => AttachPolicy
  /** A fresh look at the volume by its Docker name. */
  look: () => Promise<CinderVolume>
  ctx: OpContext
  /** How long to wait for a volume another operation moves (default SETTLE_WAIT_MS). */
  settleMs?: number
}): Promise<Attached> {
  let { v, fresh } = o
  /** One wait per mount for another operation on the volume: it is within dockerd's budget. */
  let waited = false
  for (let round = 0; ; round++) {
    if (v.encrypted)
      throw new VolumeStateError(
        `Cinder volume ${v.id} ("${o.name}") is encrypted (volume type "${v.volume_type ?? 'default'}"); fuxi does not support encrypted volumes yet and would use it unencrypted`,
      )
    const known = await o.records.read(o.name)
    const recorded = known?.volumeId === v.id ? known.attachmentId : undefined
    const state = attachState(v, o.me, recorded)
    let decision: AttachDecision
    try {
      decision = decideAttach(o.name, v, state, o.policy(v))
    } catch (e) {
      if (!fresh) {
        v = await o.look()
        fresh = true
        continue
      }
      if (state.kind === 'TRANSITIONAL' && round < SETTLE_ROUNDS) {
        if (!waited) {
          v = await settle(o.api, v, o.ctx.log, o.settleMs)
          waited = true
        }
        if (v.status !== 'attaching' && v.status !== 'reserved') continue
        // Still attaching after the wait: an attachment nobody claims (a lost answer) is taken
        // back; one a host claims is that host's to finish or an operator's to delete.
        if (await o.flow.takeBackOrphans?.(v.id, o.ctx.log)) {
          v = await o.look()
          continue
        }
        throw new VolumeStateError(
          transitional(o.name, v, { status: v.status, pending: pendingHolders(v) }),
        )
      }
      throw e
    }
    switch (decision.kind) {
      case 'REUSE': {
        if (known && recorded === decision.attachmentId)
          return { record: known, metadata: v.metadata, volume: v, created: false }
        const record = await o.flow.reuse(o.name, v, decision.attachmentId, decision.mode)
        if (record) return { record, metadata: v.metadata, volume: v, created: false }
        break
      }
      case 'TAKE_OVER':
        if (round >= SETTLE_ROUNDS)
          throw new VolumeStateError(`volume "${o.name}" keeps changing hands; retry`)
        await o.flow.takeOver(v, decision.from, o.ctx.log)
        break
      case 'ATTACH':
        if (known) await o.records.drop(o.name) // detached elsewhere, or the volume was replaced
        try {
          const { record, metadata } = await o.flow.attach(
            o.name,
            v,
            decision.mode,
            o.ctx,
            o.policy(v),
          )
          return { record, metadata, volume: v, created: true }
        } catch (e) {
          // Cinder refused the attachment: the volume changed since we looked (another host is
          // attaching it). Wait for it to settle and decide again.
          if (!(e instanceof OpenStackHttpError && e.status === 400) || round >= SETTLE_ROUNDS)
            throw e
          o.ctx.log.info({ volume: v.id, err: e.detail }, 'the volume changed; looking again')
          v = await settle(o.api, await o.look(), o.ctx.log, o.settleMs)
          waited = true
          fresh = true
          continue
        }
    }
    v = await o.look()
    fresh = true
  }
}

/** Waits (within SETTLE_WAIT_MS) until the volume is available or in-use again; the last look. */
async function settle(
  api: CinderApi,
  v: CinderVolume,
  log: Logger,
  timeoutMs = SETTLE_WAIT_MS,
): Promise<CinderVolume> {
  if (v.status === 'available' || v.status === 'in-use') return v
  log.info({ volume: v.id, status: v.status }, 'waiting for another operation on the volume')
  try {
    return (await api.waitForVolume(v.id, ['available', 'in-use'], { timeoutMs })) ?? v
  } catch {
    return (await api.getVolume(v.id)) ?? v
  }
}
