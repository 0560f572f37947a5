import { mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs'
import { CinderClient } from '../../src/openstack/cinder.ts'
import type { NovaClient, ServerVolumeAttachment } from '../../src/openstack/nova.ts'
import type { Session } from '../../src/openstack/session.ts'

export const BY_ID = '/dev/disk/by-id'

/**
 * TEST STAND-IN for a guest's udev: in a real instance, a volume Nova attaches appears as a disk
 * whose serial is the volume id (`/dev/disk/by-id/virtio-<id[:20]>`). Here the dev cloud's loop
 * driver attaches the volume's file to a loop device on this host; this links
 * `virtio-<id[:20]>` to that loop device while the volume is attached to `serverId`, and removes
 * the link when it is not. stop() removes every link it made.
 */
export function udevStandin(session: Session, nova: NovaClient, serverId: string) {
  const cinder = new CinderClient(session)
  const links = new Map<string, string>() // volume id → link path
  let stopped = false
  let madeDir: string | undefined // without udev, /dev/disk/by-id is ours to make and remove
  const link = (volumeId: string) => `${BY_ID}/virtio-${volumeId.slice(0, 20)}`
  const tick = async () => {
    const attached = await volumeAttachments(nova, serverId)
    const now = new Set<string>()
    for (const a of attached) {
      if (!a.attachment_id) continue
      const info = (await cinder.getAttachment(a.attachment_id))?.connection_info
      const device = typeof info?.device_path === 'string' ? info.device_path : undefined
      if (!device) continue
      now.add(a.volumeId)
      const path = link(a.volumeId)
      let current: string | undefined
      try {
        current = readlinkSync(path)
      } catch {
        current = undefined
      }
      if (current !== device) {
        madeDir ??= mkdirSync(BY_ID, { recursive: true })
        rmSync(path, { force: true })
        symlinkSync(device, path)
      }
      links.set(a.volumeId, path)
    }
    for (const [id, path] of links)
      if (!now.has(id)) {
        rmSync(path, { force: true })
        links.delete(id)
      }
  }
  const loop = (async () => {
    while (!stopped) {
      await tick().catch(() => {})
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  return {
    async stop() {
      stopped = true
      await loop
      for (const path of links.values()) rmSync(path, { force: true })
      if (madeDir) rmSync(madeDir, { recursive: true, force: true })
    },
  }
}

/** Every volume attached to a server (fuxi itself only ever asks about one volume). */
async function volumeAttachments(
  nova: NovaClient,
  serverId: string,
): Promise<ServerVolumeAttachment[]> {
  const res = await nova.api.call({
    method: 'GET',
    path: `/servers/${encodeURIComponent(serverId)}/os-volume_attachments`,
  })
  return (res.json as { volumeAttachments?: ServerVolumeAttachment[] }).volumeAttachments ?? []
}
