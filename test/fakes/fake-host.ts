import { closeSync, openSync, writeSync } from 'node:fs'
import { CommandFailedError } from '../../src/errors.ts'
import type { Host } from '../../src/host/host.ts'
import type { MountEntry } from '../../src/host/mountinfo.ts'

/** A stateful in-memory host: a mount table, loop devices, filesystem signatures per image. */
export class FakeHost implements Host {
  readonly table: MountEntry[] = []
  /** loop device → backing file */
  readonly loops = new Map<string, string>()
  /** backing file → filesystem type found on it */
  readonly signatures = new Map<string, string>()
  readonly calls: string[] = []
  /** Make the next call of this method fail once. */
  readonly failNext = new Set<'mount' | 'unmount' | 'mkfs' | 'attachLoop' | 'grow'>()
  boot = 'boot-1'
  /** Make every mount take this long (to have requests in flight). */
  mountDelayMs = 0
  #next = 0

  #fail(what: 'mount' | 'unmount' | 'mkfs' | 'attachLoop' | 'grow', argv: string[]) {
    if (this.failNext.delete(what))
      throw new CommandFailedError(argv, 32, `injected ${what} failure`)
  }
  async mounts() {
    return [...this.table]
  }
  async mountAt(path: string) {
    return this.table.findLast((m) => m.mountPoint === path)
  }
  /** The options of each mount, by target. */
  readonly mountOptions = new Map<string, readonly string[]>()
  async mount(source: string, target: string, fsType: string, options: readonly string[] = []) {
    this.calls.push(`mount ${source} ${target}`)
    this.mountOptions.set(target, options)
    if (this.mountDelayMs) await new Promise((r) => setTimeout(r, this.mountDelayMs))
    this.#fail('mount', ['mount', source, target])
    const file = this.loops.get(source)
    if (!file || this.signatures.get(file) !== fsType)
      throw new CommandFailedError(['mount', source, target], 32, `wrong fs type on ${source}`)
    this.table.push({ mountPoint: target, fsType, source })
  }
  async unmount(target: string, opts: { freeLoop?: boolean } = {}) {
    this.calls.push(`umount ${target}`)
    this.#fail('unmount', ['umount', target])
    const i = this.table.findLastIndex((m) => m.mountPoint === target)
    const entry = this.table[i]
    if (!entry) throw new CommandFailedError(['umount', target], 32, 'not mounted')
    this.table.splice(i, 1)
    if (opts.freeLoop) this.loops.delete(entry.source)
  }
  /** Put a filesystem signature on a (real) image file: writes a byte, as a real mkfs would. */
  setSignature(file: string, fsType: string) {
    const fd = openSync(file, 'r+')
    try {
      writeSync(fd, Buffer.from('S'), 0, 1, 1024)
    } finally {
      closeSync(fd)
    }
    this.signatures.set(file, fsType)
  }
  async probeFilesystem(device: string) {
    this.calls.push(`blkid ${device}`)
    const file = this.loops.get(device)
    return (file && this.signatures.get(file)) || 'none'
  }
  async makeFilesystem(device: string, fsType: string, opts: { force: boolean }) {
    this.calls.push(`mkfs ${fsType} ${device}${opts.force ? ' force' : ''}`)
    this.#fail('mkfs', ['mkfs', device])
    const file = this.loops.get(device)
    if (!file) throw new CommandFailedError(['mkfs', device], 1, 'no such device')
    if (this.signatures.has(file) && !opts.force)
      throw new CommandFailedError(['mkfs', device], 1, 'existing fs')
    this.setSignature(file, fsType)
  }
  async refreshLoopCapacity(device: string) {
    this.calls.push(`losetup -c ${device}`)
  }
  async growFilesystem(device: string, mountpoint: string | undefined, fsType: string) {
    this.calls.push(`grow ${fsType} ${device}${mountpoint ? ` ${mountpoint}` : ' offline'}`)
    this.#fail('grow', ['resize2fs', device])
  }
  async loopDevices() {
    const m = new Map<string, string[]>()
    for (const [d, f] of this.loops) m.set(f, [...(m.get(f) ?? []), d])
    return m
  }
  async loopDevicesFor(file: string) {
    return [...this.loops].filter(([, f]) => f === file).map(([d]) => d)
  }
  /** `separate`: a loop device of its own even when one already backs the file (another host's view of a shared disk). */
  async attachLoop(file: string, o: { separate?: boolean } = {}) {
    this.calls.push(`losetup ${file}`)
    this.#fail('attachLoop', ['losetup', file])
    const existing = (await this.loopDevicesFor(file))[0]
    if (existing && !o.separate) return existing
    const dev = `/dev/loop${this.#next++}`
    this.loops.set(dev, file)
    return dev
  }
  async detachLoop(device: string) {
    this.calls.push(`losetup -d ${device}`)
    if (this.table.some((m) => m.source === device))
      throw new CommandFailedError(['losetup', '-d', device], 1, 'device busy')
    this.loops.delete(device)
  }
  async resolveDevice(path: string) {
    return path
  }
  async isBlockDevice(path: string) {
    return this.loops.has(path)
  }
  async loopBackingFile(device: string) {
    return this.loops.get(device) ?? ''
  }
  /** Devices a test says are busy (swap, held by LVM, ...), with the reason. */
  readonly busy = new Map<string, string>()
  async deviceInUse(device: string) {
    const reason = this.busy.get(device)
    if (reason) return `${device} ${reason}`
    const at = this.table.filter((m) => m.source === device).map((m) => m.mountPoint)
    return at.length ? `${device} is mounted at ${at.join(', ')}` : undefined
  }
  async bootId() {
    return this.boot
  }
}
