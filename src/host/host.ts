import type { DataDirSpec } from './mkfs-root.ts'
import type { MountEntry } from './mountinfo.ts'

/**
 * The slice of the Linux host the volume layer needs. The real one is `createLinuxHost`; tests
 * hand in fakes. Every method is idempotent where its name says "ensure".
 */
export interface Host {
  /** Current mount table (fresh read every call). */
  mounts(): Promise<MountEntry[]>
  /** The entry mounted exactly at `path`, if any (topmost when stacked). */
  mountAt(path: string): Promise<MountEntry | undefined>
  mount(source: string, target: string, fsType: string, options?: readonly string[]): Promise<void>
  /** Unmount `target`; with `freeLoop`, also detach the loop device behind it (umount -d). */
  unmount(target: string, opts?: { freeLoop?: boolean }): Promise<void>
  /** Filesystem signature on a device: its type, 'none' when blkid finds nothing. */
  probeFilesystem(device: string): Promise<string>
  /**
   * mkfs; `force` only for a device fuxi itself was interrupted while formatting. `dataDir`: a
   * folder the new filesystem is born with (the one handed to Docker).
   */
  makeFilesystem(
    device: string,
    fsType: string,
    opts: { force: boolean; label?: string; dataDir?: DataDirSpec | undefined },
  ): Promise<void>
  /** Re-reads a loop device's size from its backing file (losetup -c), after the file grew. */
  refreshLoopCapacity(device: string): Promise<void>
  /**
   * Grows a filesystem to its device's size: mounted at `mountpoint` (resize2fs online, which
   * needs CAP_SYS_RESOURCE; xfs_growfs), or, for ext4 only, unmounted (e2fsck -f -p, resize2fs).
   */
  growFilesystem(device: string, mountpoint: string | undefined, fsType: string): Promise<void>
  /** Loop devices whose backing file is `file`. */
  loopDevicesFor(file: string): Promise<string[]>
  /** Every attached loop device by backing file (one scan, for batch inspection). */
  loopDevices(): Promise<Map<string, string[]>>
  /** The file behind a loop device ('' when it has none). */
  loopBackingFile(device: string): Promise<string>
  /** Attach `file` to a loop device, reusing one that already backs it. */
  attachLoop(file: string): Promise<string>
  detachLoop(device: string): Promise<void>
  /** The device a path (e.g. a /dev/disk/by-path link) resolves to. */
  resolveDevice(path: string): Promise<string>
  /** Whether `path` exists and is a block device. */
  isBlockDevice(path: string): Promise<boolean>
  /**
   * Why `device` must not be formatted or mounted: it is mounted (in any mount namespace), swap,
   * holds partitions, or has holders (LVM, md, dm). Undefined when it is free.
   */
  deviceInUse(device: string): Promise<string | undefined>
  /** This boot's id (changes on every host reboot). */
  bootId(): Promise<string>
}
