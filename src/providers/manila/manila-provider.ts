import { BUDGET_MS, withDeadline } from '../../deadline.ts'
import { OpenStackHttpError, VolumeInUseError, VolumeStateError } from '../../errors.ts'
import type { Host } from '../../host/host.ts'
import type { Logger } from '../../log.ts'
import type { AccessRule, ExportLocation, ManilaShare } from '../../openstack/manila.ts'
import {
  MOUNT_FLAGS_KEY,
  mountFlagOptions,
  mountFlagsOf,
  removeMountpoint,
} from '../../volumes/filesystem.ts'
import type { BackendVolume, VolumeProvider } from '../../volumes/provider.ts'
import {
  CREATED_BY_KEY,
  cloudTime,
  DOCKER_NAME_KEY,
  detachedCreate,
  OWNER_KEY,
} from '../cloud-names.ts'
import { cloudResources } from '../cloud-resources.ts'
import { chooseExport, foreignRules, hostKey, otherUsers } from './access.ts'
import { accessRules } from './access-rules.ts'
import type { ManilaApi, ManilaProviderOptions } from './manila-api.ts'
import { parseManilaOptions } from './options.ts'
import { exportFor, type shareMounter, shareMountSpec } from './share-mounts.ts'

export const PROVIDER_NAME = 'manila'
/** Create waits this long for `available` (dockerd gives Create 120 s). */
export const CREATE_WAIT_MS = 60_000
/** Remove waits this long for the share to be gone (dockerd gives Remove 60 s). */
export const REMOVE_WAIT_MS = 25_000

export type { ManilaApi, ManilaProviderOptions } from './manila-api.ts'

export const META = { owner: OWNER_KEY, dockerName: DOCKER_NAME_KEY } as const

/** " (used by hosts a, b)" for a rule fuxi recorded users on; '' otherwise. */
const holders = (r: AccessRule) => {
  const users = otherUsers(r, '')
  return users.length ? ` (used by ${users.join(', ')})` : ''
}

/** What Get and Mount learn about a share besides the share: who has access, where it is exported. */
interface Access {
  rules: AccessRule[]
  exports: ExportLocation[]
}

/**
 * Docker volumes as Manila shares, named like the Docker volume and marked with `volume_from`.
 * Create makes the share only. The first Mount gives this host access (access-rules.ts) and
 * mounts the export location; the last Unmount unmounts and gives the access back. Which hosts
 * use a rule is kept in the rule's own metadata, so no local state is needed and a restart loses
 * nothing.
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
  const access = accessRules(api, opts)
  const shares = cloudResources<ManilaShare, Access>(
    {
      one: 'Manila share',
      kind: 'Manila shares',
      volumeFrom: opts.volumeFrom,
      list: (f) => api.listShares(f),
      get: (id) => api.getShare(id),
      waitAvailable: (id, timeoutMs) => api.waitForShare(id, ['available'], { timeoutMs }),
      delete: (id) => api.deleteShare(id),
      setMetadata: (id, md) => api.metadata.set(id, md),
      whyKeep: async (s) => {
        const rules = await api.listAccessRules(s.id)
        return rules.length ? `${rules.length} access rule(s) give hosts access` : undefined
      },
    },
    deps.log,
  )
  const toBackend = (s: ManilaShare): BackendVolume => ({
    name: shares.dockerName(s) || s.id,
    createdAt: cloudTime(s.created_at),
    options: {
      share_proto: s.share_proto,
      size: String(s.size),
      ...(s.share_type_name ? { share_type: s.share_type_name } : {}),
      ...(s.availability_zone ? { availability_zone: s.availability_zone } : {}),
      ...mountFlagOptions(s.metadata[MOUNT_FLAGS_KEY]),
    },
  })

  /**
   * Share, rules and export locations, from a fresh look unless a Get just made one. What a Get
   * saw is used once: a failed mount looks again next time.
   */
  async function look(name: string) {
    const known = shares.fresh(name)
    if (known) {
      shares.drop(name)
      shares.remember(known.r)
    }
    if (known?.rules && known.exports)
      return { share: known.r, rules: known.rules, exports: known.exports }
    const share = known?.r ?? (await shares.mustFind(name))
    const [rules, exports] = await Promise.all([
      api.listAccessRules(share.id),
      api.exportLocations(share.id),
    ])
    return { share, rules, exports }
  }

  return {
    name: PROVIDER_NAME,
    scope: 'global',
    parseOptions: (o) => parseManilaOptions(o, opts.defaults),

    async create(name, options, ctx = detachedCreate(deps.log)) {
      const flags = mountFlagsOf(options)
      const id = options.volume_id
      const { r: s, how } = await shares.create(name, ctx, {
        waitMs: CREATE_WAIT_MS,
        adopt: id
          ? () =>
              shares.adopt(name, id, (s) => {
                if (s.status !== 'available')
                  throw new VolumeStateError(
                    `Manila share ${id} is "${s.status}"; adopt it once it is available`,
                  )
              })
          : undefined,
        make: () =>
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
      })
      if (how === 'made') shares.remember(s, { rules: [] }) // nobody has access to a new share
      return toBackend(s)
    },

    discard: (made, log) => shares.discard(made, log),
    exists: (id) => shares.exists(id),

    async remove(name, ctx) {
      const share = shares.fresh(name)?.r ?? (await shares.find(name))
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
        shares.drop(name)
        log.info('the Manila share was already deleted')
        return
      }
      const foreign = foreignRules(rules, access.want(share), me)
      if (foreign.length && !opts.removeShared)
        throw new VolumeInUseError(
          `Manila share ${share.id} ("${name}") still gives access to ${foreign.map((r) => `${r.access_type}:${r.access_to}${holders(r)}`).join(', ')}; unmount it on those hosts (or deny those rules) first, or set [manila] remove_shared = true`,
        )
      await ctx?.deleting(share.id)
      if (!(await api.deleteShare(share.id))) return
      await api.waitForShare(share.id, [], { timeoutMs: REMOVE_WAIT_MS, goneIsSuccess: true })
      shares.drop(name)
      log.info({ rules: rules.length }, 'Manila share deleted')
    },

    async get(name) {
      const share = await shares.find(name)
      if (!share) return undefined
      // For Status, and for the Mount dockerd sends next: who has access, and where it is exported.
      const [rules, exports] = await Promise.all([
        api.listAccessRules(share.id),
        api.exportLocations(share.id),
      ])
      shares.remember(share, { rules, exports })
      return toBackend(share)
    },

    list: async () => (await shares.list()).map(toBackend),

    async mount(name, mountpoint, ctx) {
      let { share, rules, exports } = await look(name)
      const ready = () => {
        if (share.status !== 'available')
          throw new VolumeStateError(
            `Manila share ${share.id} ("${name}") is "${share.status}"; retry when it is available`,
          )
        return exportFor(share, exports, opts.exportCidr)
      }
      let location = ready()
      await ctx.step('attaching')
      const { rule, created, joined } = await access
        .grant(share, rules, ctx.log)
        .catch(async (e: unknown) => {
          // What we knew was stale (the share changed since): look again once.
          if (!(e instanceof OpenStackHttpError && e.status === 404)) throw e
          shares.drop(name)
          ;({ share, rules, exports } = await look(name))
          location = ready()
          return access.grant(share, rules, ctx.log)
        })
      const spec = shareMountSpec(share, location, rule)
      try {
        await ctx.step('mounting')
        if (!(await host.mountAt(mountpoint))) await mounter.mount(name, spec, mountpoint)
      } catch (e) {
        // Undo a grant made for this mount (even with keep_access: no mount came of it); of a
        // rule another host uses, take back only this host's mark on it.
        if (created || joined)
          await withDeadline(BUDGET_MS.rollback, `rollback of the mount of ${name}`, () =>
            created ? access.ungrant(share, [rule], ctx.log, false) : access.leave(rule),
          ).catch((err: unknown) =>
            ctx.log.error(
              { err, rule: rule.id },
              'rollback of the access rule failed; the next mount reuses the rule and the last unmount denies it',
            ),
          )
        throw e
      }
      shares.remember(share, { rules: [...rules.filter((r) => r.id !== rule.id), rule], exports })
      return spec.export
    },

    async unmount(name, mountpoint, ctx) {
      if (await host.mountAt(mountpoint)) await host.unmount(mountpoint)
      await mounter.forget(name)
      const share = shares.fresh(name)?.r ?? (await shares.find(name))
      if (share) {
        const rules = await api.listAccessRules(share.id)
        await access.ungrant(share, rules, ctx.log)
        shares.drop(name) // the rules changed
        shares.remember(share)
      }
      await removeMountpoint(mountpoint, ctx.log)
    },

    async inspect(targets) {
      // Local only (the mount table): works while the cloud is unreachable.
      const mounts = new Map((await host.mounts()).map((m) => [m.mountPoint, m.source]))
      const out = new Map<string, { mounted: boolean; held: string[] }>()
      for (const t of targets) {
        const source = mounts.get(t.mountpoint)
        out.set(t.name, { mounted: source !== undefined, held: source ? [source] : [] })
      }
      return out
    },

    describe(name) {
      const s = shares.seen(name)
      if (!s) return {}
      const location = s.exports && chooseExport(s.exports, opts.exportCidr)
      return {
        share_id: s.r.id,
        share_proto: s.r.share_proto,
        manila_status: s.r.status,
        size_gib: s.r.size,
        share_type: s.r.share_type_name ?? null,
        availability_zone: s.r.availability_zone ?? null,
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
