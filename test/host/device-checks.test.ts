import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { describe, it, type TestContext } from 'node:test'
import { localConnector } from '../../src/connectors/local.ts'
import { deviceInUse } from '../../src/host/device-use.ts'
import { createExec } from '../../src/host/exec.ts'
import { createLinuxHost } from '../../src/host/linux-host.ts'
import type { CinderAttachment, ConnectorProperties } from '../../src/openstack/cinder.ts'
import { createCinderProvider } from '../../src/providers/cinder/cinder-provider.ts'
import { testContext } from '../contract/provider-contract.ts'
import { FakeCinder } from '../fakes/fake-cinder.ts'
import { FakeHost } from '../fakes/fake-host.ts'
import { cinderOptions } from '../support/cinder-options.ts'
import { cleanupUnder } from '../support/host-cleanup.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

const ROOT_SKIP = process.getuid?.() !== 0 ? 'needs root (loop devices, mkfs, mount)' : false

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args).toString().trim()

/** A Cinder whose `local` connection info names whatever device the test says. */
class PointingCinder extends FakeCinder {
  device = ''
  override async createAttachment(
    volumeId: string,
    o: { connector?: ConnectorProperties; mode?: 'rw' | 'ro' } = {},
  ): Promise<CinderAttachment> {
    const a = await super.createAttachment(volumeId, {})
    const info = { driver_volume_type: 'local', device_path: this.device, access_mode: 'rw' }
    const stored = this.attachments.get(a.id)
    if (stored) Object.assign(stored, { connection_info: info, host: o.connector?.host ?? '' })
    return { ...a, connection_info: info }
  }
}

async function setup(t: TestContext) {
  const dir = await tmpDir(t, 'fuxi-devices-', () => {
    cleanupUnder(dir)
  })
  const host = createLinuxHost(createExec())
  const cinder = new PointingCinder(new FakeHost(), dir)
  const provider = createCinderProvider(cinderOptions('this-host-1234', `${dir}/state`), {
    api: cinder,
    host,
    connectors: [localConnector(host, [10, 10])],
    log: memoryLogger().log,
  })
  /** A loop device of a new 64 MiB image at `file` (under dir), with an ext4 holding a file. */
  const device = (file: string) => {
    writeFileSync(file, '')
    truncateSync(file, 64 * 1024 * 1024)
    execFileSync('mkfs.ext4', ['-q', '-L', 'precious', file])
    return sh('losetup', ['--find', '--show', file])
  }
  return { dir, host, cinder, provider, device }
}

describe('a device Cinder points at that is not free is neither formatted nor mounted', {
  skip: ROOT_SKIP,
}, () => {
  it('mounted elsewhere on this host: refused, naming the device; its data untouched', async (t) => {
    const { dir, cinder, provider, device } = await setup(t)
    await provider.create('db', provider.parseOptions({}))
    const v = [...cinder.volumes.values()][0]
    assert.ok(v)
    // The device even names the volume (its backing file), so only its use can stop fuxi.
    const dev = device(`${dir}/volume-${v.id}.img`)
    mkdirSync(`${dir}/elsewhere`)
    execFileSync('mount', [dev, `${dir}/elsewhere`])
    writeFileSync(`${dir}/elsewhere/data`, 'precious')
    execFileSync('umount', [`${dir}/elsewhere`])
    execFileSync('mount', [dev, `${dir}/elsewhere`])
    cinder.device = dev
    await assert.rejects(provider.mount('db', `${dir}/mnt/db`, testContext()), (e: Error) => {
      assert.match(e.message, new RegExp(`gives ${dev}, and ${dev} is mounted at ${dir}/elsewhere`))
      assert.match(e.message, /fuxi neither formats nor mounts it/)
      return true
    })
    assert.equal(readFileSync(`${dir}/elsewhere/data`, 'utf8'), 'precious')
    assert.equal(sh('blkid', ['-o', 'value', '-s', 'LABEL', dev]), 'precious', 'not formatted')
    assert.equal(v.attachments.length, 0, 'the attachment was taken back')
  })

  it('a device that does not name the volume: refused, untouched', async (t) => {
    const { dir, cinder, provider, device } = await setup(t)
    await provider.create('db', provider.parseOptions({}))
    cinder.device = device(`${dir}/someone-elses.img`)
    await assert.rejects(
      provider.mount('db', `${dir}/mnt/db`, testContext()),
      new RegExp(`gives ${cinder.device}, which does not name that volume`),
    )
    assert.equal(sh('blkid', ['-o', 'value', '-s', 'LABEL', cinder.device]), 'precious')
  })

  it('holds partitions, has holders, is swap, is claimed by the kernel: each named', async (t) => {
    // This kernel scans no partitions on loop devices and has no device-mapper: the sysfs and
    // /proc views of those cases are laid out in a directory, around a real block device.
    const { dir, device } = await setup(t)
    const dev = device(`${dir}/disk.img`)
    const name = dev.replace('/dev/', '')
    const sys = `${dir}/sys`
    const proc = `${dir}/proc`
    const block = `${sys}/class/block/${name}`
    mkdirSync(`${block}/holders`, { recursive: true })
    mkdirSync(proc)
    writeFileSync(`${proc}/swaps`, 'Filename Type Size Used Priority\n')
    const check = () => deviceInUse(dev, { mounts: async () => [], sysRoot: sys, procRoot: proc })
    assert.equal(await check(), undefined, 'free')
    mkdirSync(`${block}/${name}p1`)
    writeFileSync(`${block}/${name}p1/partition`, '1\n')
    assert.equal(await check(), `${dev} holds partitions (${dev}p1)`)
    rmSync(`${block}/${name}p1`, { recursive: true })
    mkdirSync(`${block}/holders/dm-3`)
    assert.equal(await check(), `${dev} is held by /dev/dm-3 (LVM, md or dm)`)
    rmSync(`${block}/holders/dm-3`, { recursive: true })
    writeFileSync(`${proc}/swaps`, `Filename Type Size Used Priority\n${dev} partition 1024 0 -2\n`)
    assert.equal(await check(), `${dev} is in use as swap`)
    writeFileSync(`${proc}/swaps`, 'Filename Type Size Used Priority\n')
    // mounted in another mount namespace: only the kernel's exclusive claim shows it
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sleep', 'infinity'], {
      stdio: 'ignore',
    })
    t.after(() => holder.kill('SIGKILL'))
    await new Promise((r) => setTimeout(r, 200))
    mkdirSync(`${dir}/other-ns`)
    execFileSync('nsenter', ['-t', String(holder.pid), '-m', '--', 'mount', dev, `${dir}/other-ns`])
    assert.match(
      String(await check()),
      new RegExp(`${dev} is in use \\(mounted in another mount namespace`),
    )
    execFileSync('nsenter', ['-t', String(holder.pid), '-m', '--', 'umount', `${dir}/other-ns`])
    assert.equal(await check(), undefined)
  })
})
