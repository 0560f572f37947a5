import { randomUUID } from 'node:crypto'
import { OpenStackHttpError } from '../../src/errors.ts'
import {
  type AccessRule,
  type AllowAccessRequest,
  type CreateShareRequest,
  type ExportLocation,
  type ManilaShare,
  waitForAccessRuleState,
  waitForShareStatus,
} from '../../src/openstack/manila.ts'
import type { MetadataApi } from '../../src/openstack/service-api.ts'
import type { ManilaApi } from '../../src/providers/manila/manila-provider.ts'

type Failable = 'createShare' | 'allowAccess' | 'denyAccess' | 'deleteShare'

/**
 * Manila's share and access-rule state machine as the recorded samples show it (create →
 * creating → available; allow → queued_to_apply → active; deny → queued_to_deny → gone; a
 * duplicate rule is a 400 "exists"; delete → deleting → 404), with export locations like the dev
 * cloud's directory driver: 127.0.0.1:<dir> preferred, localhost:<dir>, and an admin-only path
 * (which a non-admin never sees), or 127.0.0.1:6789:<dir> for CephFS.
 */
export class FakeManila implements ManilaApi {
  readonly shares = new Map<string, ManilaShare>()
  readonly rules = new Map<string, AccessRule & { share: string }>()
  readonly calls: string[] = []
  readonly failNext = new Set<Failable>()

  #error(what: string, method: string, status: number, detail: string): never {
    throw new OpenStackHttpError({ service: 'sharev2', method, url: `/${what}`, status, detail })
  }
  #fail(what: Failable, method: string) {
    if (this.failNext.delete(what)) this.#error(what, method, 500, `injected ${what} failure`)
  }

  /** A share made outside fuxi (by an operator or the original fuxi). */
  add(s: Partial<ManilaShare> & { name: string }): ManilaShare {
    const share: ManilaShare = {
      id: randomUUID(),
      status: 'available',
      size: 1,
      share_proto: 'NFS',
      share_type_name: 'default',
      metadata: {},
      created_at: '2026-11-22T18:40:01.000000',
      ...s,
    }
    this.shares.set(share.id, share)
    return share
  }

  /** A rule made outside fuxi (by an operator, another host or the original fuxi). */
  grant(shareId: string, r: Partial<AccessRule> & { access_to: string }): AccessRule {
    const rule = {
      id: randomUUID(),
      share: shareId,
      access_type: 'ip',
      access_level: 'rw',
      state: 'active',
      access_key: null,
      metadata: {},
      ...r,
    }
    this.rules.set(rule.id, rule)
    return rule
  }

  async createShare(r: CreateShareRequest) {
    this.calls.push(`create ${r.name}`)
    this.#fail('createShare', 'POST')
    return structuredClone(
      this.add({
        name: r.name,
        size: r.size,
        share_proto: r.share_proto,
        status: 'creating',
        metadata: { ...r.metadata },
        share_type_name: r.share_type ?? 'default',
      }),
    )
  }

  async getShare(id: string) {
    const s = this.shares.get(id)
    if (s?.status === 'creating') s.status = 'available' // the back end finishes between polls
    if (s?.status === 'deleting') {
      this.shares.delete(id)
      for (const [rid, r] of this.rules) if (r.share === id) this.rules.delete(rid)
      return undefined
    }
    return s && structuredClone(s)
  }

  async listShares(f: { name?: string; metadata?: Record<string, string> } = {}) {
    const adopted = f.metadata?.fuxi_name
    this.calls.push(`list${f.name ? ` ${f.name}` : adopted ? ` fuxi_name=${adopted}` : ''}`)
    return [...this.shares.values()]
      .filter((s) => s.status !== 'deleting')
      .filter((s) => f.name === undefined || s.name === f.name)
      .filter((s) => Object.entries(f.metadata ?? {}).every(([k, v]) => s.metadata[k] === v))
      .map((s) => structuredClone(s))
  }

  async deleteShare(id: string) {
    this.calls.push(`delete ${id.slice(0, 8)}`)
    this.#fail('deleteShare', 'DELETE')
    const s = this.shares.get(id)
    if (!s) return false
    s.status = 'deleting'
    return true
  }

  waitForShare(
    id: string,
    want: readonly string[],
    o: { timeoutMs: number; goneIsSuccess?: boolean },
  ) {
    return waitForShareStatus((x) => this.getShare(x), id, want, { delays: [1], ...o })
  }

  async exportLocations(id: string): Promise<ExportLocation[]> {
    this.calls.push('export locations')
    const s = this.shares.get(id)
    if (!s) this.#error('export_locations', 'GET', 404, 'Share could not be found')
    const dir = `/srv/shares/share-${id}`
    if (s.share_proto === 'CEPHFS')
      return [{ id: `${id}-0`, path: `127.0.0.1:6789:${dir}`, preferred: true }]
    return [
      { id: `${id}-1`, path: `localhost:${dir}`, preferred: false },
      { id: `${id}-0`, path: `127.0.0.1:${dir}`, preferred: true },
    ]
  }

  async allowAccess(shareId: string, r: AllowAccessRequest): Promise<AccessRule> {
    this.calls.push(`allow ${r.access_type}:${r.access_to}`)
    this.#fail('allowAccess', 'POST')
    if (!this.shares.has(shareId)) this.#error('action', 'POST', 404, 'Share could not be found')
    const dup = [...this.rules.values()].some(
      (x) => x.share === shareId && x.access_type === r.access_type && x.access_to === r.access_to,
    )
    if (dup)
      this.#error('action', 'POST', 400, `Share access ${r.access_type}:${r.access_to} exists.`)
    const rule = this.grant(shareId, {
      access_type: r.access_type,
      access_to: r.access_to,
      access_level: r.access_level ?? 'rw',
      metadata: { ...r.metadata },
      state: 'queued_to_apply',
    })
    return structuredClone({ ...rule, share: undefined })
  }

  async denyAccess(shareId: string, accessId: string) {
    this.calls.push('deny')
    this.#fail('denyAccess', 'POST')
    const r = this.rules.get(accessId)
    if (!r || r.share !== shareId)
      this.#error('action', 'POST', 404, 'Access rule could not be found')
    r.state = 'queued_to_deny'
  }

  async listAccessRules(shareId: string): Promise<AccessRule[]> {
    this.calls.push('list rules')
    // Manila answers the rules list of a share it no longer has with a 400 (seen on the dev cloud).
    if (!this.shares.has(shareId))
      this.#error('share-access-rules', 'GET', 400, `Share ${shareId} not found.`)
    const out: AccessRule[] = []
    for (const [id, r] of this.rules) {
      if (r.share !== shareId) continue
      // The back end applies queued changes between calls.
      if (r.state === 'queued_to_deny') {
        this.rules.delete(id)
        continue
      }
      if (r.state === 'queued_to_apply') {
        r.state = 'active'
        if (r.access_type === 'cephx') r.access_key = `key-of-${r.access_to}`
      }
      const { share: _, ...rule } = r
      out.push(structuredClone(rule))
    }
    return out
  }

  waitForAccessRule(
    shareId: string,
    accessId: string,
    want: readonly string[],
    o: { timeoutMs: number; goneIsSuccess?: boolean },
  ) {
    return waitForAccessRuleState((id) => this.listAccessRules(id), shareId, accessId, want, {
      delays: [1],
      ...o,
    })
  }

  async setAccessMetadata(accessId: string, md: Record<string, string>) {
    this.calls.push('rule metadata set')
    const r = this.rules.get(accessId)
    if (!r) this.#error('metadata', 'PUT', 404, 'Access rule could not be found')
    r.metadata = { ...r.metadata, ...md }
  }

  async deleteAccessMetadata(accessId: string, key: string) {
    this.calls.push('rule metadata delete')
    const r = this.rules.get(accessId)
    if (r?.metadata) delete r.metadata[key]
  }

  readonly metadata: MetadataApi = {
    set: async (id, md) => {
      const s = this.shares.get(id)
      if (s) Object.assign(s.metadata, md)
      return { ...s?.metadata }
    },
    deleteKey: async (id, key) => {
      const s = this.shares.get(id)
      if (s) delete s.metadata[key]
    },
  }
}
