import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { CONFIG_DRIVE_LABEL, configDriveInstanceId } from '../../src/host/config-drive.ts'
import { createExec } from '../../src/host/exec.ts'
import { createLinuxHost } from '../../src/host/linux-host.ts'
import { cleanupUnder } from '../support/host-cleanup.ts'
import { tmpDir } from '../support/tmp.ts'

const SKIP = process.getuid?.() !== 0 ? 'needs root (loop devices, mount)' : false
const UUID = 'd8b7c1a4-3f6e-4c52-9a0b-5e1f2a3b4c5d'

/**
 * Waits until no loop device backs `img` any more: a detach the kernel defers (the device was
 * still open, e.g. by a blkid scan running beside this test) ends a moment later.
 */
async function detached(img: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (execFileSync('losetup', ['-j', img], { encoding: 'utf8' }).trim()) {
    if (Date.now() > deadline) throw new Error(`${img} is still attached to a loop device`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('config drive', { skip: SKIP }, () => {
  it("reads this instance's uuid from a drive labelled config-2, mounted or not, and leaves no mount", async (t) => {
    const dir = await tmpDir(t, 'fuxi-cd-', () => void cleanupUnder(dir))
    const host = createLinuxHost(createExec())
    // Nova writes iso9660 or vfat; this kernel reads neither, and the reader does not care: ext4.
    const img = `${dir}/config.img`
    execFileSync('truncate', ['-s', '16M', img])
    execFileSync('mkfs.ext4', ['-q', '-L', CONFIG_DRIVE_LABEL, img])
    const prep = `${dir}/prep`
    mkdirSync(prep)
    execFileSync('mount', ['-o', 'loop', img, prep])
    mkdirSync(`${prep}/openstack/latest`, { recursive: true })
    writeFileSync(
      `${prep}/openstack/latest/meta_data.json`,
      JSON.stringify({ uuid: UUID, name: 'docker-1' }),
    )
    // Already mounted (as cloud-init may leave it): read in place.
    assert.equal(await configDriveInstanceId(createExec(), host, dir), UUID)
    execFileSync('umount', ['-d', prep])
    await detached(img)
    // Not mounted: mounted read-only in a temp dir, read, unmounted.
    const dev = execFileSync('losetup', ['--find', '--show', img], { encoding: 'utf8' }).trim()
    try {
      assert.equal(await configDriveInstanceId(createExec(), host, dir), UUID)
      assert.deepEqual(
        (await readdir(dir)).filter((f) => f.startsWith('config-drive-')),
        [],
        'temp mountpoint removed',
      )
      assert.equal(
        (await host.mounts()).find((m) => m.source === dev),
        undefined,
        'unmounted',
      )
    } finally {
      execFileSync('losetup', ['-d', dev])
    }
    await detached(img)
    assert.equal(
      await configDriveInstanceId(createExec(), host, dir),
      undefined,
      'no drive: undefined',
    )
  })
})
