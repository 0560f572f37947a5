import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { OpenStackHttpError } from '../../src/errors.ts'
import type {
  CinderAttachment,
  CinderVolume,
  ConnectorProperties,
  CreateVolumeRequest,
  ListVolumesFilter,
} from '../../src/openstack/cinder.ts'
import { waitForVolumeStatus } from '../../src/openstack/cinder.ts'
import type { MetadataApi } from '../../src/openstack/service-api.ts'
import type { CinderApi } from '../../src/providers/cinder/cinder-provider.ts'
import type { FakeHost } from './fake-host.ts'

type Failable = 'createAttachment' | 'completeAttachment' | 'deleteAttachment' | 'createVolume'

/**
 * Cinder's volume and attachment state machine as the recorded samples show it (create →
 * creating → available; attachment with connector → attaching; complete → in-use; delete →
 * available; a second attachment of a non-multiattach in-use volume is a 400), backed like the dev
 * cloud's loop driver: each volume is a file, attached to a (fake) loop device on connect.
 */
export class FakeCinder implements CinderApi {
  readonly volumes = new Map<string, CinderVolume>()
  readonly attachments = new Map<string, CinderAttachment & { host: string }>()
  readonly calls: string[] = []
  readonly failNext = new Set<Failable>()
  /** The next call of this method is done, but its answer is lost (a timeout): it throws after. */
  readonly loseAnswer = new Set<'createAttachment'>()
  readonly #host: FakeHost
  readonly #dir: string

  constructor(host: FakeHost, dir: string) {
    this.#host = host
    this.#dir = dir
  }

  file = (id: string) => join(this.#dir, `volume-${id}.img`)

  /** "<volume id> <connector host>" → its loop device: each host sees its own device of a volume. */
  readonly #devices = new Map<string, string>()
  async #deviceFor(volumeId: string, host: string): Promise<string> {
    const key = `${volumeId} ${host}`
    const known = this.#devices.get(key)
    if (known && this.#host.loops.has(known)) return known
    const device = await this.#host.attachLoop(this.file(volumeId), { separate: true })
    this.#devices.set(key, device)
    return device
  }

  #fail(what: Failable, method: string) {
    if (this.failNext.delete(what))
      throw new OpenStackHttpError({
        service: 'volumev3',
        method,
        url: `/${what}`,
        status: 500,
        kind: 'computeFault',
        detail: `injected ${what} failure`,
      })
  }
  #bad(method: string, detail: string): never {
    throw new OpenStackHttpError({
      service: 'volumev3',
      method,
      url: '/',
      status: 400,
      kind: 'badRequest',
      detail,
    })
  }

  /** A volume made outside fuxi (e.g. by the original fuxi or an operator). */
  async add(v: Partial<CinderVolume> & { name: string }): Promise<CinderVolume> {
    const vol: CinderVolume = {
      id: randomUUID(),
      status: 'available',
      size: 1,
      multiattach: false,
      metadata: {},
      attachments: [],
      created_at: '2026-11-22T18:36:42.000000',
      ...v,
    }
    await writeFile(this.file(vol.id), '')
    this.volumes.set(vol.id, vol)
    return vol
  }

  async createVolume(r: CreateVolumeRequest) {
    this.calls.push(`create ${r.name}`)
    this.#fail('createVolume', 'POST')
    return structuredClone(
      await this.add({
        name: r.name,
        size: r.size,
        status: 'creating',
        volume_type: r.volume_type ?? 'default',
        multiattach: r.volume_type === 'multiattach',
        // the samples' "encrypted" field: a volume type with an encryption spec (here: "luks")
        encrypted: r.volume_type === 'luks',
        metadata: { ...r.metadata },
      }),
    )
  }

  async getVolume(id: string) {
    const v = this.volumes.get(id)
    if (v?.status === 'creating') v.status = 'available' // the backend finishes between polls
    if (v?.status === 'deleting') {
      this.volumes.delete(id)
      return undefined
    }
    return v && structuredClone(v)
  }

  async listVolumes(f: ListVolumesFilter = {}) {
    const adopted = f.metadata?.fuxi_name
    this.calls.push(`list${f.name ? ` ${f.name}` : adopted ? ` fuxi_name=${adopted}` : ''}`)
    return [...this.volumes.values()]
      .filter((v) => v.status !== 'deleting')
      .filter((v) => f.name === undefined || v.name === f.name)
      .filter((v) => Object.entries(f.metadata ?? {}).every(([k, val]) => v.metadata[k] === val))
      .map((v) => structuredClone(v))
  }

  async deleteVolume(id: string) {
    this.calls.push(`delete ${id.slice(0, 8)}`)
    const v = this.volumes.get(id)
    if (!v) return false
    if (v.status === 'in-use' || v.attachments.length)
      this.#bad('DELETE', 'Invalid volume: Volume status must be available or error')
    v.status = 'deleting'
    return true
  }

  waitForVolume(
    id: string,
    want: readonly string[],
    o: { timeoutMs: number; goneIsSuccess?: boolean },
  ) {
    return waitForVolumeStatus((x) => this.getVolume(x), id, want, { delays: [1], ...o })
  }

  async createAttachment(
    volumeId: string,
    o: { connector?: ConnectorProperties; mode?: 'rw' | 'ro' } = {},
  ): Promise<CinderAttachment> {
    this.calls.push('attachment create')
    this.#fail('createAttachment', 'POST')
    const v = this.volumes.get(volumeId)
    if (!v)
      throw new OpenStackHttpError({
        service: 'volumev3',
        method: 'POST',
        url: '/',
        status: 404,
        detail: 'no volume',
      })
    if (
      v.status === 'attaching' ||
      v.status === 'reserved' ||
      (v.status === 'in-use' && !v.multiattach)
    )
      this.#bad(
        'POST',
        `Invalid volume: Volume ${volumeId} status must be available or downloading to reserve, but the current status is ${v.status}.`,
      )
    const device = o.connector ? await this.#deviceFor(volumeId, o.connector.host) : undefined
    const a = {
      id: randomUUID(),
      status: o.connector ? 'attaching' : 'reserved',
      volume_id: volumeId,
      attach_mode: o.mode ?? 'rw',
      connection_info: device
        ? { driver_volume_type: 'local', device_path: device, access_mode: 'rw' }
        : {},
      host: o.connector?.host ?? '',
    }
    this.attachments.set(a.id, a)
    v.status = o.connector ? 'attaching' : 'reserved'
    if (this.loseAnswer.delete('createAttachment'))
      throw new OpenStackHttpError({
        service: 'volumev3',
        method: 'POST',
        url: '/attachments',
        detail: 'no answer within 3000 ms',
      })
    return structuredClone(a)
  }

  async completeAttachment(id: string) {
    this.calls.push('attachment complete')
    this.#fail('completeAttachment', 'POST')
    const a = this.attachments.get(id)
    const v = a && this.volumes.get(a.volume_id)
    if (!a || !v) this.#bad('POST', 'no attachment')
    a.status = 'attached'
    v.status = 'in-use'
    v.attachments.push({ attachment_id: id, host_name: a.host, server_id: null })
  }

  async getAttachment(id: string) {
    const a = this.attachments.get(id)
    return a && structuredClone(a)
  }

  async listAttachments(volumeId: string) {
    return [...this.attachments.values()]
      .filter((a) => a.volume_id === volumeId)
      .map((a) => structuredClone(a))
  }

  async deleteAttachment(id: string) {
    this.calls.push('attachment delete')
    this.#fail('deleteAttachment', 'DELETE')
    const a = this.attachments.get(id)
    if (!a) {
      // another host's attachment (not in this host's map): Cinder deletes it all the same
      const v = [...this.volumes.values()].find((x) =>
        x.attachments.some((y) => y.attachment_id === id),
      )
      if (!v) return false
      v.attachments = v.attachments.filter((x) => x.attachment_id !== id)
      if (!v.attachments.length) v.status = 'available'
      return true
    }
    this.attachments.delete(id)
    const v = this.volumes.get(a.volume_id)
    if (v) {
      v.attachments = v.attachments.filter((x) => x.attachment_id !== id)
      // Each host's device goes with its last attachment (the dev cloud's driver does the same).
      const live = [...this.attachments.values()].filter((x) => x.volume_id === v.id)
      const key = `${v.id} ${a.host}`
      const device = this.#devices.get(key)
      if (device && !live.some((x) => x.host === a.host)) {
        this.#devices.delete(key)
        if (this.#host.loops.has(device)) await this.#host.detachLoop(device)
      }
      if (v.attachments.length) v.status = 'in-use'
      else if (!live.length) v.status = 'available'
    }
    return true
  }

  readonly metadata: MetadataApi = {
    set: async (id, md) => {
      const v = this.volumes.get(id)
      if (v) Object.assign(v.metadata, md)
      return { ...v?.metadata }
    },
    deleteKey: async (id, key) => {
      const v = this.volumes.get(id)
      if (v) delete v.metadata[key]
    },
  }
}
