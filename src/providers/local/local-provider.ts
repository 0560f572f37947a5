import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { VolumeExistsError, VolumeNotFoundError, VolumeStateError } from '../../errors.ts'
import { removeIfExists, writeFileAtomic } from '../../host/files.ts'
import type { Host } from '../../host/host.ts'
import type { Logger } from '../../log.ts'
import {
  ensureFilesystem,
  mountFlagOptions,
  mountFlagsOf,
  mountOnce,
  mountOptions,
  removeMountpoint,
} from '../../volumes/filesystem.ts'
import { encodeLayout, layoutOptions } from '../../volumes/layout.ts'
import { keptMountOptions } from '../../volumes/mount-options.ts'
import type {
  BackendVolume,
  OpContext,
  PhysicalState,
  VolumeProvider,
} from '../../volumes/provider.ts'
import { type LocalMeta, toBackend } from './local-meta.ts'
import { type LocalOptionDefaults, parseLocalOptions } from './local-options.ts'
import { growMounted, resizeLocal } from './local-resize.ts'

export const PROVIDER_NAME = 'local'
const GIB = 1024 ** 3
/**
 * A loop device goes away asynchronously (autoclear at its last close, e.g. after xfs finishes
 * with it): detaching waits this long, polling, so that "unmounted" means "released".
 */
export const LOOP_RELEASE_TIMEOUT_MS = 2000
const LOOP_RELEASE_POLL_MS = 10

export interface LocalProviderOptions {
  /** Images and their metadata live here (`<state_dir>/local`). */
  readonly dir: string
  readonly defaults: LocalOptionDefaults
}

/**
 * The embedded default provider: a sparse image file of `size` GiB per volume, attached to a loop
 * device on first mount, formatted once, mounted; detached on last unmount; deleted on remove.
 */
export function createLocalProvider(
  opts: LocalProviderOptions,
  deps: { host: Host; log: Logger },
): VolumeProvider {
  const { host } = deps
  const image = (name: string) => join(opts.dir, `${name}.img`)
  const metaFile = (name: string) => join(opts.dir, `${name}.json`)
  const metas = new Map<string, LocalMeta>()

  const readMeta = async (name: string): Promise<LocalMeta | undefined> => {
    try {
      const meta = JSON.parse(await readFile(metaFile(name), 'utf8')) as LocalMeta
      metas.set(name, meta)
      return meta
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        metas.delete(name)
        return undefined
      }
      throw e
    }
  }
  const writeMeta = async (name: string, meta: LocalMeta) => {
    await writeFileAtomic(metaFile(name), `${JSON.stringify(meta)}\n`)
    metas.set(name, meta)
  }
  const metaDeps = (name: string) => ({ host, writeMeta: (m: LocalMeta) => writeMeta(name, m) })
  const imageExists = (name: string) =>
    stat(image(name)).then(
      () => true,
      () => false,
    )

  /**
   * A sparse image with no allocated block has never been written: all zeros, no signature.
   * That is a stronger answer than blkid's, and costs a stat instead of a command.
   */
  async function isUnwritten(file: string): Promise<boolean> {
    return (await stat(file)).blocks === 0
  }

  /** Detaches every loop device of `file` and waits until the kernel has released them. */
  async function detachAll(file: string, log: Logger): Promise<void> {
    const deadline = Date.now() + LOOP_RELEASE_TIMEOUT_MS
    let lastError: unknown
    for (;;) {
      const devices = await host.loopDevicesFor(file)
      if (!devices.length) return
      if (Date.now() >= deadline) {
        if (lastError) throw lastError
        throw new VolumeStateError(
          `${devices.join(', ')} still attached to ${file} ${LOOP_RELEASE_TIMEOUT_MS} ms after detaching: something holds it open (see fuser -v ${devices[0]}); fuxi retries at the next reconcile`,
        )
      }
      for (const dev of devices) {
        await host.detachLoop(dev).then(
          () => log.debug({ device: dev }, 'loop device detached'),
          (e: unknown) => {
            lastError = e // gone meanwhile, or busy: the next look decides
          },
        )
      }
      await new Promise((r) => setTimeout(r, LOOP_RELEASE_POLL_MS))
    }
  }

  /** Create the sparse image exclusively: a file we did not make is never reused. */
  const makeImage = async (name: string, sizeGib: number) => {
    const fh = await open(image(name), 'wx', 0o600).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST')
        throw new VolumeExistsError(
          `${image(name)} exists but was not created by fuxi for this volume; move it away or pick another name`,
        )
      throw e
    })
    try {
      await fh.truncate(sizeGib * GIB)
      await fh.sync()
    } finally {
      await fh.close()
    }
  }

  return {
    name: PROVIDER_NAME,
    scope: 'local',
    parseOptions: (o) => parseLocalOptions(o, opts.defaults),

    async create(name, options, ctx) {
      await mkdir(opts.dir, { recursive: true, mode: 0o700 })
      const existing = await readMeta(name)
      if (existing) {
        // Finish a create that died between writing the metadata and the image.
        if (!(await imageExists(name))) await makeImage(name, Number(existing.size))
        return toBackend(name, existing)
      }
      const flags = mountFlagsOf(options)
      const layout = encodeLayout(options)
      const meta: LocalMeta = {
        createdAt: new Date().toISOString(),
        size: options.size ?? String(opts.defaults.size),
        fstype: options.fstype ?? opts.defaults.fstype,
        formatted: false,
        ...(ctx ? { createdBy: ctx.marker } : {}),
        ...(flags ? { mountFlags: flags } : {}),
        ...(layout ? { layout } : {}),
        ...(options.mount_options ? { mountOptions: options.mount_options } : {}),
      }
      if (await imageExists(name))
        throw new VolumeExistsError(
          `${image(name)} exists but was not created by fuxi for this volume; move it away or pick another name`,
        )
      await writeMeta(name, meta)
      await ctx?.made(name)
      await makeImage(name, Number(meta.size))
      return toBackend(name, meta)
    },

    async discard(made, log) {
      const meta = await readMeta(made.id)
      if (!meta) return { kind: 'gone' }
      if (meta.createdBy !== made.marker)
        return { kind: 'kept', why: "it does not carry this create's marker" }
      if (meta.formatted) return { kind: 'kept', why: 'it has been formatted (and maybe written)' }
      await detachAll(image(made.id), log)
      await removeIfExists(image(made.id))
      await removeIfExists(metaFile(made.id))
      metas.delete(made.id)
      log.info({ image: image(made.id) }, 'deleted the image a failed create made')
      return { kind: 'deleted' }
    },

    async exists(id) {
      return (await readMeta(id)) !== undefined
    },

    async remove(name, ctx) {
      // Only what fuxi made: the metadata is written before the image and deleted after it, so an
      // image without metadata is someone else's file and is never touched.
      if (!(await readMeta(name))) return
      await ctx?.deleting(name)
      await detachAll(image(name), deps.log)
      await removeIfExists(image(name))
      await removeIfExists(metaFile(name))
      metas.delete(name)
    },

    async get(name) {
      const m = await readMeta(name)
      return m && toBackend(name, m)
    },

    async list() {
      const files = await readdir(opts.dir).catch(() => [] as string[])
      const names = files.filter((x) => x.endsWith('.json')).map((f) => f.slice(0, -'.json'.length))
      const metaList = await Promise.all(names.map((n) => readMeta(n).catch(() => undefined)))
      const out: BackendVolume[] = []
      metaList.forEach((m, i) => {
        if (m) out.push(toBackend(names[i] as string, m))
      })
      return out
    },

    async mount(name, mountpoint, ctx) {
      const meta = await readMeta(name)
      if (!meta) throw new VolumeNotFoundError(name)
      if (!(await imageExists(name)))
        throw new VolumeStateError(
          `backing image ${image(name)} of volume "${name}" is missing; remove the volume`,
        )
      const device =
        (await host.loopDevicesFor(image(name)))[0] ?? (await host.attachLoop(image(name)))
      ctx.log.debug({ device }, 'image attached')
      let fstype = meta.fstype
      if (!meta.formatted) fstype = await formatIfNew(name, meta, device, ctx)
      // ext4 grows before it is mounted (no CAP_SYS_RESOURCE needed, unlike online).
      let current = meta
      if (meta.growPending && fstype === 'ext4' && !(await host.mountAt(mountpoint)))
        // A grow that fails must not keep the data from its containers: mount it as it is.
        current = await growMounted(metaDeps(name), meta, { device }, ctx.log).catch(
          (err: unknown) => {
            ctx.log.warn({ err }, 'filesystem not grown before the mount; the next mount retries')
            return meta
          },
        )
      await mountOnce(host, device, mountpoint, fstype, ctx, {
        options: mountOptions(
          fstype,
          'rw',
          meta.mountFlags,
          keptMountOptions(meta.mountOptions, fstype),
        ),
      })
      // A resize while it was not mounted (or refused online): xfs grows once mounted.
      if (current.growPending)
        await growMounted(metaDeps(name), current, mountpoint, ctx.log).catch((err: unknown) =>
          ctx.log.warn({ err }, 'filesystem not grown while mounted; the next mount retries'),
        )
      return device
    },

    async resize(name, size, mountpoint, log) {
      const meta = await readMeta(name)
      if (!meta) throw new VolumeNotFoundError(name)
      const d = { ...metaDeps(name), image: image(name), maxSize: opts.defaults.maxSize }
      return toBackend(name, await resizeLocal(d, { name, meta, size, mountpoint, log })).options
    },

    async unmount(name, mountpoint, ctx) {
      const mounted = await host.mountAt(mountpoint)
      if (mounted)
        await host.unmount(mountpoint, { freeLoop: mounted.source.startsWith('/dev/loop') })
      await detachAll(image(name), ctx.log)
      await removeMountpoint(mountpoint, ctx.log)
    },

    async inspect(targets) {
      const [mounts, loops] = await Promise.all([host.mounts(), host.loopDevices()])
      const mounted = new Set(mounts.map((m) => m.mountPoint))
      const out = new Map<string, PhysicalState>()
      for (const t of targets)
        out.set(t.name, {
          mounted: mounted.has(t.mountpoint),
          held: loops.get(image(t.name)) ?? [],
        })
      return out
    },

    describe(name) {
      const m = metas.get(name)
      return {
        image: image(name),
        formatted: m?.formatted ?? false,
        ...(m?.growPending ? { grow_pending: true } : {}),
      }
    },
  }

  async function formatIfNew(name: string, meta: LocalMeta, device: string, ctx: OpContext) {
    const knownBlank = await isUnwritten(image(name))
    const fstype = await ensureFilesystem(
      host,
      { name, device, fstype: meta.fstype, knownBlank, options: layoutOptions(meta.layout) },
      ctx,
    )
    await writeMeta(name, { ...meta, fstype, formatted: true })
    return fstype
  }
}
