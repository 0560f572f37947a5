import type { VolumeConnector } from '../../connectors/connector.ts'
import { BUDGET_MS, withDeadline } from '../../deadline.ts'
import {
  InvalidRequestError,
  VolumeInUseError,
  VolumeNotFoundError,
  VolumeStateError,
} from '../../errors.ts'
import type { Host } from '../../host/host.ts'
import type { Logger } from '../../log.ts'
import type { CinderVolume, ConnectorProperties as Connector } from '../../openstack/cinder.ts'
import {
  ensureFilesystem,
  MOUNT_FLAGS_KEY,
  mountFlagOptions,
  mountFlagsOf,
  mountOnce,
  mountOptions,
  removeMountpoint,
} from '../../volumes/filesystem.ts'
import type {
  BackendVolume,
  DiscardOutcome,
  OpContext,
  VolumeProvider,
} from '../../volumes/provider.ts'
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
import { attachHere } from './attach-here.ts'
import {
  ACCESS_KEY,
  type AttachPolicy,
  attachmentKey,
  attachState,
  FORMATTING_KEY,
  type Holder,
  holdersOf,
  holderValue,
  parseHolderValue,
  transitional,
} from './attach-state.ts'
import { type AttachmentRecord, attachmentRecords } from './attachment-records.ts'
import type { AttachFlow, CinderApi, FlowDeps } from './flow.ts'
import { hostAttachments } from './host-attachments.ts'
import { type CinderOptionDefaults, parseCinderOptions } from './options.ts'

export type { CinderApi, FlowDeps } from './flow.ts'

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
/** Metadata keys fuxi keeps on a volume (the first two are the original fuxi's). */
export const META = {
  owner: OWNER_KEY,
  fstype: 'fstype',
  formatted: 'fuxi_formatted',
  dockerName: DOCKER_NAME_KEY,
} as const

export interface CinderProviderOptions {
  /** The `volume_from` metadata value that marks fuxi's volumes. */
  readonly volumeFrom: string
  /** List and look up volumes in every project (admin). */
  readonly allTenants: boolean
  readonly defaults: CinderOptionDefaults
  /** This host as Cinder sees it (its `host` is this host's id). */
  readonly connector: Connector
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

/** Default [cinder] takeover_after. */
export const TAKEOVER_AFTER_MS = 300_000

/** Why a volume a failed create made must stay (undefined: it may be deleted). */
function unusedByMarker(v: CinderVolume, marker: string): string | undefined {
  if (v.metadata[CREATED_BY_KEY] !== marker) return "it does not carry this create's marker"
  if (v.attachments.length || !['available', 'error'].includes(v.status))
    return `it is "${v.status}" with ${v.attachments.length} attachment(s)`
  if (v.metadata[META.formatted] === 'true') return 'it has been formatted (and maybe written)'
  return undefined
}

/** A volume read this recently (e.g. by the Get dockerd sends before Remove) is not read again. */
const FRESH_MS = 30_000

const describeHolder = (h: Holder) =>
  `${h.host} (attachment ${h.attachmentId}, ${h.mode === 'rw' ? 'read-write' : 'read-only'})`

/**
 * Docker volumes as Cinder volumes: a volume named like the Docker volume and marked with
 * `volume_from`. Create makes it; the first Mount attaches it to this host (attachments API with
 * this host's connector), formats it once, mounts it; the last Unmount unmounts, disconnects and
 * deletes the attachment. This host's attachments are recorded locally (Cinder does not show
 * non-admins whose attachment is whose) and in the volume's metadata (for the other hosts), with
 * heartbeats that tell the others this host is alive.
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
  const { api, host } = deps
  const me = opts.identity ?? opts.connector.host
  const records = attachmentRecords(opts.stateDir)
  const seen = new Map<string, { v: CinderVolume; at: number }>()

  const names = cloudNames<CinderVolume>({
    kind: 'Cinder volumes',
    one: 'Cinder volume',
    volumeFrom: opts.volumeFrom,
    allTenants: opts.allTenants,
    list: (f) => api.listVolumes(f),
  })
  const { dockerName } = names
  const remember = (v: CinderVolume) => {
    const name = dockerName(v)
    if (name) seen.set(name, { v, at: Date.now() })
    return v
  }
  const cachedLook = (name: string) => {
    const c = seen.get(name)
    return c && Date.now() - c.at < FRESH_MS ? c.v : undefined
  }
  const toBackend = (v: CinderVolume): BackendVolume => ({
    name: dockerName(v) || v.id,
    createdAt: cloudTime(v.created_at),
    options: {
      size: String(v.size),
      fstype: v.metadata[META.fstype] || opts.defaults.fstype,
      multiattach: String(v.multiattach),
      ...(v.volume_type ? { volume_type: v.volume_type } : {}),
      ...(v.availability_zone ? { availability_zone: v.availability_zone } : {}),
      ...(v.metadata[ACCESS_KEY] ? { access: v.metadata[ACCESS_KEY] } : {}),
      ...mountFlagOptions(v.metadata[MOUNT_FLAGS_KEY]),
    },
  })
  const owned = () => names.owned

  async function find(name: string): Promise<CinderVolume | undefined> {
    const v = await names.find(name)
    if (!v) seen.delete(name)
    return v && remember(v)
  }
  async function mustFind(name: string): Promise<CinderVolume> {
    const v = await find(name)
    if (!v) throw new VolumeNotFoundError(name)
    return v
  }

  const viaNova = deps.flow !== undefined
  const flowDeps: FlowDeps = { ...deps, records, me }
  const flow: AttachFlow = deps.flow
    ? deps.flow(flowDeps)
    : hostAttachments({ ...flowDeps, connector: opts.connector, orphanGraceMs: opts.orphanGraceMs })
  const { detach } = flow
  const policy = (v: CinderVolume): AttachPolicy => ({
    holder: viaNova ? 'instance' : 'host',
    takeover: viaNova ? 'never' : (opts.takeover ?? 'never'),
    takeoverAfterMs: opts.takeoverAfterMs ?? TAKEOVER_AFTER_MS,
    readonlyMany: v.metadata[ACCESS_KEY] === 'readonly-many',
    now: Date.now(),
  })

  /** Undo this host's attachment of `name` (unmounted first), and forget it. */
  async function release(name: string, r: AttachmentRecord, mountpoint: string, log: Logger) {
    if (await host.mountAt(mountpoint)) await host.unmount(mountpoint)
    await detach(r.volumeId, r.attachmentId, r.connectionInfo, log)
    await records.drop(name)
    const cached = seen.get(name)?.v
    if (cached) {
      const left = cached.attachments.filter((a) => a.attachment_id !== r.attachmentId)
      remember({ ...cached, attachments: left, status: left.length ? 'in-use' : 'available' })
    }
  }

  /** `-o volume_id=`: make an existing Cinder volume this Docker volume, without renaming it. */
  async function adopt(name: string, options: Readonly<Record<string, string>>) {
    const id = options.volume_id as string
    const { r: v, md } = names.adoption(await api.getVolume(id), id, name)
    const state = attachState(v, me)
    if (state.kind === 'ERROR' || state.kind === 'TRANSITIONAL')
      throw new VolumeStateError(
        `Cinder volume ${id} is "${state.status}"; adopt it once it is available`,
      )
    if (!v.metadata[META.fstype]) md[META.fstype] = options.fstype ?? opts.defaults.fstype
    const metadata = await api.metadata.set(id, md)
    deps.log.info({ volume: id, name }, 'adopted an existing Cinder volume')
    return toBackend(remember({ ...v, metadata }))
  }

  /** Deletes what a failed create made: by id, only while it is unused and carries its marker. */
  async function discard(made: MadeResource, log: Logger): Promise<DiscardOutcome> {
    let v = await api.getVolume(made.id)
    if (v?.status === 'creating')
      v = await api.waitForVolume(made.id, ['available'], { timeoutMs: 20_000 }).catch(() => v)
    if (!v || v.status === 'deleting') return { kind: 'gone' }
    const kept = unusedByMarker(v, made.marker)
    if (kept) return { kind: 'kept', why: kept }
    await api.deleteVolume(v.id)
    const name = dockerName(v)
    if (seen.get(name)?.v.id === v.id) seen.delete(name)
    log.info({ volume: v.id }, 'deleted the Cinder volume a failed create made')
    return { kind: 'deleted' }
  }

  /**
   * The filesystem to mount: the recorded one, or a new one made now. A blank volume is formatted
   * only by a host that writes it, while no other host has it attached and no other host is
   * formatting it (its claim is in the metadata): never two mkfs on one volume.
   */
  async function filesystemOf(
    name: string,
    a: Awaited<ReturnType<typeof attachHere>>,
    device: string,
    ctx: OpContext,
  ): Promise<{ fstype: string; writes: Record<string, string>; claimed: boolean }> {
    const md = a.metadata
    const fstype = md[META.fstype] || opts.defaults.fstype
    if (md[META.formatted] === 'true') return { fstype, writes: {}, claimed: false }
    if (a.record.mode === 'ro')
      throw new VolumeStateError(
        `volume "${name}" has never been formatted, and this host may only read it: mount it first where it is written`,
      )
    const others = holdersOf(a.volume).filter(
      (h) => h.attachmentId !== a.record.attachmentId && h.host !== me,
    )
    const formatting = md[FORMATTING_KEY] ? parseHolderValue(md[FORMATTING_KEY]) : undefined
    if (formatting && formatting.host !== me)
      throw new VolumeStateError(
        `volume "${name}" is being formatted by ${formatting.host}; retry once it is done`,
      )
    if (others.length)
      throw new VolumeStateError(
        `volume "${name}" is not formatted yet and is attached to ${others.map((h) => h.host).join(', ')}, which may be formatting it; retry in a moment`,
      )
    let claimed = false
    const resuming = ctx.interruptedAt === 'formatting' && formatting?.host === me
    const made = await ensureFilesystem(
      host,
      { name, device, fstype },
      {
        ...ctx,
        interruptedAt: resuming ? 'formatting' : undefined,
        step: async (s) => {
          if (s === 'formatting' && !claimed) {
            await api.metadata.set(a.record.volumeId, {
              [FORMATTING_KEY]: holderValue(me, 'rw', Date.now()),
            })
            claimed = true
          }
          await ctx.step(s)
        },
      },
    )
    return { fstype: made, writes: { [META.fstype]: made, [META.formatted]: 'true' }, claimed }
  }

  return {
    name: PROVIDER_NAME,
    scope: 'global',
    parseOptions: (o) => parseCinderOptions(o, opts.defaults),

    async create(name, options, ctx = detachedCreate(deps.log)) {
      const existing = await find(name)
      if (existing) return toBackend(existing)
      if (options.volume_id) return adopt(name, options)
      const flags = mountFlagsOf(options)
      const v = await createUntilAvailable({
        one: 'Cinder volume',
        name,
        ctx,
        create: () =>
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
              ...owned(),
              [META.fstype]: options.fstype ?? opts.defaults.fstype,
              [CREATED_BY_KEY]: ctx.marker,
              ...(options.access === 'readonly-many' ? { [ACCESS_KEY]: 'readonly-many' } : {}),
              ...(flags ? { [MOUNT_FLAGS_KEY]: flags } : {}),
            },
          }),
        waitAvailable: (id) => api.waitForVolume(id, ['available'], { timeoutMs: CREATE_WAIT_MS }),
        rivals: () => names.named(name),
        discard: (made) => discard(made, ctx.log),
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
      return toBackend(remember(v))
    },

    discard: (made, log) => discard(made, log),

    async exists(id) {
      const v = await api.getVolume(id)
      return v !== undefined && v.status !== 'deleting'
    },

    async remove(name, ctx) {
      const cached = cachedLook(name)
      let v = cached ?? (await find(name))
      if (!v) return
      const log = (ctx?.log ?? deps.log).child({ volume: v.id, name })
      const mine = await records.read(name)
      if (mine) {
        await release(name, mine, '', log) // unmounted by the service already
        v = (await api.waitForVolume(v.id, ['available', 'in-use'], { timeoutMs: 20_000 })) ?? v
      }
      const recorded = mine?.volumeId === v.id ? mine.attachmentId : undefined
      const refuse = (w: CinderVolume) => {
        const state = attachState(w, me, recorded)
        const others =
          state.kind === 'ATTACHED_TO_OTHER' || state.kind === 'ATTACHED_TO_THIS'
            ? state.others
            : []
        if (others.length)
          throw new VolumeInUseError(
            `volume "${name}" is attached to ${others.map(describeHolder).join(', ')}; stop its containers there first`,
          )
        if (state.kind === 'TRANSITIONAL') throw new VolumeStateError(transitional(name, w, state))
      }
      if (attachState(v, me, recorded).kind !== 'NOT_ATTACHED') {
        v = cached === v ? await find(name) : v // refuse only on a fresh look
        if (!v) return
        refuse(v)
        const state = attachState(v, me, recorded)
        if (state.kind === 'ATTACHED_TO_THIS') {
          // attached here without a record (state lost): detach first
          for (const h of state.mine) await detach(v.id, h.attachmentId, undefined, log)
          await api.waitForVolume(v.id, ['available'], { timeoutMs: 20_000 })
        }
      }
      await ctx?.deleting(v.id)
      try {
        await api.deleteVolume(v.id)
      } catch (e) {
        // Cinder refuses to delete an attached volume: say where it is attached, from a fresh look.
        const now = await find(name)
        if (now) refuse(now)
        throw e
      }
      await api.waitForVolume(v.id, [], { timeoutMs: REMOVE_WAIT_MS, goneIsSuccess: true })
      seen.delete(name)
      log.info('Cinder volume deleted')
    },

    async get(name) {
      const v = await find(name)
      return v && toBackend(v)
    },

    async list() {
      const all = await names.listAll(
        (dups) =>
          deps.log.warn(
            dups,
            'two Cinder volumes share a fuxi name; Docker sees the first; rename or delete one',
          ),
        (bad) =>
          deps.log.warn(
            bad,
            'Cinder volume marked for fuxi has a name that cannot be a Docker volume name; not listed (rename it)',
          ),
      )
      return all.map((v) => toBackend(remember(v)))
    },

    async mount(name, mountpoint, ctx) {
      const unfinished = await records.read(name)
      if (unfinished && !unfinished.completed) {
        // A mount died (or its rollback failed) between attaching and completing: undo it first.
        ctx.log.warn(
          { attachment: unfinished.attachmentId },
          'removing an attachment an interrupted mount left',
        )
        await release(name, unfinished, mountpoint, ctx.log)
      }
      // Right after Create (or a Get) the volume is known: no lookup. A refusal is made only
      // from a fresh look.
      const cached = cachedLook(name)
      const v = cached ?? (await mustFind(name))
      const a = await attachHere({
        name,
        v,
        fresh: cached === undefined,
        me,
        api,
        flow,
        records,
        policy,
        look: () => mustFind(name),
        ctx,
        settleMs: opts.settleMs,
      })
      const { record, created } = a
      try {
        const device = await flow.connect(record, ctx.log)
        const current = await host.mountAt(mountpoint)
        if (current?.source !== device) {
          const busy = await host.deviceInUse(device)
          if (busy)
            throw new VolumeStateError(
              `Cinder's connection info for volume ${record.volumeId} ("${name}") gives ${device}, and ${busy}: fuxi neither formats nor mounts it; check the volume type's back end`,
            )
        }
        const fs = await filesystemOf(name, a, device, ctx)
        // The filesystem is recorded before the attachment completes: the next host to attach
        // (only possible once it completes) finds it formatted.
        if (Object.keys(fs.writes).length) await api.metadata.set(record.volumeId, fs.writes)
        await Promise.all([
          fs.claimed ? api.metadata.deleteKey(record.volumeId, FORMATTING_KEY) : undefined,
          record.completed ? undefined : flow.complete(record),
        ])
        if (!record.completed) await records.write(name, { ...record, completed: true })
        const md = { ...a.metadata, ...fs.writes }
        await mountOnce(host, device, mountpoint, fs.fstype, ctx, {
          options: mountOptions(fs.fstype, record.mode ?? 'rw', md[MOUNT_FLAGS_KEY]),
        })
        remember({
          ...a.volume,
          status: 'in-use',
          metadata: md,
          attachments: created
            ? [
                ...a.volume.attachments,
                { attachment_id: record.attachmentId, host_name: me, server_id: null },
              ]
            : a.volume.attachments,
        })
        return device
      } catch (e) {
        if (created)
          await withDeadline(BUDGET_MS.rollback, `rollback of the mount of ${name}`, () =>
            release(name, record, mountpoint, ctx.log),
          ).catch((err: unknown) =>
            ctx.log.error(
              { err, attachment: record.attachmentId },
              'rollback of the attachment failed; the next mount or reconcile finishes it',
            ),
          )
        throw e
      }
    },

    async unmount(name, mountpoint, ctx) {
      const mine = await records.read(name)
      if (mine) await release(name, mine, mountpoint, ctx.log)
      else {
        if (await host.mountAt(mountpoint)) await host.unmount(mountpoint)
        // No record (state lost, or a mount died before it wrote one): this host's attachments
        // by Cinder's view (its host id only), and a pending one nobody claims (a create whose
        // answer was lost) so that the volume is not left "attaching".
        const v = await find(name)
        const state = v && attachState(v, me)
        if (v && state?.kind === 'ATTACHED_TO_THIS')
          for (const h of state.mine) await detach(v.id, h.attachmentId, undefined, ctx.log)
        if (v && (v.status === 'attaching' || v.status === 'reserved'))
          await flow.takeBackOrphans?.(v.id, ctx.log)
      }
      await removeMountpoint(mountpoint, ctx.log)
    },

    async inspect(targets) {
      // Local only (mount table and attachment records): works while the cloud is unreachable.
      const [mounts, attached] = await Promise.all([host.mounts(), records.names()])
      const mounted = new Set(mounts.map((m) => m.mountPoint))
      const out = new Map<string, { mounted: boolean; devices: string[] }>()
      for (const t of targets) {
        const r = attached.has(t.name) ? await records.read(t.name) : undefined
        out.set(t.name, { mounted: mounted.has(t.mountpoint), devices: r ? [r.attachmentId] : [] })
      }
      return out
    },

    /**
     * Tells the other hosts this host is alive: refreshes the holder key of every attachment it
     * has. Returns how many were refreshed; a failure is logged, and the next beat tries again.
     */
    async heartbeat() {
      const mine = []
      for (const name of await records.names()) {
        const r = await records.read(name).catch(() => undefined)
        if (r?.completed) mine.push({ name, r })
      }
      if (!mine.length) return 0
      // One listing for every volume this host holds (a volume not in it is looked at alone).
      const listed = new Map(
        (
          await api
            .listVolumes({ metadata: owned(), ...(opts.allTenants ? { allTenants: true } : {}) })
            .catch(() => [])
        ).map((v) => [v.id, v]),
      )
      let n = 0
      for (const { name, r } of mine) {
        try {
          // Only for an attachment that still exists: never a key for one another host deleted.
          const v = listed.get(r.volumeId) ?? (await api.getVolume(r.volumeId))
          if (!v?.attachments.some((x) => x.attachment_id === r.attachmentId)) {
            deps.log.error(
              { volume: r.volumeId, attachment: r.attachmentId, name },
              `this host's attachment of volume "${name}" is gone (taken over by another host, or deleted in Cinder): its containers no longer have the volume safely; stop them`,
            )
            continue
          }
          await api.metadata.set(r.volumeId, {
            [attachmentKey(r.attachmentId)]: holderValue(me, r.mode ?? 'rw', Date.now()),
          })
          n++
        } catch (err) {
          deps.log.warn({ err, volume: r.volumeId, name }, 'heartbeat not written')
        }
      }
      return n
    },

    describe(name) {
      const v = seen.get(name)?.v
      if (!v) return {}
      return {
        volume_id: v.id,
        cinder_status: v.status,
        size_gib: v.size,
        volume_type: v.volume_type ?? null,
        availability_zone: v.availability_zone ?? null,
        multiattach: v.multiattach,
        attached_to: holdersOf(v).map((h) => `${h.host}${h.mode === 'ro' ? ' (read-only)' : ''}`),
        fstype: v.metadata[META.fstype] || opts.defaults.fstype,
        formatted: v.metadata[META.formatted] === 'true',
      }
    },
  }
}
