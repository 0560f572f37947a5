import { type MetadataApi, ResourceMetadata, ServiceApi } from './service-api.ts'
import type { Session } from './session.ts'
import { resourceWait, type WaitOptions, waitForStatus } from './wait.ts'

/** Manila v2. The access rules API fuxi uses (list by share, rule metadata) needs 2.45. */
const MANILA_TARGET_VERSION = '2.65'
const ACCESS_RULES = '2.45'
const MESSAGES = '2.37'

export interface ManilaShare {
  id: string
  name: string | null
  status: string
  size: number
  share_proto: string
  share_type?: string | null
  share_type_name?: string | null
  availability_zone?: string | null
  metadata: Record<string, string>
  project_id?: string
  created_at?: string
}

export interface ExportLocation {
  id: string
  path: string
  preferred: boolean
  /** Only admins see admin-only locations (and this field). */
  is_admin_only?: boolean
}

export interface AccessRule {
  id: string
  access_type: string
  access_to: string
  access_level: string
  state: string
  access_key?: string | null
  metadata?: Record<string, string>
}

export interface CreateShareRequest {
  share_proto: string
  size: number
  name: string
  share_type?: string
  availability_zone?: string
  metadata?: Record<string, string>
  description?: string
  snapshot_id?: string
  share_network_id?: string
}

const MANILA_SHARE_ERROR_STATES = [
  'error',
  'error_deleting',
  'extending_error',
  'shrinking_error',
  'shrinking_possible_data_loss_error',
] as const

/** Waits for a share read with `get` to reach one of `want`; Manila's error states end it early. */
export const waitForShareStatus = resourceWait<ManilaShare>(
  'Manila share',
  MANILA_SHARE_ERROR_STATES,
)

/** Waits for an access rule (found in `list`) to reach one of `want`; `error` ends it early. */
export function waitForAccessRuleState(
  list: (shareId: string) => Promise<AccessRule[]>,
  shareId: string,
  accessId: string,
  want: readonly string[],
  o: Pick<WaitOptions<AccessRule>, 'timeoutMs' | 'goneIsSuccess' | 'fault' | 'delays'>,
): Promise<AccessRule | undefined> {
  return waitForStatus({
    what: `access rule ${accessId} of Manila share ${shareId}`,
    poll: async () => (await list(shareId)).find((r) => r.id === accessId),
    status: (r) => r.state,
    want,
    errorStates: ['error'],
    ...o,
  })
}

/** The body of allow_access (2.45+: with metadata). */
export interface AllowAccessRequest {
  access_type: string
  access_to: string
  access_level?: 'rw' | 'ro'
  metadata?: Record<string, string>
}

export class ManilaClient {
  readonly api: ServiceApi
  /** Share metadata: set (merge) and deleteKey. */
  readonly metadata: MetadataApi

  constructor(session: Session) {
    this.api = new ServiceApi(session, {
      type: 'sharev2',
      label: 'Manila',
      major: 2,
      target: MANILA_TARGET_VERSION,
      versionHeaders: (v) => ({ 'X-OpenStack-Manila-API-Version': v }),
    })
    this.metadata = new ResourceMetadata(this.api, '/shares')
  }

  async createShare(r: CreateShareRequest): Promise<ManilaShare> {
    const res = await this.api.call({ method: 'POST', path: '/shares', json: { share: r } })
    return shareOf((res.json as { share: unknown }).share)
  }

  async getShare(id: string): Promise<ManilaShare | undefined> {
    const res = await this.api.call({
      method: 'GET',
      path: `/shares/${enc(id)}`,
      okStatuses: [404],
    })
    return res.status === 404 ? undefined : shareOf((res.json as { share: unknown }).share)
  }

  /** Shares matching a name and/or metadata, following pages (offset) to the end. */
  async listShares(
    f: {
      name?: string
      metadata?: Record<string, string>
      allTenants?: boolean
      pageSize?: number
    } = {},
  ): Promise<ManilaShare[]> {
    const out: ManilaShare[] = []
    const pageSize = f.pageSize ?? 1000
    for (let offset = 0; ; offset += pageSize) {
      const res = await this.api.call({
        method: 'GET',
        path: '/shares/detail',
        query: {
          name: f.name,
          metadata: f.metadata ? JSON.stringify(f.metadata) : undefined,
          all_tenants: f.allTenants ? 1 : undefined,
          limit: pageSize,
          offset,
        },
      })
      const page = ((res.json as { shares?: unknown[] }).shares ?? []).map(shareOf)
      out.push(...page)
      if (page.length < pageSize) return out
    }
  }

  async deleteShare(id: string): Promise<boolean> {
    const res = await this.api.call({
      method: 'DELETE',
      path: `/shares/${enc(id)}`,
      okStatuses: [404],
    })
    return res.status !== 404
  }

  waitForShare(
    id: string,
    want: readonly string[],
    o: { timeoutMs: number; goneIsSuccess?: boolean; onProgress?: (s: string) => void },
  ): Promise<ManilaShare | undefined> {
    return waitForShareStatus((x) => this.getShare(x), id, want, {
      fault: () => this.lastUserMessage(id),
      ...o,
    })
  }

  async exportLocations(shareId: string): Promise<ExportLocation[]> {
    const res = await this.api.call({
      method: 'GET',
      path: `/shares/${enc(shareId)}/export_locations`,
    })
    return (res.json as { export_locations?: ExportLocation[] }).export_locations ?? []
  }

  // ---- access rules (2.45+)
  async allowAccess(shareId: string, r: AllowAccessRequest): Promise<AccessRule> {
    const res = await this.api.call({
      method: 'POST',
      path: `/shares/${enc(shareId)}/action`,
      json: { allow_access: { access_level: 'rw', ...r } },
      needs: { version: ACCESS_RULES, what: 'access rules' },
    })
    return (res.json as { access: AccessRule }).access
  }

  async denyAccess(shareId: string, accessId: string): Promise<void> {
    await this.api.call({
      method: 'POST',
      path: `/shares/${enc(shareId)}/action`,
      json: { deny_access: { access_id: accessId } },
      needs: { version: ACCESS_RULES, what: 'access rules' },
    })
  }

  async listAccessRules(shareId: string): Promise<AccessRule[]> {
    const res = await this.api.call({
      method: 'GET',
      path: '/share-access-rules',
      query: { share_id: shareId },
      needs: { version: ACCESS_RULES, what: 'listing access rules' },
    })
    return (res.json as { access_list?: AccessRule[] }).access_list ?? []
  }

  /** Adds or changes keys of an access rule's metadata (the others stay). */
  async setAccessMetadata(accessId: string, md: Record<string, string>): Promise<void> {
    await this.api.call({
      method: 'PUT',
      path: `/share-access-rules/${enc(accessId)}/metadata`,
      json: { metadata: md },
      needs: { version: ACCESS_RULES, what: 'access rule metadata' },
    })
  }

  /** Removes one key of an access rule's metadata; a missing key or rule is not an error. */
  async deleteAccessMetadata(accessId: string, key: string): Promise<void> {
    await this.api.call({
      method: 'DELETE',
      path: `/share-access-rules/${enc(accessId)}/metadata/${enc(key)}`,
      okStatuses: [404],
      needs: { version: ACCESS_RULES, what: 'access rule metadata' },
    })
  }

  /** Waits until a rule is `active` (or gone, with `goneIsSuccess`); `error` ends the wait. */
  waitForAccessRule(
    shareId: string,
    accessId: string,
    want: readonly string[],
    o: { timeoutMs: number; goneIsSuccess?: boolean },
  ): Promise<AccessRule | undefined> {
    return waitForAccessRuleState((id) => this.listAccessRules(id), shareId, accessId, want, {
      fault: () => this.lastUserMessage(shareId),
      ...o,
    })
  }

  async lastUserMessage(resourceId: string): Promise<string | undefined> {
    if (!(await this.api.supports(MESSAGES))) return undefined
    try {
      const res = await this.api.call({
        method: 'GET',
        path: '/messages',
        query: { resource_id: resourceId, sort_key: 'created_at', sort_dir: 'desc', limit: 1 },
      })
      return (res.json as { messages?: { user_message?: string }[] }).messages?.[0]?.user_message
    } catch {
      return undefined
    }
  }
}

const enc = encodeURIComponent

function shareOf(s: unknown): ManilaShare {
  const o = s as ManilaShare & { volume_type?: string }
  return { ...o, metadata: o.metadata ?? {}, share_type_name: o.share_type_name ?? o.volume_type }
}
