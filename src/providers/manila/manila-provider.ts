import { BUDGET_MS, withDeadline } from '../../deadline.ts'
import {
  OpenStackHttpError,
  VolumeInUseError,
  VolumeNotFoundError,
  VolumeStateError,
} from '../../errors.ts'
import type { Host } from '../../host/host.ts'
import type { Logger } from '../../log.ts'
import type {
  AccessRule,
  ExportLocation,
  ManilaClient,
  ManilaShare,
} from '../../openstack/manila.ts'
import {
  MOUNT_FLAGS_KEY,
  mountFlagOptions,
  mountFlagsOf,
  mountOptions,
  removeMountpoint,
} from '../../volumes/filesystem.ts'
import type { BackendVolume, DiscardOutcome, VolumeProvider } from '../../volumes/provider.ts'
import type { MadeResource } from '../../volumes/record.ts'
import {
  CREATED_BY_KEY,
  cloudNames,
  cloudTime,
  createUntilAvailable,
  DOCKER_NAME_KEY,
  detachedCreate,
  OWNER_KEY,
} from '../cloud-names.ts'
import {
  type AccessSpec,
  accessFor,
  CREATED_KEY,
  chooseExport,
  findAccess,
  foreignRules,
  hostKey,
  otherUsers,
  releaseOf,
} from './access.ts'
import { type ManilaOptionDefaults, parseManilaOptions, type ShareProto } from './options.ts'
import type { ShareMount, shareMounter } from './share-mounts.ts'

export const PROVIDER_NAME = 'manila'
/** Create waits this long for `available` (dockerd gives Create 120 s). */
export const CREATE_WAIT_MS = 60_000
/** Remove waits this long for the share to be gone (dockerd gives Remove 60 s). */
export const REMOVE_WAIT_MS = 25_000
/** Mount waits this long for an access rule to become active. */
export const ACCESS_WAIT_MS = 30_000
/** Unmount waits this long for a denied rule to go; a slower deny finishes in Manila. */
export const DENY_WAIT_MS = 20_000
/** A share looked at this recently (e.g. by the Get dockerd sends before Mount) is not read again. */
const FRESH_MS = 30_000

export const META = { owner: OWNER_KEY, dockerName: DOCKER_NAME_KEY } as const

/** The Manila calls the provider makes: the real client, or a fake in unit tests. */
export type ManilaApi = Pick<
  ManilaClient,
  | 'createShare'
  | 'getShare'
  | 'listShares'
  | 'deleteShare'
  | 'waitForShare'
  | 'exportLocations'
  | 'allowAccess'
  | 'denyAccess'
  | 'listAccessRules'
  | 'waitForAccessRule'
  | 'setAccessMetadata'
  | 'deleteAccessMetadata'
  | 'metadata'
>

export interface ManilaProviderOptions {
  readonly volumeFrom: string
  readonly defaults: ManilaOptionDefaults
  /** This host in access-rule metadata. */
  readonly me: string
  /** NFS: the `ip` rule's access_to (this host's address or network). */
  readonly accessTo: string
  /** CephFS: the cephx client id. */
  readonly cephxId: string
  /** Only export locations inside this CIDR are mounted (empty: any). */
  readonly exportCidr: string
  /** Keep this host's rule after the last Unmount. */
  readonly keepAccess: boolean
  /** Remove a share even while other hosts hold access rules to it. */
  readonly removeShared: boolean
}

/** " (used by hosts a, b)" for a rule fuxi recorded users on; '' otherwise. */
const holders = (r: AccessRule) => {
  const users = otherUsers(r, '')
  return users.length ? ` (used by ${users.join(', ')})` : ''
}

/** What Get, Mount and Remove learn about a share, kept for Status and the next call. */
interface Seen {
  share: ManilaShare
  rules?: AccessRule[]
  exports?: ExportLocation[]
  at: number
}

/**
 * Docker volumes as Manila shares, named like the Docker volume and marked with `volume_from`.
 * Create makes the share only. The first Mount gives this host access (reusing a rule that
 * already does), waits for it to be active and mounts the export location; the last Unmount
 * unmounts and denies the rule if fuxi made it and no other host uses it. Which hosts use a rule
 * is kept in the rule's own metadata, so no local state is needed and a restart loses nothing.
 */
export function createManilaProvider(
  opts: ManilaProviderOptions,
  deps: {
    api: ManilaApi
    host: Host
    mounter: ReturnType<typeof shareMounter>
    log: Logger
  },
): VolumeProvider {
  const { api, host, mounter } = deps
  const me = opts.me
  const seen = new Map<string, Seen>()
  const names = cloudNames<ManilaShare>({
    kind: 'Manila shares',
    one: 'Manila share',
    volumeFrom: opts.volumeFrom,
    list: (f) => api.listShares(f),
  })
  const remember = (share: ManilaShare, more: Partial<Seen> = {}) => {
    const name = names.dockerName(share)
    if (name) seen.set(name, { ...seen.get(name), share, ...more, at: Date.now() })
    return share
  }
  const fresh = (name: string) => {
    const s = seen.get(name)
    return s && Date.now() - s.at < FRESH_MS ? s : undefined
  }
  const toBackend = (s: ManilaShare): BackendVolume => ({
    name: names.dockerName(s) || s.id,
    createdAt: cloudTime(s.created_at),
    options: {
      share_proto: s.share_proto,
      size: String(s.size),
      ...(s.share_type_name ? { share_type: s.share_type_name } : {}),
      ...(s.availability_zone ? { availability_zone: s.availability_zone } : {}),
      ...mountFlagOptions(s.metadata[MOUNT_FLAGS_KEY]),
    },
  })
  const want = (s: ManilaShare): AccessSpec =>
    accessFor(s.share_proto.toUpperCase() as ShareProto, opts)

  async function find(name: string): Promise<ManilaShare | undefined> {
    const s = await names.find(name)
    if (!s) seen.delete(name)
    return s && remember(s)
  }
  async function mustFind(name: string): Promise<ManilaShare> {
    const s = await find(name)
    if (!s) throw new VolumeNotFoundError(name)
    return s
  }

  /**
   * Share, rules and export locations, from a fresh look unless a Get just made one. What a Get
   * saw is used once: a failed mount looks again next time.
   */
  async function look(name: string) {
    const known = fresh(name)
    if (known?.rules && known.exports) {
      seen.set(name, { share: known.share, at: known.at })
      return { share: known.share, rules: known.rules, exports: known.exports }
    }
    const share = known?.share ?? (await mustFind(name))
    const [rules, exports] = await Promise.all([
      api.listAccessRules(share.id),
      api.exportLocations(share.id),
    ])
    return { share, rules, exports }
  }

  /** This host's active rule on a share: found or made, with this host recorded on it. */
  async function grant(share: ManilaShare, rules: readonly AccessRule[], log: Logger) {
    const spec = want(share)
    if (!spec.to)
      throw new VolumeStateError(
        spec.type === 'ip'
          ? 'this host has no address for Manila access rules: set [DEFAULT] my_ip (or [manila] access_to)'
          : 'no cephx id for CephFS access: set [manila] cephx_id',
      )
    let rule = findAccess(rules, spec, me)
    let created = false
    if (!rule) {
      log.info({ share: share.id, access: `${spec.type}:${spec.to}` }, 'granting this host access')
      try {
        rule = await api.allowAccess(share.id, {
          access_type: spec.type,
          access_to: spec.to,
          metadata: { [CREATED_KEY]: 'true', [hostKey(me)]: 'true' },
        })
        created = true
      } catch (e) {
        // Someone granted it since we looked (Manila refuses a duplicate): use theirs.
        if (!(e instanceof OpenStackHttpError && e.status === 400)) throw e
        rule = findAccess(await api.listAccessRules(share.id), spec, me)
        if (!rule) throw e
      }
    }
    if (rule.state === 'error') {
      const mine = rule.metadata?.[CREATED_KEY] === 'true'
      if (mine) await api.denyAccess(share.id, rule.id)
      throw new VolumeStateError(
        `access rule ${rule.id} (${rule.access_type}:${rule.access_to}) of Manila share ${share.id} is in error: the share's back end did not apply it; ${mine ? 'fuxi denied it, retry' : `deny it (manila access-deny ${share.id} ${rule.id}) and retry`}`,
      )
    }
    if (rule.access_level !== 'rw')
      throw new VolumeStateError(
        `Manila share ${share.id} gives ${spec.type}:${rule.access_to} ${rule.access_level} access only; fuxi mounts read-write: change or delete that rule`,
      )
    const joined = !created && rule.metadata?.[hostKey(me)] === undefined
    if (joined) await api.setAccessMetadata(rule.id, { [hostKey(me)]: 'true' })
    if (rule.state !== 'active')
      rule =
        (await api.waitForAccessRule(share.id, rule.id, ['active'], {
          timeoutMs: ACCESS_WAIT_MS,
        })) ?? rule
    return { rule, created, joined }
  }

  /** Leaves this host's rule: denied if fuxi made it and nobody else uses it, else unrecorded. */
  async function ungrant(
    share: ManilaShare,
    rules: readonly AccessRule[],
    log: Logger,
    keep = opts.keepAccess,
  ) {
    const rule = rules.find((r) => r.metadata?.[hostKey(me)] !== undefined)
    if (!rule) return
    const release = releaseOf(rule, me, keep)
    if (release.kind === 'LEAVE') {
      log.info({ share: share.id, rule: rule.id, why: release.why }, 'keeping the access rule')
      if (release.why !== 'keep_access') await api.deleteAccessMetadata(rule.id, hostKey(me))
      return
    }
    log.info({ share: share.id, rule: rule.id }, 'denying this host access')
    await api.denyAccess(share.id, rule.id)
    await api
      .waitForAccessRule(share.id, rule.id, [], { timeoutMs: DENY_WAIT_MS, goneIsSuccess: true })
      .catch((err: unknown) =>
        log.warn(
          { err, rule: rule.id },
          'the access rule is still being denied; Manila finishes it',
        ),
      )
  }

  /** The export location to mount, before any access is granted for it. */
  function exportFor(share: ManilaShare, exports: readonly ExportLocation[]): ExportLocation {
    const location = chooseExport(exports, opts.exportCidr)
    if (!location)
      throw new VolumeStateError(
        `Manila share ${share.id} has no export location this host may use${opts.exportCidr ? ` inside [manila] export_cidr = ${opts.exportCidr}` : ''} (${exports.length} in all)`,
      )
    return location
  }

  function mountSpec(share: ManilaShare, location: ExportLocation, rule: AccessRule): ShareMount {
    const options = mountOptions('nfs', 'rw', share.metadata[MOUNT_FLAGS_KEY])
    if (share.share_proto.toUpperCase() !== 'CEPHFS')
      return { proto: 'NFS', export: location.path, options }
    if (!rule.access_key)
      throw new VolumeStateError(
        `Manila gave no access key for cephx rule ${rule.id} of share ${share.id}; check the share's access rules`,
      )
    return {
      proto: 'CEPHFS',
      export: location.path,
      cephxId: rule.access_to,
      key: rule.access_key,
      options,
    }
  }

  async function adopt(name: string, options: Readonly<Record<string, string>>) {
    const id = options.volume_id as string
    const { r: s, md } = names.adoption(await api.getShare(id), id, name)
    if (s.status !== 'available')
      throw new VolumeStateError(
        `Manila share ${id} is "${s.status}"; adopt it once it is available`,
      )
    const metadata = await api.metadata.set(id, md)
    deps.log.info({ share: id, name }, 'adopted an existing Manila share')
    return toBackend(remember({ ...s, metadata }))
  }

  /** Deletes what a failed create made: by id, only while nobody has access and it carries its marker. */
  async function discard(made: MadeResource, log: Logger): Promise<DiscardOutcome> {
    let s = await api.getShare(made.id)
    if (s?.status === 'creating')
      s = await api.waitForShare(made.id, ['available'], { timeoutMs: 20_000 }).catch(() => s)
    if (!s || s.status === 'deleting') return { kind: 'gone' }
    if (s.metadata[CREATED_BY_KEY] !== made.marker)
      return { kind: 'kept', why: "it does not carry this create's marker" }
    if (!['available', 'error'].includes(s.status))
      return { kind: 'kept', why: `it is "${s.status}"` }
    const rules = await api.listAccessRules(s.id)
    if (rules.length)
      return { kind: 'kept', why: `${rules.length} access rule(s) give hosts access` }
    await api.deleteShare(s.id)
    const name = names.dockerName(s)
    if (seen.get(name)?.share.id === s.id) seen.delete(name)
    log.info({ share: s.id }, 'deleted the Manila share a failed create made')
    return { kind: 'deleted' }
  }

  return {
    name: PROVIDER_NAME,
    scope: 'global',
    parseOptions: (o) => parseManilaOptions(o, opts.defaults),

    async create(name, options, ctx = detachedCreate(deps.log)) {
      const existing = await find(name)
      if (existing) return toBackend(existing)
      if (options.volume_id) return adopt(name, options)
      const flags = mountFlagsOf(options)
      const s = await createUntilAvailable({
        one: 'Manila share',
        name,
        ctx,
        create: () =>
          api.createShare({
            name,
            share_proto: options.share_proto as string,
            size: Number(options.size),
            share_type: options.share_type,
            share_network_id: options.share_network,
            availability_zone: options.availability_zone,
            snapshot_id: options.snapshot_id,
            description: options.description,
            metadata: {
              [META.owner]: opts.volumeFrom,
              [CREATED_BY_KEY]: ctx.marker,
              ...(flags ? { [MOUNT_FLAGS_KEY]: flags } : {}),
            },
          }),
        waitAvailable: (id) => api.waitForShare(id, ['available'], { timeoutMs: CREATE_WAIT_MS }),
        rivals: () => names.named(name),
        discard: (made) => discard(made, ctx.log),
      })
      return toBackend(remember(s, { rules: [] }))
    },

    discard: (made, log) => discard(made, log),

    async exists(id) {
      const s = await api.getShare(id)
      return s !== undefined && s.status !== 'deleting'
    },

    async remove(name, ctx) {
      const known = fresh(name)
      const share = known?.share ?? (await find(name))
      if (!share) return
      const log = (ctx?.log ?? deps.log).child({ share: share.id, name })
      let rules: AccessRule[]
      try {
        rules = await api.listAccessRules(share.id)
      } catch (e) {
        // Deleted elsewhere since we looked (Manila answers 400 "Share … not found"): gone is gone.
        if (!(e instanceof OpenStackHttpError && (e.status === 400 || e.status === 404))) throw e
        const now = await api.getShare(share.id)
        if (now && now.status !== 'deleting') throw e
        seen.delete(name)
        log.info('the Manila share was already deleted')
        return
      }
      const foreign = foreignRules(rules, want(share), me)
      if (foreign.length && !opts.removeShared)
        throw new VolumeInUseError(
          `Manila share ${share.id} ("${name}") still gives access to ${foreign.map((r) => `${r.access_type}:${r.access_to}${holders(r)}`).join(', ')}; unmount it on those hosts (or deny those rules) first, or set [manila] remove_shared = true`,
        )
      await ctx?.deleting(share.id)
      if (!(await api.deleteShare(share.id))) return
      await api.waitForShare(share.id, [], { timeoutMs: REMOVE_WAIT_MS, goneIsSuccess: true })
      seen.delete(name)
      log.info({ rules: rules.length }, 'Manila share deleted')
    },

    async get(name) {
      const share = await find(name)
      if (!share) return undefined
      // For Status, and for the Mount dockerd sends next: who has access, and where it is exported.
      const [rules, exports] = await Promise.all([
        api.listAccessRules(share.id),
        api.exportLocations(share.id),
      ])
      remember(share, { rules, exports })
      return toBackend(share)
    },

    async list() {
      const all = await names.listAll(
        (dups) =>
          deps.log.warn(
            dups,
            'two Manila shares share a fuxi name; Docker sees the first; rename or delete one',
          ),
        (bad) =>
          deps.log.warn(
            bad,
            'Manila share marked for fuxi has a name that cannot be a Docker volume name; not listed (rename it)',
          ),
      )
      return all.map((s) => toBackend(remember(s)))
    },

    async mount(name, mountpoint, ctx) {
      let { share, rules, exports } = await look(name)
      const ready = () => {
        if (share.status !== 'available')
          throw new VolumeStateError(
            `Manila share ${share.id} ("${name}") is "${share.status}"; retry when it is available`,
          )
        return exportFor(share, exports)
      }
      let location = ready()
      await ctx.step('attaching')
      const { rule, created, joined } = await grant(share, rules, ctx.log).catch(
        async (e: unknown) => {
          // What we knew was stale (the share changed since): look again once.
          if (!(e instanceof OpenStackHttpError && e.status === 404)) throw e
          seen.delete(name)
          ;({ share, rules, exports } = await look(name))
          location = ready()
          return grant(share, rules, ctx.log)
        },
      )
      const spec = mountSpec(share, location, rule)
      try {
        await ctx.step('mounting')
        if (!(await host.mountAt(mountpoint))) await mounter.mount(name, spec, mountpoint)
      } catch (e) {
        // Undo a grant made for this mount (even with keep_access: no mount came of it); of a
        // rule another host uses, take back only this host's mark on it.
        if (created || joined)
          await withDeadline(BUDGET_MS.rollback, `rollback of the mount of ${name}`, () =>
            created
              ? ungrant(share, [rule], ctx.log, false)
              : api.deleteAccessMetadata(rule.id, hostKey(me)),
          ).catch((err: unknown) =>
            ctx.log.error(
              { err, rule: rule.id },
              'rollback of the access rule failed; the next mount reuses the rule and the last unmount denies it',
            ),
          )
        throw e
      }
      remember(share, { rules: [...rules.filter((r) => r.id !== rule.id), rule], exports })
      return spec.export
    },

    async unmount(name, mountpoint, ctx) {
      if (await host.mountAt(mountpoint)) await host.unmount(mountpoint)
      await mounter.forget(name)
      const share = fresh(name)?.share ?? (await find(name))
      if (share) {
        const rules = await api.listAccessRules(share.id)
        await ungrant(share, rules, ctx.log)
        seen.delete(name) // the rules changed
        remember(share)
      }
      await removeMountpoint(mountpoint, ctx.log)
    },

    async inspect(targets) {
      // Local only (the mount table): works while the cloud is unreachable.
      const mounts = new Map((await host.mounts()).map((m) => [m.mountPoint, m.source]))
      const out = new Map<string, { mounted: boolean; devices: string[] }>()
      for (const t of targets) {
        const source = mounts.get(t.mountpoint)
        out.set(t.name, { mounted: source !== undefined, devices: source ? [source] : [] })
      }
      return out
    },

    describe(name) {
      const s = seen.get(name)
      if (!s) return {}
      const location = s.exports && chooseExport(s.exports, opts.exportCidr)
      return {
        share_id: s.share.id,
        share_proto: s.share.share_proto,
        manila_status: s.share.status,
        size_gib: s.share.size,
        share_type: s.share.share_type_name ?? null,
        availability_zone: s.share.availability_zone ?? null,
        ...(s.exports ? { export_path: location?.path ?? null } : {}),
        ...(s.rules
          ? {
              access: s.rules.map((r) => ({
                type: r.access_type,
                to: r.access_to,
                level: r.access_level,
                state: r.state,
                this_host: r.metadata?.[hostKey(me)] !== undefined,
              })),
            }
          : {}),
      }
    },
  }
}
