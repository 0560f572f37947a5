import type { VolumeConnector } from '../../connectors/connector.ts'
import { InvalidRequestError, VolumeInUseError, VolumeStateError } from '../../errors.ts'
import type { Host } from '../../host/host.ts'
import type { Logger } from '../../log.ts'
import type { CinderVolume, ConnectorProperties } from '../../openstack/cinder.ts'
import { MOUNT_FLAGS_KEY, mountFlagOptions, mountFlagsOf } from '../../volumes/filesystem.ts'
import { encodeLayout, LAYOUT_KEY, layoutOptions } from '../../volumes/layout.ts'
import { MOUNT_OPTIONS_KEY } from '../../volumes/mount-options.ts'
import type { BackendVolume, VolumeProvider } from '../../volumes/provider.ts'
import { CREATED_BY_KEY, cloudTime, detachedCreate } from '../cloud-names.ts'
import { cloudResources } from '../cloud-resources.ts'
import type { AttachFlow, CinderApi, FlowDeps } from './attach-flow.ts'
import {
  ACCESS_KEY,
  type AttachPolicy,
  attachState,
  type Holder,
  holdersOf,
  transitional,
} from './attach-state.ts'
import { attachmentRecords } from './attachment-records.ts'
import { cinderMounts } from './cinder-mounts.ts'
import { hostAttachments } from './host-attachments.ts'
import { META } from './meta.ts'
import { type CinderOptionDefaults, parseCinderOptions } from './options.ts'

export type { CinderApi, FlowDeps } from './attach-flow.ts'
export { META } from './meta.ts'

export const PROVIDER_NAME = 'cinder'
/**
 * Create waits this long for `available`: with its two other calls (each bounded by [cinder]
 * timeout) it stays inside dockerd's 120 s for Create.
 */
export const CREATE_WAIT_MS = 60_000
/**
 * Remove waits this long for the volume to be gone (dockerd gives Remove 60 s). A slower delete
 * goes on in Cinder; the next Remove sees it "deleting", then gone.
 */
export const REMOVE_WAIT_MS = 25_000
/** Default [cinder] takeover_after. */
export const TAKEOVER_AFTER_MS = 300_000

export interface CinderProviderOptions {
  /** The `volume_from` metadata value that marks fuxi's volumes. */
  readonly volumeFrom: string
  /** List and look up volumes in every project (admin). */
  readonly allTenants: boolean
  readonly defaults: CinderOptionDefaults
  /** This host as Cinder sees it (its `host` is this host's id). */
  readonly connector: ConnectorProperties
  /** Who this host is in attachments: its Nova instance id with the Nova flow, else its host id. */
  readonly identity?: string
  /** Where this host's attachment records live (`<state_dir>/cinder`). */
  readonly stateDir: string
  /** A volume another host holds: refuse (never), or take it from a holder that is gone. */
  readonly takeover?: 'never' | 'stale' | 'force'
  /** A holder silent this long is gone (takeover = stale or force). */
  readonly takeoverAfterMs?: number
  /** Waits on other hosts' operations (defaults: SETTLE_WAIT_MS, ORPHAN_GRACE_MS); tests shorten them. */
  readonly settleMs?: number
  readonly orphanGraceMs?: number
}

const describeHolder = (h: Holder) =>
  `${h.host} (attachment ${h.attachmentId}, ${h.mode === 'rw' ? 'read-write' : 'read-only'})`

/**
 * Docker volumes as Cinder volumes: a volume named like the Docker volume and marked with
 * `volume_from`. Create makes it; the first Mount attaches it to this host (cinder-mounts.ts);
 * Remove deletes it unless another host holds it. This host's attachments are recorded locally
 * (Cinder does not show non-admins whose attachment is whose) and in the volume's metadata (for
 * the other hosts), with heartbeats that tell the others this host is alive.
 */
export function createCinderProvider(
  opts: CinderProviderOptions,
  deps: {
    api: CinderApi
    host: Host
    connectors: readonly VolumeConnector[]
    log: Logger
    /** The Nova flow (volume_connector = openstack); the attachments API with this host otherwise. */
    flow?: (d: FlowDeps) => AttachFlow
  },
): VolumeProvider {
  const { api } = deps
  const me = opts.identity ?? opts.connector.host
  const records = attachmentRecords(opts.stateDir)
  const volumes = cloudResources<CinderVolume>(
    {
      one: 'Cinder volume',
      kind: 'Cinder volumes',
      volumeFrom: opts.volumeFrom,
      allTenants: opts.allTenants,
      list: (f) => api.listVolumes(f),
      get: (id) => api.getVolume(id),
      waitAvailable: (id, timeoutMs) => api.waitForVolume(id, ['available'], { timeoutMs }),
      delete: (id) => api.deleteVolume(id),
      setMetadata: (id, md) => api.metadata.set(id, md),
      whyKeep: async (v) =>
        v.attachments.length
          ? `it has ${v.attachments.length} attachment(s)`
          : v.metadata[META.formatted] === 'true'
            ? 'it has been formatted (and maybe written)'
            : undefined,
    },
    deps.log,
  )
  const fstypeOf = (v: CinderVolume) => v.metadata[META.fstype] || opts.defaults.fstype
  const toBackend = (v: CinderVolume): BackendVolume => ({
    name: volumes.dockerName(v) || v.id,
    createdAt: cloudTime(v.created_at),
    options: {
      size: String(v.size),
      fstype: fstypeOf(v),
      multiattach: String(v.multiattach),
      ...(v.volume_type ? { volume_type: v.volume_type } : {}),
      ...(v.availability_zone ? { availability_zone: v.availability_zone } : {}),
      ...(v.metadata[ACCESS_KEY] ? { access: v.metadata[ACCESS_KEY] } : {}),
      ...mountFlagOptions(v.metadata[MOUNT_FLAGS_KEY]),
      ...layoutOptions(v.metadata[LAYOUT_KEY]),
      ...(v.metadata[MOUNT_OPTIONS_KEY] ? { mount_options: v.metadata[MOUNT_OPTIONS_KEY] } : {}),
    },
  })

  const viaNova = deps.flow !== undefined
  const flowDeps: FlowDeps = { ...deps, records, me }
  const flow: AttachFlow = deps.flow
    ? deps.flow(flowDeps)
    : hostAttachments({ ...flowDeps, connector: opts.connector, orphanGraceMs: opts.orphanGraceMs })
  const policy = (v: CinderVolume): AttachPolicy => ({
    holder: viaNova ? 'instance' : 'host',
    takeover: viaNova ? 'never' : (opts.takeover ?? 'never'),
    takeoverAfterMs: opts.takeoverAfterMs ?? TAKEOVER_AFTER_MS,
    readonlyMany: v.metadata[ACCESS_KEY] === 'readonly-many',
    now: Date.now(),
  })
  const mounts = cinderMounts({
    ...deps,
    flow,
    records,
    volumes,
    policy,
    me,
    defaultFstype: opts.defaults.fstype,
    allTenants: opts.allTenants,
    settleMs: opts.settleMs,
  })

  /** The error for a volume another host holds, or one in transition; nothing when free. */
  const refusal = (name: string, v: CinderVolume, recorded: string | undefined) => {
    const state = attachState(v, me, recorded)
    const others =
      state.kind === 'ATTACHED_TO_OTHER' || state.kind === 'ATTACHED_TO_THIS' ? state.others : []
    if (others.length)
      return new VolumeInUseError(
        `volume "${name}" is attached to ${others.map(describeHolder).join(', ')}; stop its containers there first`,
      )
    if (state.kind === 'TRANSITIONAL') return new VolumeStateError(transitional(name, v, state))
    return undefined
  }

  return {
    name: PROVIDER_NAME,
    scope: 'global',
    parseOptions: (o) => parseCinderOptions(o, opts.defaults),

    async create(name, options, ctx = detachedCreate(deps.log)) {
      const flags = mountFlagsOf(options)
      const id = options.volume_id
      const { r: v } = await volumes.create(name, ctx, {
        waitMs: CREATE_WAIT_MS,
        adopt: id
          ? () =>
              volumes.adopt(
                name,
                id,
                (v) => {
                  const state = attachState(v, me)
                  if (state.kind === 'ERROR' || state.kind === 'TRANSITIONAL')
                    throw new VolumeStateError(
                      `Cinder volume ${id} is "${state.status}"; adopt it once it is available`,
                    )
                },
                (v): Record<string, string> =>
                  v.metadata[META.fstype]
                    ? {}
                    : { [META.fstype]: options.fstype ?? opts.defaults.fstype },
              )
          : undefined,
        make: () =>
          api.createVolume({
            name,
            size: Number(options.size),
            volume_type: options.volume_type,
            availability_zone: options.availability_zone,
            snapshot_id: options.snapshot_id,
            source_volid: options.source_volid,
            backup_id: options.backup_id,
            description: options.description,
            metadata: {
              ...volumes.names.owned,
              [META.fstype]: options.fstype ?? opts.defaults.fstype,
              [CREATED_BY_KEY]: ctx.marker,
              ...(options.access === 'readonly-many' ? { [ACCESS_KEY]: 'readonly-many' } : {}),
              ...(flags ? { [MOUNT_FLAGS_KEY]: flags } : {}),
              ...(encodeLayout(options) ? { [LAYOUT_KEY]: encodeLayout(options) } : {}),
              ...(options.mount_options ? { [MOUNT_OPTIONS_KEY]: options.mount_options } : {}),
            },
          }),
      })
      // The caller discards what this create made when it throws from here on.
      if (options.multiattach === 'true' && !v.multiattach)
        throw new InvalidRequestError(
          `volume type "${v.volume_type ?? 'default'}" does not allow multiattach; choose a type whose extra specs have multiattach="<is> True" (-o volume_type=...)`,
          'INVALID_OPTION',
        )
      if (v.encrypted)
        throw new InvalidRequestError(
          `volume type "${v.volume_type ?? 'default'}" is encrypted, and fuxi does not support encrypted volumes yet (it would use the volume unencrypted); choose another -o volume_type`,
          'INVALID_OPTION',
        )
      return toBackend(v)
    },

    discard: (made, log) => volumes.discard(made, log),
    exists: (id) => volumes.exists(id),

    async remove(name, ctx) {
      const cached = volumes.fresh(name)?.r
      let v = cached ?? (await volumes.find(name))
      if (!v) return
      const log = (ctx?.log ?? deps.log).child({ volume: v.id, name })
      const mine = await records.read(name)
      if (mine) {
        await mounts.release(name, mine, '', log) // unmounted by the service already
        v = (await api.waitForVolume(v.id, ['available', 'in-use'], { timeoutMs: 20_000 })) ?? v
      }
      const recorded = mine?.volumeId === v.id ? mine.attachmentId : undefined
      if (attachState(v, me, recorded).kind !== 'NOT_ATTACHED') {
        v = cached === v ? await volumes.find(name) : v // refuse only on a fresh look
        if (!v) return
        const refused = refusal(name, v, recorded)
        if (refused) throw refused
        const state = attachState(v, me, recorded)
        if (state.kind === 'ATTACHED_TO_THIS') {
          // attached here without a record (state lost): detach first
          for (const h of state.mine) await flow.detach(v.id, h.attachmentId, undefined, log)
          await api.waitForVolume(v.id, ['available'], { timeoutMs: 20_000 })
        }
      }
      await ctx?.deleting(v.id)
      try {
        await api.deleteVolume(v.id)
      } catch (e) {
        // Cinder refuses to delete an attached volume: say where it is attached, from a fresh look.
        const now = await volumes.find(name)
        throw (now && refusal(name, now, recorded)) || e
      }
      await api.waitForVolume(v.id, [], { timeoutMs: REMOVE_WAIT_MS, goneIsSuccess: true })
      volumes.drop(name)
      log.info('Cinder volume deleted')
    },

    async get(name) {
      const v = await volumes.find(name)
      return v && toBackend(v)
    },

    list: async () => (await volumes.list()).map(toBackend),
    mount: mounts.mount,
    unmount: mounts.unmount,
    inspect: mounts.inspect,
    heartbeat: mounts.heartbeat,

    describe(name) {
      const v = volumes.seen(name)?.r
      if (!v) return {}
      return {
        volume_id: v.id,
        cinder_status: v.status,
        size_gib: v.size,
        volume_type: v.volume_type ?? null,
        availability_zone: v.availability_zone ?? null,
        multiattach: v.multiattach,
        attached_to: holdersOf(v).map((h) => `${h.host}${h.mode === 'ro' ? ' (read-only)' : ''}`),
        fstype: fstypeOf(v),
        formatted: v.metadata[META.formatted] === 'true',
      }
    },
  }
}
