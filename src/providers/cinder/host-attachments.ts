import { connectorFor, type VolumeConnector } from '../../connectors/connector.ts'
import type { Host } from '../../host/host.ts'
import type { Logger } from '../../log.ts'
import type { CinderVolume, ConnectionInfo, Connector } from '../../openstack/cinder.ts'
import type { OpContext } from '../../volumes/provider.ts'
import { assertAttachable, attachmentKey, attachState } from './attach-state.ts'
import type { AttachmentRecord, attachmentRecords } from './attachment-records.ts'
import type { CinderApi } from './cinder-provider.ts'

/**
 * This host's attachments through Cinder's attachments API: find or create one (refusing or, with
 * takeover = force, taking a volume another host holds), connect and complete it, and undo one
 * (disconnect, delete it and its host key in the volume metadata).
 */
export function hostAttachments(d: {
  api: CinderApi
  host: Host
  connectors: readonly VolumeConnector[]
  records: ReturnType<typeof attachmentRecords>
  /** This host as Cinder's connector. */
  connector: Connector
  me: string
  takeover?: 'never' | 'force' | undefined
}) {
  const { api, records, me } = d

  /** Disconnects and deletes one attachment of this host; already gone is fine. */
  async function detach(
    volumeId: string,
    id: string,
    info: ConnectionInfo | undefined,
    log: Logger,
  ) {
    const connection = info ?? (await api.getAttachment(id))?.connection_info
    if (connection) await connectorFor(connection, d.connectors).disconnect(connection, log)
    // The key only tells other hosts whose attachment it was: both calls at once.
    await Promise.all([
      api.deleteAttachment(id),
      api.metadata.deleteKey(volumeId, attachmentKey(id)),
    ])
    log.info({ attachment: id }, 'attachment deleted')
  }

  /** This host's attachment of the volume: Cinder's view of an existing one, else a new one (not completed). */
  async function attach(
    name: string,
    v: CinderVolume,
    ctx: OpContext,
  ): Promise<{ record: AttachmentRecord; created: boolean }> {
    const state = attachState(v, me)
    assertAttachable(name, v, state, { holder: 'host', takeover: d.takeover === 'force' })
    switch (state.kind) {
      case 'ATTACHED_TO_OTHER':
        if (state.multiattach) break
        ctx.log.warn(
          { volume: v.id, from: state.hosts },
          'takeover = force: deleting the attachments of another host',
        )
        for (const a of v.attachments) {
          await api.deleteAttachment(a.attachment_id)
          await api.metadata.deleteKey(v.id, attachmentKey(a.attachment_id))
        }
        await api.waitForVolume(v.id, ['available'], { timeoutMs: 20_000 })
        break
      case 'ATTACHED_TO_THIS': {
        // Ours by Cinder's host_name or the metadata, but the local record is gone: adopt it.
        const id = state.attachmentIds[0] as string
        const a = await api.getAttachment(id)
        if (a) {
          const record = {
            volumeId: v.id,
            attachmentId: id,
            connectionInfo: a.connection_info,
            completed: true,
          }
          await records.write(name, record)
          return { record, created: false }
        }
        break
      }
      default:
        break
    }
    await ctx.step('attaching')
    const a = await api.createAttachment(v.id, { connector: d.connector, mode: 'rw' })
    const record = {
      volumeId: v.id,
      attachmentId: a.id,
      connectionInfo: a.connection_info,
      completed: false,
    }
    await records.write(name, record)
    ctx.log.info({ volume: v.id, attachment: a.id }, 'attachment created')
    return { record, created: true }
  }

  return {
    attach,
    /** Disconnects and deletes one of this host's attachments; already gone is fine. */
    detach,
    /** The device of an attachment on this host (the connector of its connection info). */
    connect: (r: AttachmentRecord, log: Logger) =>
      connectorFor(r.connectionInfo, d.connectors).connect(r.connectionInfo, log),
    /** Tell Cinder the attachment is done: the volume goes in-use. */
    complete: (r: AttachmentRecord) => api.completeAttachment(r.attachmentId),
  }
}

/** How the provider attaches volumes: through Cinder with this host's connector, or through Nova. */
export type AttachFlow = ReturnType<typeof hostAttachments>
