import { mkdir, rmdir } from 'node:fs/promises'
import { connectorFor, type VolumeConnector } from '../../connectors/connector.ts'
import {
  InvalidRequestError,
  VolumeInUseError,
  VolumeNotFoundError,
  VolumeStateError,
} from '../../errors.ts'
import type { Host } from '../../host/host.ts'
import type { Logger } from '../../log.ts'
import type {
  CinderAttachment,
  CinderClient,
  CinderVolume,
  ConnectionInfo,
  Connector,
} from '../../openstack/cinder.ts'
import { ensureFilesystem } from '../../volumes/filesystem.ts'
import type { BackendVolume, OpContext, VolumeProvider } from '../../volumes/provider.ts'
import { attachmentHost, attachmentKey, attachState } from './attach-state.ts'
import { type CinderOptionDefaults, parseCinderOptions } from './options.ts'

export const PROVIDER_NAME = 'cinder'
/** Create waits this long for `available` (dockerd gives Create 120 s). */
export const CREATE_WAIT_MS = 90_000
/** Remove waits this long for the volume to be gone (dockerd gives Remove 60 s). */
export const REMOVE_WAIT_MS = 45_000
/** Metadata keys fuxi keeps on a volume (the first two are the original fuxi's). */
export const META = { owner: 'volume_from', fstype: 'fstype', formatted: 'fuxi_formatted' } as const

/** The Cinder calls the provider makes: the real client, or a fake in unit tests. */
export type CinderApi = Pick<
  CinderClient,
  | 'createVolume'
  | 'getVolume'
  | 'listVolumes'
  | 'deleteVolume'
  | 'waitForVolume'
  | 'createAttachment'
  | 'getAttachment'
  | 'listAttachments'
  | 'completeAttachment'
  | 'deleteAttachment'
  | 'metadata'
>

export interface CinderProviderOptions {
  /** The `volume_from` metadata value that marks fuxi's volumes. */
  readonly volumeFrom: string
  /** List and look up volumes in every project (admin). */
  readonly allTenants: boolean
  readonly defaults: CinderOptionDefaults
  /** This host as Cinder sees it. */
  readonly connector: Connector
}

/**
 * Docker volumes as Cinder volumes: a volume named like the Docker volume and marked with
 * `volume_from`. Create makes it; the first Mount attaches it to this host (attachments API with
 * this host's connector), formats it once, mounts it; the last Unmount unmounts, disconnects and
 * deletes the attachment. Cinder is the source of truth for attachments, so a restarted daemon
 * finds its own by host name.
 */
export function createCinderProvider(
  opts: CinderProviderOptions,
  deps: { api: CinderApi; host: Host; connectors: readonly VolumeConnector[]; log: Logger },
): VolumeProvider {
  const { api, host } = deps
  const me = opts.connector.host
  const seen = new Map<string, CinderVolume>()

  const remember = (v: CinderVolume) => {
    if (v.name) seen.set(v.name, v)
    return v
  }
  const toBackend = (v: CinderVolume): BackendVolume => ({
    name: v.name ?? v.id,
    createdAt: new Date(`${(v.created_at ?? '').replace(/Z$/, '')}Z`).toISOString(),
    options: {
      size: String(v.size),
      fstype: v.metadata[META.fstype] || opts.defaults.fstype,
      multiattach: String(v.multiattach),
      ...(v.volume_type ? { volume_type: v.volume_type } : {}),
      ...(v.availability_zone ? { availability_zone: v.availability_zone } : {}),
    },
  })
  const owned = () => ({ [META.owner]: opts.volumeFrom })

  /** The fuxi volume of that name, if any; two of them is an error an operator must resolve. */
  async function find(name: string): Promise<CinderVolume | undefined> {
    const found = await api.listVolumes({ name, metadata: owned(), allTenants: opts.allTenants })
    if (found.length > 1)
      throw new VolumeStateError(
        `${found.length} Cinder volumes are named "${name}" with ${META.owner}=${opts.volumeFrom} (${found.map((v) => v.id).join(', ')}); rename or delete all but one`,
      )
    const v = found[0]
    if (!v) seen.delete(name)
    return v && remember(v)
  }
  async function mustFind(name: string): Promise<CinderVolume> {
    const v = await find(name)
    if (!v) throw new VolumeNotFoundError(name)
    return v
  }

  /** Disconnects and deletes one of this host's attachments (unmounted first by the caller). */
  async function detach(volumeId: string, attachmentId: string, log: Logger): Promise<void> {
    const att = await api.getAttachment(attachmentId)
    if (att) {
      await connectorFor(att.connection_info, deps.connectors).disconnect(att.connection_info, log)
      await api.deleteAttachment(attachmentId)
      log.info({ attachment: attachmentId }, 'attachment deleted')
    }
    await api.metadata.deleteKey(volumeId, attachmentKey(attachmentId))
  }

  /** After a crash between creating an attachment and completing it: drop the half-made one. */
  async function dropPending(v: CinderVolume, log: Logger): Promise<CinderVolume> {
    const pending = (await api.listAttachments(v.id)).filter(
      (a) => a.status === 'attaching' || a.status === 'reserved',
    )
    for (const a of pending) {
      log.warn(
        { attachment: a.id, status: a.status },
        'deleting an attachment a crash left unfinished',
      )
      await connectorFor(a.connection_info, deps.connectors)
        .disconnect(a.connection_info, log)
        .catch(() => {})
      await api.deleteAttachment(a.id)
      await api.metadata.deleteKey(v.id, attachmentKey(a.id))
    }
    return (await api.waitForVolume(v.id, ['available', 'in-use'], { timeoutMs: 20_000 })) ?? v
  }

  /** Attaches the volume here (or finds this host's attachment); returns it and whether it is new. */
  async function attach(
    name: string,
    v0: CinderVolume,
    ctx: OpContext,
  ): Promise<{ attachment: CinderAttachment; created: boolean }> {
    let v = v0
    if (ctx.interruptedAt === 'attaching' && (v.status === 'attaching' || v.status === 'reserved'))
      v = await dropPending(v, ctx.log)
    const state = attachState(v, me)
    switch (state.kind) {
      case 'ERROR':
        throw new VolumeStateError(
          `Cinder volume ${v.id} ("${name}") is in status "${state.status}"; it needs an operator (see cinder show ${v.id}, then reset-state or delete it)`,
        )
      case 'TRANSITIONAL':
        throw new VolumeStateError(
          `Cinder volume ${v.id} ("${name}") is "${state.status}": another operation is in progress; retry in a moment`,
        )
      case 'ATTACHED_TO_OTHER':
        if (!state.multiattach)
          throw new VolumeInUseError(
            `volume "${name}" is attached to ${state.hosts.join(', ')}; it can be used on one host at a time (stop its containers there, or create it with -o multiattach=true)`,
          )
        break
      case 'ATTACHED_TO_THIS': {
        const id = state.attachmentIds[0] as string
        const attachment = await api.getAttachment(id)
        if (attachment) return { attachment, created: false }
        break
      }
      case 'NOT_ATTACHED':
        break
    }
    await ctx.step('attaching')
    const attachment = await api.createAttachment(v.id, { connector: opts.connector, mode: 'rw' })
    ctx.log.info({ volume: v.id, attachment: attachment.id }, 'attachment created')
    // Non-admins cannot see an attachment's host: record it where every fuxi can read it.
    await api.metadata.set(v.id, { [attachmentKey(attachment.id)]: me })
    return { attachment, created: true }
  }

  return {
    name: PROVIDER_NAME,
    scope: 'global',
    parseOptions: (o) => parseCinderOptions(o, opts.defaults),

    async create(name, options) {
      const existing = await find(name)
      if (existing) return toBackend(existing)
      const created = await api.createVolume({
        name,
        size: Number(options.size),
        volume_type: options.volume_type,
        availability_zone: options.availability_zone,
        snapshot_id: options.snapshot_id,
        source_volid: options.source_volid,
        backup_id: options.backup_id,
        description: options.description,
        metadata: { ...owned(), [META.fstype]: options.fstype ?? opts.defaults.fstype },
      })
      deps.log.info({ volume: created.id, name }, 'Cinder volume created; waiting for available')
      let v: CinderVolume | undefined
      try {
        v = await api.waitForVolume(created.id, ['available'], { timeoutMs: CREATE_WAIT_MS })
      } catch (e) {
        await api.deleteVolume(created.id).catch(() => {}) // an error volume can go; a slow one stays for Remove
        throw e
      }
      if (!v) throw new VolumeStateError(`Cinder volume ${created.id} vanished while being created`)
      if (options.multiattach === 'true' && !v.multiattach) {
        await api.deleteVolume(v.id)
        throw new InvalidRequestError(
          `volume type "${v.volume_type ?? 'default'}" does not allow multiattach; choose a type whose extra specs have multiattach="<is> True" (-o volume_type=...)`,
          'INVALID_OPTION',
        )
      }
      return toBackend(remember(v))
    },

    async remove(name) {
      const v = await find(name)
      if (!v) return
      const log = deps.log.child({ volume: v.id, name })
      const state = attachState(v, me)
      if (
        state.kind === 'ATTACHED_TO_OTHER' ||
        (state.kind === 'ATTACHED_TO_THIS' && state.others.length)
      )
        throw new VolumeInUseError(
          `volume "${name}" is attached to ${state.kind === 'ATTACHED_TO_OTHER' ? state.hosts.join(', ') : state.others.join(', ')}; stop its containers there first`,
        )
      if (state.kind === 'TRANSITIONAL')
        throw new VolumeStateError(
          `Cinder volume ${v.id} ("${name}") is "${state.status}"; retry when it settles`,
        )
      if (state.kind === 'ATTACHED_TO_THIS') {
        for (const id of state.attachmentIds) await detach(v.id, id, log)
        await api.waitForVolume(v.id, ['available'], { timeoutMs: 20_000 })
      }
      await api.deleteVolume(v.id)
      await api.waitForVolume(v.id, [], { timeoutMs: REMOVE_WAIT_MS, goneIsSuccess: true })
      seen.delete(name)
      log.info('Cinder volume deleted')
    },

    async get(name) {
      const v = await find(name)
      return v && toBackend(v)
    },

    async list() {
      const all = await api.listVolumes({ metadata: owned(), allTenants: opts.allTenants })
      const byName = new Map<string, CinderVolume>()
      for (const v of all) {
        const name = v.name ?? ''
        if (!name) continue
        const first = byName.get(name)
        if (first) {
          deps.log.warn(
            { name, volumes: [first.id, v.id] },
            'two Cinder volumes share a fuxi name; Docker sees the first; rename or delete one',
          )
          continue
        }
        byName.set(name, remember(v))
      }
      return [...byName.values()].map(toBackend)
    },

    async mount(name, mountpoint, ctx) {
      const v = await mustFind(name)
      const { attachment, created } = await attach(name, v, ctx)
      const connector = connectorFor(attachment.connection_info, deps.connectors)
      try {
        const device = await connector.connect(attachment.connection_info, ctx.log)
        if (created || attachment.status !== 'attached') await api.completeAttachment(attachment.id)
        let fstype = v.metadata[META.fstype] || opts.defaults.fstype
        if (v.metadata[META.formatted] !== 'true') {
          fstype = await ensureFilesystem(host, { name, device, fstype }, ctx)
          await api.metadata.set(v.id, { [META.fstype]: fstype, [META.formatted]: 'true' })
        }
        await ctx.step('mounting')
        const current = await host.mountAt(mountpoint)
        if (current && current.source !== device)
          throw new VolumeStateError(
            `${mountpoint} already has ${current.source} mounted; unmount it and retry`,
          )
        if (!current) {
          await mkdir(mountpoint, { recursive: true, mode: 0o755 })
          await host.mount(device, mountpoint, fstype)
        }
        remember({
          ...v,
          status: 'in-use',
          metadata: {
            ...v.metadata,
            [META.fstype]: fstype,
            [META.formatted]: 'true',
            [attachmentKey(attachment.id)]: me,
          },
          attachments: created
            ? [...v.attachments, { attachment_id: attachment.id, host_name: me, server_id: null }]
            : v.attachments,
        })
        return device
      } catch (e) {
        if (created)
          await rollback(v.id, attachment.id, attachment.connection_info, mountpoint, ctx.log)
        throw e
      }
    },

    async unmount(name, mountpoint, ctx) {
      if (await host.mountAt(mountpoint)) await host.unmount(mountpoint)
      const v = await find(name)
      const state = v && attachState(v, me)
      if (v && state?.kind === 'ATTACHED_TO_THIS') {
        for (const id of state.attachmentIds) await detach(v.id, id, ctx.log)
        const left = v.attachments.filter((a) => !state.attachmentIds.includes(a.attachment_id))
        remember({ ...v, attachments: left, status: left.length ? 'in-use' : 'available' })
      }
      await rmdir(mountpoint).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT')
          ctx.log.warn({ err: e, mountpoint }, 'mountpoint directory not removed')
      })
    },

    async inspect(targets) {
      const [mounts, volumes] = await Promise.all([
        host.mounts(),
        api.listVolumes({ metadata: owned(), allTenants: opts.allTenants }),
      ])
      const mounted = new Set(mounts.map((m) => m.mountPoint))
      const attachments = new Map<string, string[]>()
      for (const v of volumes) {
        remember(v)
        const s = attachState(v, me)
        if (v.name && s.kind === 'ATTACHED_TO_THIS') attachments.set(v.name, [...s.attachmentIds])
      }
      return new Map(
        targets.map((t) => [
          t.name,
          { mounted: mounted.has(t.mountpoint), devices: attachments.get(t.name) ?? [] },
        ]),
      )
    },

    describe(name) {
      const v = seen.get(name)
      if (!v) return {}
      return {
        volume_id: v.id,
        cinder_status: v.status,
        size_gib: v.size,
        volume_type: v.volume_type ?? null,
        availability_zone: v.availability_zone ?? null,
        multiattach: v.multiattach,
        attached_to: v.attachments.map((a) => attachmentHost(v, a)),
        fstype: v.metadata[META.fstype] || opts.defaults.fstype,
        formatted: v.metadata[META.formatted] === 'true',
      }
    },
  }

  /** Undo a new attachment in reverse order: unmount, disconnect, delete the attachment. */
  async function rollback(
    volumeId: string,
    id: string,
    info: ConnectionInfo,
    mountpoint: string,
    log: Logger,
  ) {
    try {
      if (await host.mountAt(mountpoint)) await host.unmount(mountpoint)
      await connectorFor(info, deps.connectors).disconnect(info, log)
      await api.deleteAttachment(id)
      await api.metadata.deleteKey(volumeId, attachmentKey(id))
      log.info({ attachment: id }, 'mount failed: attachment rolled back')
    } catch (e) {
      log.error(
        { err: e, attachment: id },
        'rollback of the attachment failed; the next mount or reconcile retries',
      )
    }
  }
}
