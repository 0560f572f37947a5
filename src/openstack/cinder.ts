import { OpenStackHttpError } from '../errors.ts'
import { type MetadataApi, ResourceMetadata, ServiceApi } from './service-api.ts'
import type { Session } from './session.ts'
import { resourceWait } from './wait.ts'

/** Pages and volumes a list follows at most (Cinder's pages hold up to 1000). */
export const LIST_MAX_PAGES = 100
const LIST_MAX_ITEMS = 50_000

/** Cinder v3. Attachments need 3.27, completing one 3.44, the attach mode 3.54. */
const CINDER_TARGET_VERSION = '3.54'
const ATTACHMENTS = '3.27'
const COMPLETE = '3.44'
const ATTACH_MODE = '3.54'
const MESSAGES = '3.3'
/** Said when Cinder is too old: the providers have no path through os-reserve/os-attach. */
const ATTACHMENTS_ONLY =
  'fuxi attaches volumes only through the attachments API, not the legacy os-attach actions: use a Cinder that offers microversion 3.44 or later'

export interface CinderAttachmentRef {
  id?: string
  attachment_id: string
  server_id?: string | null
  host_name?: string | null
  device?: string
}

export interface CinderVolume {
  id: string
  name: string | null
  status: string
  size: number
  availability_zone?: string
  volume_type?: string | null
  multiattach: boolean
  metadata: Record<string, string>
  attachments: CinderAttachmentRef[]
  created_at?: string
  snapshot_id?: string | null
  /** The volume type encrypts it (a LUKS layer fuxi does not open). */
  encrypted?: boolean
}

/** Connection info as the attachments API returns it (flat: no `data` level). */
export interface ConnectionInfo {
  driver_volume_type?: string
  [key: string]: unknown
}

export interface CinderAttachment {
  id: string
  status: string
  volume_id: string
  instance?: string | null
  attach_mode?: string
  connection_info: ConnectionInfo
}

/**
 * os-brick's connector properties: what Cinder needs to export a volume to this host. Not the
 * device connector (`VolumeConnector`), which makes the exported volume appear here.
 */
export interface ConnectorProperties {
  host: string
  ip: string
  initiator?: string
  platform?: string
  os_type?: string
  multipath: boolean
  do_local_attach?: boolean
  [key: string]: unknown
}

export interface CreateVolumeRequest {
  name: string
  size: number
  volume_type?: string
  availability_zone?: string
  metadata?: Record<string, string>
  description?: string
  snapshot_id?: string
  source_volid?: string
  /** 3.47+. */
  backup_id?: string
}

export interface ListVolumesFilter {
  name?: string
  metadata?: Record<string, string>
  /** Every project's volumes (admin only). */
  allTenants?: boolean
  /** Page size; Cinder caps it at its osapi_max_limit (1000 by default). */
  pageSize?: number
}

const CINDER_VOLUME_ERROR_STATES = [
  'error',
  'error_deleting',
  'error_extending',
  'error_restoring',
  'error_managing',
] as const

/** Waits for a volume read with `get` to reach one of `want`; Cinder's error states end it early. */
export const waitForVolumeStatus = resourceWait<CinderVolume>(
  'Cinder volume',
  CINDER_VOLUME_ERROR_STATES,
)

export class CinderClient {
  readonly api: ServiceApi
  /** Volume metadata: set (merge) and deleteKey. */
  readonly metadata: MetadataApi

  constructor(session: Session) {
    this.api = new ServiceApi(session, {
      type: 'volumev3',
      label: 'Cinder',
      major: 3,
      target: CINDER_TARGET_VERSION,
      versionHeaders: (v) => ({ 'OpenStack-API-Version': `volume ${v}` }),
    })
    this.metadata = new ResourceMetadata(this.api, '/volumes')
  }

  // ---- volumes
  async createVolume(r: CreateVolumeRequest): Promise<CinderVolume> {
    const res = await this.api.call({ method: 'POST', path: '/volumes', json: { volume: r } })
    return volumeOf((res.json as { volume: unknown }).volume)
  }

  /** The volume, or `undefined` when Cinder does not know it (404). */
  async getVolume(id: string): Promise<CinderVolume | undefined> {
    const res = await this.api.call({
      method: 'GET',
      path: `/volumes/${enc(id)}`,
      okStatuses: [404],
    })
    return res.status === 404 ? undefined : volumeOf((res.json as { volume: unknown }).volume)
  }

  /**
   * Every volume matching the filter, following pages (marker = last id) until the last one, at
   * most LIST_MAX_PAGES pages and LIST_MAX_ITEMS volumes: a cloud that keeps answering "next"
   * (or a marker that does not move) is an error, not an endless loop or an exhausted heap.
   */
  async listVolumes(f: ListVolumesFilter = {}): Promise<CinderVolume[]> {
    const out: CinderVolume[] = []
    let marker: string | undefined
    for (let pages = 1; ; pages++) {
      if (pages > LIST_MAX_PAGES || out.length > LIST_MAX_ITEMS)
        throw new OpenStackHttpError({
          service: 'volumev3',
          method: 'GET',
          url: '/volumes/detail',
          detail: `the volume list did not end after ${LIST_MAX_PAGES} pages or ${LIST_MAX_ITEMS} volumes (${out.length} so far); narrow it (all_tenants = false, a dedicated volume_from) or check the endpoint`,
        })
      const res = await this.api.call({
        method: 'GET',
        path: '/volumes/detail',
        query: {
          name: f.name,
          metadata: f.metadata ? JSON.stringify(f.metadata) : undefined,
          all_tenants: f.allTenants ? 1 : undefined,
          limit: f.pageSize,
          marker,
        },
      })
      const body = res.json as { volumes?: unknown[]; volumes_links?: { rel: string }[] }
      const page = (body.volumes ?? []).map(volumeOf)
      out.push(...page)
      const more = body.volumes_links?.some((l) => l.rel === 'next')
      if (!more || page.length === 0) return out
      const next = page[page.length - 1]?.id
      if (next === marker) return out // the marker did not move: no further page
      marker = next
    }
  }

  /** Deletes a volume; `false` when it was already gone. */
  async deleteVolume(id: string): Promise<boolean> {
    const res = await this.api.call({
      method: 'DELETE',
      path: `/volumes/${enc(id)}`,
      okStatuses: [404],
    })
    return res.status !== 404
  }

  /** Waits until the volume is in one of `want` (an error state ends the wait with Cinder's reason). */
  waitForVolume(
    id: string,
    want: readonly string[],
    o: { timeoutMs: number; goneIsSuccess?: boolean; onProgress?: (s: string) => void },
  ): Promise<CinderVolume | undefined> {
    return waitForVolumeStatus((x) => this.getVolume(x), id, want, {
      fault: () => this.lastUserMessage(id),
      ...o,
    })
  }

  // ---- attachments (3.27+; complete 3.44+)
  /** Without a connector the volume is only reserved; with one Cinder exports it and answers the connection info. */
  async createAttachment(
    volumeId: string,
    o: { connector?: ConnectorProperties; mode?: 'rw' | 'ro' } = {},
  ): Promise<CinderAttachment> {
    const withMode = o.mode !== undefined && (await this.api.supports(ATTACH_MODE))
    const res = await this.api.call({
      method: 'POST',
      path: '/attachments',
      json: {
        attachment: {
          volume_uuid: volumeId,
          ...(o.connector ? { connector: o.connector } : {}),
          ...(withMode ? { mode: o.mode } : {}),
        },
      },
      needs: { version: ATTACHMENTS, what: 'the attachments API', hint: ATTACHMENTS_ONLY },
    })
    return attachmentOf((res.json as { attachment: unknown }).attachment)
  }

  /** Marks the attachment done: the volume goes `in-use`. */
  async completeAttachment(id: string): Promise<void> {
    await this.api.call({
      method: 'POST',
      path: `/attachments/${enc(id)}/action`,
      json: { 'os-complete': null },
      needs: { version: COMPLETE, what: 'completing an attachment', hint: ATTACHMENTS_ONLY },
    })
  }

  async getAttachment(id: string): Promise<CinderAttachment | undefined> {
    const res = await this.api.call({
      method: 'GET',
      path: `/attachments/${enc(id)}`,
      okStatuses: [404],
      needs: { version: ATTACHMENTS, what: 'the attachments API', hint: ATTACHMENTS_ONLY },
    })
    return res.status === 404
      ? undefined
      : attachmentOf((res.json as { attachment: unknown }).attachment)
  }

  async listAttachments(volumeId: string): Promise<CinderAttachment[]> {
    const res = await this.api.call({
      method: 'GET',
      path: '/attachments/detail',
      query: { volume_id: volumeId },
      needs: { version: ATTACHMENTS, what: 'the attachments API', hint: ATTACHMENTS_ONLY },
    })
    return ((res.json as { attachments?: unknown[] }).attachments ?? []).map(attachmentOf)
  }

  /** Deletes an attachment (Cinder unexports the volume); `false` when it was already gone. */
  async deleteAttachment(id: string): Promise<boolean> {
    const res = await this.api.call({
      method: 'DELETE',
      path: `/attachments/${enc(id)}`,
      okStatuses: [404],
      needs: { version: ATTACHMENTS, what: 'the attachments API', hint: ATTACHMENTS_ONLY },
    })
    return res.status !== 404
  }

  /** Cinder's newest user message about a resource (why it went to error), if the cloud has them. */
  async lastUserMessage(resourceId: string): Promise<string | undefined> {
    if (!(await this.api.supports(MESSAGES))) return undefined
    try {
      const res = await this.api.call({
        method: 'GET',
        path: '/messages',
        query: { resource_uuid: resourceId, sort: 'created_at:desc', limit: 1 },
      })
      const m = (res.json as { messages?: { user_message?: string }[] }).messages?.[0]
      return m?.user_message
    } catch {
      return undefined // a reason is a bonus; the caller reports the state anyway
    }
  }
}

const enc = encodeURIComponent

function volumeOf(v: unknown): CinderVolume {
  const o = v as CinderVolume
  return {
    ...o,
    multiattach: o.multiattach === true,
    metadata: o.metadata ?? {},
    attachments: o.attachments ?? [],
  }
}

function attachmentOf(a: unknown): CinderAttachment {
  const o = a as CinderAttachment
  return { ...o, connection_info: o.connection_info ?? {} }
}
