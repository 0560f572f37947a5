import { readFileSync } from 'node:fs'
import { readdir, realpath } from 'node:fs/promises'
import { join } from 'node:path'

/** udev's links to disks by serial (`virtio-<serial>`, `scsi-0QEMU_QEMU_HARDDISK_<serial>`). */
const DISK_BY_ID = '/dev/disk/by-id'
const ISCSI_INITIATOR_FILE = '/etc/iscsi/initiatorname.iscsi'

/** The entries of /dev/disk/by-id; none when it does not exist (no disks, or no udev). */
export function diskIdEntries(): Promise<string[]> {
  return readdir(DISK_BY_ID).catch(() => [])
}

/** The device an entry of /dev/disk/by-id links to. */
export function diskOfIdEntry(entry: string): Promise<string> {
  return realpath(join(DISK_BY_ID, entry))
}

/** This host's iSCSI initiator name, when open-iscsi is installed. */
export function iscsiInitiatorName(): string | undefined {
  try {
    return /^InitiatorName=(.+)$/m.exec(readFileSync(ISCSI_INITIATOR_FILE, 'utf8'))?.[1]
  } catch {
    return undefined
  }
}
