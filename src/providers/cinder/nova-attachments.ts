import { waitForDevice } from '../../connectors/connector.ts'
import { VolumeStateError } from '../../errors.ts'
import type { Logger } from '../../log.ts'
import type { CinderVolume } from '../../openstack/cinder.ts'
import type { NovaClient } from '../../openstack/nova.ts'
import { waitForStatus } from '../../openstack/wait.ts'
import type { AttachFlow, FlowDeps } from './attach-flow.ts'
import { attachmentKey, attachState, decideAttach, holderValue } from './attach-state.ts'
import type { AttachmentRecord } from './attachment-records.ts'

/** The Nova calls the flow makes. */
export type NovaApi = Pick<NovaClient, 'attachVolume' | 'getVolumeAttachment' | 'detachVolume'>

/** Nova attaches and detaches asynchronously: the volume's status says when it is done. */
export const NOVA_WAIT_MS = 60_000

/**
 * `volume_connector = openstack`: fuxi runs inside a Nova instance, which attaches the volume to
 * itself through Nova (Nova creates and completes the Cinder attachment). The device is found by
 * the volume id in its serial (`/dev/disk/by-id`), never by the device name Nova reports.
 */
export function novaAttachments(
  d: FlowDeps & {
    nova: NovaApi
    /** The block device whose serial carries this volume id, once it has appeared. */
    deviceFor: (volumeId: string) => Promise<string | undefined>
    delays?: readonly number[]
  },
): AttachFlow {
  const { api, records, me } = d
  const nova = d.nova
  const WAIT = { timeoutMs: NOVA_WAIT_MS }

  async function detach(volumeId: string, attachmentId: string, _info: unknown, log: Logger) {
    await nova.detachVolume(me, volumeId)
    // Done when this server's attachment is gone (others may stay on a multiattach volume).
    await waitForStatus({
      what: `the detach of Cinder volume ${volumeId} from this instance`,
      poll: () => api.getVolume(volumeId),
      status: (v) =>
        v.status === 'detaching' || v.attachments.some((a) => a.server_id === me)
          ? 'attached here'
          : 'detached',
      want: ['detached'],
      errorStates: [],
      goneIsSuccess: true,
      ...WAIT,
    })
    await api.metadata.deleteKey(volumeId, attachmentKey(attachmentId))
    log.info({ volume: volumeId, server: me }, 'detached from this instance through Nova')
  }

  return {
    detach,

    async reuse(name, v, attachmentId, mode) {
      const record = { volumeId: v.id, attachmentId, connectionInfo: {}, completed: true, mode }
      await records.write(name, record)
      return record
    },

    async takeOver() {
      throw new VolumeStateError(
        'taking a volume over from another instance is not supported with volume_connector = openstack; detach it from that instance first',
      )
    },

    async attach(name, v, mode, ctx, policy) {
      await ctx.step('attaching')
      const a = await nova.attachVolume(me, v.id)
      // The attach answer does not name the Cinder attachment (recorded sample nova-10); Nova has
      // made it by then, and says which it is when asked (nova-11).
      const attachmentId =
        a.attachment_id ?? (await nova.getVolumeAttachment(me, v.id))?.attachment_id
      if (!attachmentId)
        throw new VolumeStateError(
          `Nova accepted the attach of Cinder volume ${v.id} to this instance ${me} but shows no attachment for it`,
        )
      let record: AttachmentRecord = {
        volumeId: v.id,
        attachmentId,
        connectionInfo: { driver_volume_type: 'nova' },
        completed: false,
        mode,
      }
      await records.write(name, record)
      ctx.log.info({ volume: v.id, server: me, device: a.device }, 'Nova is attaching the volume')
      try {
        const key = attachmentKey(attachmentId)
        let metadata = await api.metadata.set(v.id, { [key]: holderValue(me, mode, Date.now()) })
        if (mode === 'rw' && v.multiattach) {
          // Nova attaches without holding the volume for us: check the other holders afterwards
          // (two instances attaching at once both back off; never two writers).
          const fresh = (await api.waitForVolume(v.id, ['in-use'], WAIT)) ?? v
          const listed = fresh.attachments.filter((x) => x.attachment_id !== attachmentId)
          const others: CinderVolume = { ...fresh, status: 'in-use', attachments: listed }
          const again = decideAttach(name, others, attachState(others, me), policy)
          if (again.kind === 'ATTACH' && again.mode === 'ro') {
            metadata = await api.metadata.set(v.id, { [key]: holderValue(me, 'ro', Date.now()) })
            record = { ...record, mode: 'ro' }
            await records.write(name, record)
          } else if (again.kind !== 'ATTACH')
            throw new VolumeStateError(
              `volume "${name}" changed hands while this instance attached it; retry`,
            )
        }
        return { record, metadata }
      } catch (e) {
        await detach(v.id, attachmentId, undefined, ctx.log).catch((err: unknown) =>
          ctx.log.error({ err, attachment: attachmentId }, 'rollback of the Nova attach failed'),
        )
        await records.drop(name)
        throw e
      }
    },

    async connect(r, log) {
      const v = await api.waitForVolume(r.volumeId, ['in-use'], WAIT)
      if (!v?.attachments.some((a) => a.server_id === me))
        throw new VolumeStateError(
          `Nova did not attach Cinder volume ${r.volumeId} to this instance ${me}`,
        )
      let device: string | undefined
      await waitForDevice(
        async () => {
          device = await d.deviceFor(r.volumeId)
          return device !== undefined
        },
        `the disk of Cinder volume ${r.volumeId} (by serial in /dev/disk/by-id)`,
        d.delays,
      )
      log.info({ volume: r.volumeId, device }, 'volume attached to this instance')
      return device as string
    },
    // Nova completes the Cinder attachment itself.
    complete: async () => {},
  }
}

/**
 * The disk whose serial carries this volume id: virtio shows the first 20 characters
 * (`virtio-<id[:20]>`), SCSI the whole id (`scsi-0QEMU_QEMU_HARDDISK_<id>`).
 */
export async function deviceBySerial(
  list: () => Promise<string[]>,
  resolve: (entry: string) => Promise<string>,
  volumeId: string,
): Promise<string | undefined> {
  const short = volumeId.slice(0, 20)
  const entry = (await list()).find((e) => !/-part\d+$/.test(e) && e.includes(short))
  return entry === undefined ? undefined : resolve(entry)
}
