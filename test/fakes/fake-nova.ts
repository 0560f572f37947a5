import { randomUUID } from 'node:crypto'
import type { ServerVolumeAttachment } from '../../src/openstack/nova.ts'
import type { NovaApi } from '../../src/providers/cinder/nova-attachments.ts'
import type { FakeCinder } from './fake-cinder.ts'
import type { FakeHost } from './fake-host.ts'

/**
 * Nova's server volume attachments over a FakeCinder, as the recorded samples show them (nova-1x):
 * attach makes (and completes) the Cinder attachment with server_id set and puts a disk in the
 * guest, and answers without the attachment id, which show gives; detach removes both.
 * `deviceFor` plays /dev/disk/by-id: the disk carrying a volume id.
 */
export class FakeNova implements NovaApi {
  readonly disks = new Map<string, string>()
  readonly calls: string[] = []
  readonly #cinder: FakeCinder
  readonly #host: FakeHost

  constructor(cinder: FakeCinder, host: FakeHost) {
    this.#cinder = cinder
    this.#host = host
  }

  async attachVolume(serverId: string, volumeId: string): Promise<ServerVolumeAttachment> {
    this.calls.push(`attach ${serverId}`)
    const v = this.#cinder.volumes.get(volumeId)
    if (!v) throw new Error(`no volume ${volumeId}`)
    v.attachments.push({ attachment_id: randomUUID(), server_id: serverId, host_name: null })
    v.status = 'in-use'
    this.disks.set(volumeId, await this.#host.attachLoop(this.#cinder.file(volumeId)))
    return { id: volumeId, volumeId, serverId, device: '/dev/vdb' }
  }

  async getVolumeAttachment(serverId: string, volumeId: string) {
    this.calls.push(`show ${serverId}`)
    const a = this.#cinder.volumes.get(volumeId)?.attachments.find((x) => x.server_id === serverId)
    return a && { volumeId, serverId, device: '/dev/vdb', attachment_id: a.attachment_id }
  }

  async detachVolume(serverId: string, volumeId: string): Promise<boolean> {
    this.calls.push(`detach ${serverId}`)
    const v = this.#cinder.volumes.get(volumeId)
    if (!v?.attachments.some((a) => a.server_id === serverId)) return false
    v.attachments = v.attachments.filter((a) => a.server_id !== serverId)
    if (!v.attachments.length) v.status = 'available'
    const disk = this.disks.get(volumeId)
    if (disk) await this.#host.detachLoop(disk)
    this.disks.delete(volumeId)
    return true
  }

  deviceFor = async (volumeId: string) => this.disks.get(volumeId)
}
