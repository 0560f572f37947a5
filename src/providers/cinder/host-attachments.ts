import { connectorFor } from '../../connectors/connector.ts'
import { OpenStackHttpError, VolumeStateError } from '../../errors.ts'
import type { Logger } from '../../log.ts'
import type { CinderVolume, ConnectionInfo, ConnectorProperties } from '../../openstack/cinder.ts'
import type { OpContext } from '../../volumes/provider.ts'
import type { AttachFlow, FlowDeps } from './attach-flow.ts'
import {
  attachmentKey,
  attachState,
  decideAttach,
  type Holder,
  holderValue,
  parseHolderValue,
} from './attach-state.ts'
import type { AttachmentRecord } from './attachment-records.ts'

/**
 * This host's attachments through Cinder's attachments API. A new attachment is made with this
 * host's connector; while it is not completed Cinder lets nobody else attach the volume, so the
 * holder key written then (and checked against the other holders' keys in the same answer) makes
 * "one writer" safe against hosts attaching at the same moment. Undo: disconnect, delete the
 * attachment and its key.
 */
export function hostAttachments(
  d: FlowDeps & { connector: ConnectorProperties; orphanGraceMs?: number },
): AttachFlow {
  const { api, records, me } = d

  async function detach(
    volumeId: string,
    id: string,
    info: ConnectionInfo | undefined,
    log: Logger,
  ) {
    const connection = info ?? (await api.getAttachment(id))?.connection_info
    if (connection)
      await connectorFor(connection, d.connectors).disconnect(connection, log, volumeId)
    // The key only tells other hosts whose attachment it was: both calls at once.
    await Promise.all([
      api.deleteAttachment(id),
      api.metadata.deleteKey(volumeId, attachmentKey(id)),
    ])
    log.info({ attachment: id }, 'attachment deleted')
  }

  /** Keys of attachments Cinder no longer lists (none can be pending while ours is). */
  async function dropStaleKeys(v: CinderVolume, ours: string) {
    const listed = new Set(v.attachments.map((x) => attachmentKey(x.attachment_id)))
    const stale = Object.keys(v.metadata).filter(
      (k) => k.startsWith(KEY_PREFIX) && k !== ours && !listed.has(k),
    )
    for (const k of stale) await api.metadata.deleteKey(v.id, k)
    for (const k of stale) delete (v.metadata as Record<string, string>)[k]
  }

  /**
   * Pending attachments no host claims: every fuxi host writes its holder key right after its
   * attachment is made, so one still without a key after ORPHAN_GRACE_MS is nobody's (a create
   * whose answer was lost). Deleted, so the volume is not stuck "attaching".
   */
  async function takeBackOrphans(volumeId: string, log: Logger): Promise<number> {
    const pending = (await api.listAttachments(volumeId)).filter((x) => PENDING.has(x.status))
    if (!pending.length) return 0
    await new Promise((r) => setTimeout(r, d.orphanGraceMs ?? ORPHAN_GRACE_MS))
    const md = (await api.getVolume(volumeId))?.metadata ?? {}
    const orphans = pending.filter((x) => md[attachmentKey(x.id)] === undefined)
    for (const x of orphans) {
      await api.deleteAttachment(x.id)
      log.warn(
        { volume: volumeId, attachment: x.id, status: x.status },
        'deleted a pending attachment no host claims (a request whose answer was lost made it)',
      )
    }
    return orphans.length
  }

  return {
    detach,

    async reuse(name, v, attachmentId, mode) {
      // Ours by its key (or our record), but the local record is gone or stale: adopt it.
      const a = await api.getAttachment(attachmentId)
      if (!a) return undefined
      const record: AttachmentRecord = {
        volumeId: v.id,
        attachmentId,
        connectionInfo: a.connection_info,
        completed: true,
        mode,
      }
      await records.write(name, record)
      return record
    },

    async takeOver(v: CinderVolume, from: readonly Holder[], log: Logger) {
      log.warn(
        { volume: v.id, from: from.map((h) => h.host) },
        'takeover: deleting the attachments of hosts that are gone',
      )
      for (const h of from)
        await Promise.all([
          api.deleteAttachment(h.attachmentId),
          api.metadata.deleteKey(v.id, attachmentKey(h.attachmentId)),
        ])
      return api.waitForVolume(v.id, ['available', 'in-use'], { timeoutMs: 20_000 })
    },

    takeBackOrphans: (volumeId, log) => takeBackOrphans(volumeId, log),

    async attach(name, v, mode, ctx: OpContext, policy) {
      await ctx.step('attaching')
      const a = await api
        .createAttachment(v.id, { connector: d.connector, mode })
        .catch(async (e: unknown) => {
          // No answer (a timeout, a reset, a 5xx): Cinder may have made it anyway. Take it back.
          if (!(e instanceof OpenStackHttpError && e.status !== undefined && e.status < 500))
            await takeBackOrphans(v.id, ctx.log).catch((err: unknown) =>
              ctx.log.warn({ err, volume: v.id }, 'could not look for a lost attachment'),
            )
          throw e
        })
      let record: AttachmentRecord = {
        volumeId: v.id,
        attachmentId: a.id,
        connectionInfo: a.connection_info,
        completed: false,
        mode,
      }
      await records.write(name, record)
      ctx.log.info({ volume: v.id, attachment: a.id, mode }, 'attachment created')
      try {
        if (a.connection_info.encrypted === true)
          throw new VolumeStateError(
            `Cinder volume ${v.id} ("${name}") is encrypted; fuxi does not support encrypted volumes yet (it would use it unencrypted)`,
          )
        // Nobody else can attach until this one completes: the keys seen now are the truth.
        const key = attachmentKey(a.id)
        let metadata = await api.metadata.set(v.id, { [key]: holderValue(me, mode, Date.now()) })
        if (otherWriters(metadata, v, key).length && mode === 'rw') {
          // A host attached between our look and our attachment (or keys outlived their
          // attachments): decide again on a fresh look, without our own attachment in it.
          const fresh = (await api.getVolume(v.id)) ?? v
          const listed = fresh.attachments.filter((x) => x.attachment_id !== a.id)
          const others: CinderVolume = {
            ...fresh,
            status: listed.length ? 'in-use' : 'available',
            attachments: listed,
          }
          await dropStaleKeys(others, key)
          const again = decideAttach(name, others, attachState(others, me), policy)
          if (again.kind !== 'ATTACH')
            throw new VolumeStateError(
              `volume "${name}" changed hands while this host attached it; retry`,
            )
          if (again.mode === 'ro') {
            metadata = await api.metadata.set(v.id, { [key]: holderValue(me, 'ro', Date.now()) })
            record = { ...record, mode: 'ro' }
            await records.write(name, record)
          }
        }
        return { record, metadata }
      } catch (e) {
        await detach(v.id, a.id, a.connection_info, ctx.log).catch((err: unknown) =>
          ctx.log.error({ err, attachment: a.id }, 'rollback of the attachment failed'),
        )
        await records.drop(name)
        throw e
      }
    },

    connect: (r, log) =>
      connectorFor(r.connectionInfo, d.connectors).connect(r.connectionInfo, log, r.volumeId),

    complete: (r) => api.completeAttachment(r.attachmentId),
  }
}

/**
 * Read-write holders other than this attachment, by their keys: of attachments Cinder lists, or
 * of ones it does not list yet (a key without a listed attachment is checked on a fresh look).
 */
function otherWriters(
  metadata: Readonly<Record<string, string>>,
  v: CinderVolume,
  ours: string,
): string[] {
  return Object.entries(metadata)
    .filter(([k]) => k.startsWith(KEY_PREFIX) && k !== ours)
    .filter(([, value]) => parseHolderValue(value).mode === 'rw')
    .map(([k]) => k)
    .concat(
      v.attachments
        .filter((x) => !metadata[attachmentKey(x.attachment_id)])
        .map((x) => attachmentKey(x.attachment_id)),
    )
}

const KEY_PREFIX = attachmentKey('')
/** Attachment states before completion. */
const PENDING = new Set(['attaching', 'reserved'])
/** How long a pending attachment may stay unclaimed before it counts as nobody's. */
export const ORPHAN_GRACE_MS = 3_000
