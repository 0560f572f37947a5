import { readdir, readFile, realpath, stat } from 'node:fs/promises'
import { InvalidRequestError, VolumeStateError } from '../errors.ts'
import { deviceInUse } from './device-use.ts'
import type { Exec } from './exec.ts'
import type { Host } from './host.ts'
import { withRootContents } from './mkfs-root.ts'
import { readMountInfo } from './mountinfo.ts'

/** blkid: exit 2 means "no signature found" (util-linux). */
const BLKID_NOTHING_FOUND = 2
const MKFS_FORCE_FLAG: Readonly<Record<string, string>> = { ext4: '-F', xfs: '-f' }

/** The real host: util-linux and e2fsprogs/xfsprogs through `exec`, /proc and /sys read directly. */
export function createLinuxHost(exec: Exec, procRoot = '/proc', sysRoot = '/sys'): Host {
  const mounts = () => readMountInfo(`${procRoot}/self/mountinfo`)
  const loopDevices = async () => {
    const names = await readdir(`${sysRoot}/block`).catch(() => [] as string[])
    const byFile = new Map<string, string[]>()
    await Promise.all(
      names
        .filter((n) => n.startsWith('loop'))
        .map(async (n) => {
          const backing = await readFile(`${sysRoot}/block/${n}/loop/backing_file`, 'utf8').catch(
            () => '',
          )
          const file = backing.trim()
          if (file) byFile.set(file, [...(byFile.get(file) ?? []), `/dev/${n}`].sort())
        }),
    )
    return byFile
  }
  return {
    mounts,
    async mountAt(path) {
      const all = await mounts()
      return all.findLast((m) => m.mountPoint === path)
    },
    async mount(source, target, fsType, options = []) {
      const args = ['-t', fsType]
      if (options.length) args.push('-o', options.join(','))
      await exec.run('mount', [...args, source, target])
    },
    async unmount(target, opts = {}) {
      await exec.run('umount', opts.freeLoop ? ['-d', target] : [target])
    },
    async probeFilesystem(device) {
      const r = await exec.run('blkid', ['-p', '-o', 'export', device], {
        okExitCodes: [BLKID_NOTHING_FOUND],
      })
      if (r.exitCode === BLKID_NOTHING_FOUND) return 'none'
      const type = /^TYPE=(.*)$/m.exec(r.stdout)?.[1]
      // A signature without TYPE (e.g. a partition table) still means "not blank".
      return type ?? 'unknown'
    },
    async makeFilesystem(device, fsType, opts) {
      const force = MKFS_FORCE_FLAG[fsType]
      if (force === undefined)
        throw new InvalidRequestError(
          `unsupported filesystem type ${fsType}; fuxi makes ${Object.keys(MKFS_FORCE_FLAG).join(' or ')}`,
          'INVALID_OPTION',
        )
      const args = ['-q']
      if (opts.force) args.push(force)
      if (opts.label) args.push('-L', opts.label)
      // mkfs.<type> directly: the `mkfs` front end only adds another exec.
      await withRootContents(fsType, opts.dataDir, (more) =>
        exec
          .run(`mkfs.${fsType}`, [...args, ...more, device], { timeoutMs: 300_000 })
          .then(() => {}),
      )
    },
    loopDevices,
    async refreshLoopCapacity(device) {
      await exec.run('losetup', ['--set-capacity', device])
    },
    async growFilesystem(device, mountpoint, fsType) {
      const long = { timeoutMs: 600_000 }
      if (fsType === 'xfs') {
        if (!mountpoint) throw new VolumeStateError('xfs grows only while mounted (xfs_growfs)')
        await exec.run('xfs_growfs', [mountpoint], long)
        return
      }
      // resize2fs refuses an unmounted filesystem that was not checked since its last mount.
      // e2fsck exit 1: errors found and corrected, the filesystem is sound.
      if (!mountpoint) await exec.run('e2fsck', ['-f', '-p', device], { ...long, okExitCodes: [1] })
      await exec.run('resize2fs', [device], long)
    },
    async loopDevicesFor(file) {
      return (await loopDevices()).get(file) ?? []
    },
    async loopBackingFile(device) {
      const name = device.replace(/^\/dev\//, '')
      if (!/^loop\d+$/.test(name)) return ''
      return (
        await readFile(`${sysRoot}/block/${name}/loop/backing_file`, 'utf8').catch(() => '')
      ).trim()
    },
    async attachLoop(file) {
      const r = await exec.run('losetup', ['--find', '--show', '--nooverlap', file])
      const dev = r.stdout.trim()
      if (!dev.startsWith('/dev/'))
        throw new VolumeStateError(`losetup printed no device for ${file}`)
      return dev
    },
    async detachLoop(device) {
      await exec.run('losetup', ['--detach', device])
    },
    resolveDevice: (path) => realpath(path),
    async isBlockDevice(path) {
      return stat(path).then(
        (st) => st.isBlockDevice(),
        () => false,
      )
    },
    deviceInUse: (device) => deviceInUse(device, { mounts, sysRoot, procRoot }),
    async bootId() {
      return (await readFile(`${procRoot}/sys/kernel/random/boot_id`, 'utf8')).trim()
    },
  }
}
