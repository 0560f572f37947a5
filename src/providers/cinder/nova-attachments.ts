import { waitForDevice } from '../../connectors/connector.ts'
import { VolumeStateError } from '../../errors.ts'
import type { Logger } from '../../log.ts'
import type { CinderVolume } from '../../openstack/cinder.ts'
import type { NovaClient } from '../../openstack/nova.ts'
import { waitForStatus } from '../../openstack/wait.ts'
import type { OpContext } from '../../volumes/provider.ts'
import { assertAttachable, attachmentKey, attachState } from './attach-state.ts'
import type { AttachmentRecord } from './attachment-records.ts'
import type { FlowDeps } from './cinder-provider.ts'
import type { AttachFlow } from './host-attachments.ts'

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

  async function attach(
    name: string,
    v: CinderVolume,
    ctx: OpContext,
  ): Promise<{ record: AttachmentRecord; created: boolean }> {
    const state = attachState(v, me)
    assertAttachable(name, v, state, { holder: 'instance' })
    switch (state.kind) {
      case 'ATTACHED_TO_THIS': {
        const id = state.attachmentIds[0] as string
        const record = { volumeId: v.id, attachmentId: id, connectionInfo: {}, completed: true }
        await records.write(name, record)
        return { record, created: false }
      }
      default:
        break
    }
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
    const record = {
      volumeId: v.id,
      attachmentId,
      connectionInfo: { driver_volume_type: 'nova' },
      completed: false,
    }
    await records.write(name, record)
    ctx.log.info({ volume: v.id, server: me, device: a.device }, 'Nova is attaching the volume')
    return { record, created: true }
  }

  return {
    attach,
    detach,
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
