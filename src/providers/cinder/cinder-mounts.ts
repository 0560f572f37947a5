import { BUDGET_MS, withDeadline } from '../../deadline.ts'
import { VolumeStateError } from '../../errors.ts'
import type { Host } from '../../host/host.ts'
import type { Logger } from '../../log.ts'
import type { CinderVolume } from '../../openstack/cinder.ts'
import {
  ensureFilesystem,
  MOUNT_FLAGS_KEY,
  mountOnce,
  mountOptions,
  removeMountpoint,
} from '../../volumes/filesystem.ts'
import { LAYOUT_KEY, layoutOptions } from '../../volumes/layout.ts'
import { keptMountOptions, MOUNT_OPTIONS_KEY } from '../../volumes/mount-options.ts'
import type { OpContext, VolumeProvider } from '../../volumes/provider.ts'
import type { cloudResources } from '../cloud-resources.ts'
import type { AttachFlow, CinderApi } from './attach-flow.ts'
import { type Attached, attachHere } from './attach-here.ts'
import {
  type AttachPolicy,
  attachmentKey,
  attachState,
  FORMATTING_KEY,
  holdersOf,
  holderValue,
  parseHolderValue,
} from './attach-state.ts'
import type { AttachmentRecord, attachmentRecords } from './attachment-records.ts'
import { META } from './meta.ts'

export interface CinderMountDeps {
  readonly api: CinderApi
  readonly host: Host
  readonly log: Logger
  readonly flow: AttachFlow
  readonly records: ReturnType<typeof attachmentRecords>
  readonly volumes: ReturnType<typeof cloudResources<CinderVolume>>
  readonly policy: (v: CinderVolume) => AttachPolicy
  /** This host in attachments and holder keys. */
  readonly me: string
  readonly defaultFstype: string
  readonly allTenants: boolean
  readonly settleMs?: number | undefined
}

/**
 * Cinder volumes on this host: the first Mount attaches (attach-here.ts decides how), formats a
 * blank volume once and mounts it; the last Unmount unmounts, disconnects and deletes the
 * attachment. Heartbeats keep this host's holder keys fresh for the other hosts.
 */
export function cinderMounts(d: CinderMountDeps) {
  const { api, host, records, flow, me, volumes } = d

  /** Undo this host's attachment of `name` (unmounted first), and forget it. */
  async function release(name: string, r: AttachmentRecord, mountpoint: string, log: Logger) {
    if (await host.mountAt(mountpoint)) await host.unmount(mountpoint)
    await flow.detach(r.volumeId, r.attachmentId, r.connectionInfo, log)
    await records.drop(name)
    const cached = volumes.seen(name)?.r
    if (cached) {
      const left = cached.attachments.filter((a) => a.attachment_id !== r.attachmentId)
      volumes.remember({
        ...cached,
        attachments: left,
        status: left.length ? 'in-use' : 'available',
      })
    }
  }

  /**
   * The filesystem to mount: the recorded one, or a new one made now. A blank volume is formatted
   * only by a host that writes it, while no other host has it attached and no other host is
   * formatting it (its claim is in the metadata): never two mkfs on one volume.
   */
  async function filesystemOf(
    name: string,
    a: Attached,
    device: string,
    ctx: OpContext,
  ): Promise<{ fstype: string; writes: Record<string, string> }> {
    const md = a.metadata
    const fstype = md[META.fstype] || d.defaultFstype
    if (md[META.formatted] === 'true') return { fstype, writes: {} }
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
      { name, device, fstype, options: layoutOptions(md[LAYOUT_KEY]) },
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
    return { fstype: made, writes: { [META.fstype]: made, [META.formatted]: 'true' } }
  }

  /** The device, formatted if blank and mounted at `mountpoint`, of an attachment made here. */
  async function mountAttached(name: string, a: Attached, mountpoint: string, ctx: OpContext) {
    const { record, created } = a
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
    if (!record.completed) {
      await flow.complete(record)
      await records.write(name, { ...record, completed: true })
    }
    const md = { ...a.metadata, ...fs.writes }
    await mountOnce(host, device, mountpoint, fs.fstype, ctx, {
      options: mountOptions(
        fs.fstype,
        record.mode ?? 'rw',
        md[MOUNT_FLAGS_KEY],
        keptMountOptions(md[MOUNT_OPTIONS_KEY], fs.fstype),
      ),
    })
    const mine = { attachment_id: record.attachmentId, host_name: me, server_id: null }
    volumes.remember({
      ...a.volume,
      status: 'in-use',
      metadata: md,
      attachments: created ? [...a.volume.attachments, mine] : a.volume.attachments,
    })
    return device
  }

  const ops: Pick<VolumeProvider, 'mount' | 'unmount' | 'inspect'> &
    Required<Pick<VolumeProvider, 'heartbeat'>> = {
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
      const cached = volumes.fresh(name)?.r
      const a = await attachHere({
        name,
        v: cached ?? (await volumes.mustFind(name)),
        fresh: cached === undefined,
        me,
        api,
        flow,
        records,
        policy: d.policy,
        look: () => volumes.mustFind(name),
        ctx,
        settleMs: d.settleMs,
      })
      try {
        return await mountAttached(name, a, mountpoint, ctx)
      } catch (e) {
        if (a.created)
          await withDeadline(BUDGET_MS.rollback, `rollback of the mount of ${name}`, () =>
            release(name, a.record, mountpoint, ctx.log),
          ).catch((err: unknown) =>
            ctx.log.error(
              { err, attachment: a.record.attachmentId },
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
        const v = await volumes.find(name)
        const state = v && attachState(v, me)
        if (v && state?.kind === 'ATTACHED_TO_THIS')
          for (const h of state.mine) await flow.detach(v.id, h.attachmentId, undefined, ctx.log)
        if (v && (v.status === 'attaching' || v.status === 'reserved'))
          await flow.takeBackOrphans?.(v.id, ctx.log)
      }
      await removeMountpoint(mountpoint, ctx.log)
    },

    async inspect(targets) {
      // Local only (mount table and attachment records): works while the cloud is unreachable.
      const [mounts, attached] = await Promise.all([host.mounts(), records.names()])
      const mounted = new Set(mounts.map((m) => m.mountPoint))
      const out = new Map<string, { mounted: boolean; held: string[] }>()
      for (const t of targets) {
        const r = attached.has(t.name) ? await records.read(t.name) : undefined
        out.set(t.name, { mounted: mounted.has(t.mountpoint), held: r ? [r.attachmentId] : [] })
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
      const scope = d.allTenants ? { allTenants: true } : {}
      const listed = new Map(
        (await api.listVolumes({ metadata: volumes.names.owned, ...scope }).catch(() => [])).map(
          (v) => [v.id, v],
        ),
      )
      let n = 0
      for (const { name, r } of mine) {
        try {
          // Only for an attachment that still exists: never a key for one another host deleted.
          const v = listed.get(r.volumeId) ?? (await api.getVolume(r.volumeId))
          if (!v?.attachments.some((x) => x.attachment_id === r.attachmentId)) {
            d.log.error(
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
          d.log.warn({ err, volume: r.volumeId, name }, 'heartbeat not written')
        }
      }
      return n
    },
  }
  return { ...ops, release }
}
