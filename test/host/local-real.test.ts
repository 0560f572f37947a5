import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import {
  appendFileSync,
  readdirSync,
  readFileSync,
  statfsSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { dirname } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { VolumeStateError } from '../../src/errors.ts'
import { createExec } from '../../src/host/exec.ts'
import { writeFileAtomic } from '../../src/host/files.ts'
import { createLinuxHost } from '../../src/host/linux-host.ts'
import { createLocalProvider } from '../../src/providers/local/local-provider.ts'
import { providerContract, testContext } from '../contract/provider-contract.ts'
import { buildApp } from '../support/build.ts'
import { cleanupUnder } from '../support/host-cleanup.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

/** CAP_SYS_RESOURCE (bit 24) in this process's effective set: ext4 online resize needs it. */
const HAS_SYS_RESOURCE =
  (BigInt(
    `0x${/CapEff:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'}`,
  ) >>
    24n) &
  1n
    ? true
    : false

const ROOT_SKIP =
  process.getuid?.() !== 0 ? 'host tier needs root (loop devices, mkfs, mount)' : false

/** A temp dir whose mounts and loop devices must all be gone when the test ends. */
async function hostDir(t: TestContext): Promise<string> {
  const dir: string = await tmpDir(t, 'fuxi-host-', () => {
    const leaked = cleanupUnder(dir)
    assert.deepEqual(leaked, { mounts: [], loops: [] }, 'test leaked mounts or loop devices')
  })
  return dir
}

async function make(t: TestContext) {
  const dir = await hostDir(t)
  const host = createLinuxHost(createExec())
  const provider = createLocalProvider(
    { dir: `${dir}/local`, defaults: { size: 1, maxSize: 16, fstype: 'ext4' } },
    { host, log: memoryLogger().log },
  )
  return { provider, host, dir, mountRoot: `${dir}/mnt`, createOptions: { size: '1' } }
}

if (!ROOT_SKIP) {
  providerContract('local (real loop devices)', make, {
    additionalTests: () => {
      it('keeps data across unmount and remount', async (t) => {
        const { provider, mountRoot } = await make(t)
        await provider.create('d', { size: '1', fstype: 'ext4' })
        const mp = `${mountRoot}/d`
        await provider.mount('d', mp, testContext())
        writeFileSync(`${mp}/hello.txt`, 'kept')
        await provider.unmount('d', mp, testContext())
        await provider.mount('d', mp, testContext())
        assert.equal(readFileSync(`${mp}/hello.txt`, 'utf8'), 'kept')
        await provider.unmount('d', mp, testContext())
      })

      it('caps the volume at its size', async (t) => {
        const { provider, mountRoot } = await make(t)
        await provider.create('cap', { size: '1', fstype: 'ext4' })
        const mp = `${mountRoot}/cap`
        await provider.mount('cap', mp, testContext())
        assert.throws(
          () =>
            execFileSync('dd', ['if=/dev/zero', `of=${mp}/fill`, 'bs=1M', 'count=1100'], {
              stdio: 'pipe',
            }),
          /No space left on device/,
        )
        await provider.unmount('cap', mp, testContext())
      })

      it('makes and mounts xfs', async (t) => {
        const { provider, host, mountRoot } = await make(t)
        await provider.create('x', { size: '1', fstype: 'xfs' })
        const mp = `${mountRoot}/x`
        await provider.mount('x', mp, testContext())
        assert.equal((await host.mountAt(mp))?.fsType, 'xfs')
        await provider.unmount('x', mp, testContext())
      })
    },
  })
}

it('serializes 40 concurrent mounts and unmounts of one volume on a real loop device', {
  skip: ROOT_SKIP,
}, async (t) => {
  const dir = await hostDir(t)
  const host = createLinuxHost(createExec())
  const { app } = await buildApp(t, { dir, host })
  await app.volumes.create('busy', {})
  const ids = Array.from({ length: 40 }, (_, i) => `c${i % 10}`)
  const mps = await Promise.all(ids.map((id) => app.volumes.mount('busy', id)))
  assert.equal(new Set(mps).size, 1)
  const path = mps[0] as string
  const mp = dirname(path)
  assert.equal((await host.loopDevicesFor(`${dir}/state/local/busy.img`)).length, 1)
  writeFileSync(`${path}/x`, 'y')
  // interleave unmounts with a second wave of mounts
  await Promise.all([
    ...ids.map((id) => app.volumes.unmount('busy', id)),
    ...ids.slice(0, 5).map((id) => app.volumes.mount('busy', `${id}-2`)),
  ])
  assert.equal(app.volumes.get('busy')?.status.refs, 5)
  assert.ok(await host.mountAt(mp))
  await Promise.all(ids.slice(0, 5).map((id) => app.volumes.unmount('busy', `${id}-2`)))
  assert.equal(await host.mountAt(mp), undefined)
  assert.deepEqual(await host.loopDevicesFor(`${dir}/state/local/busy.img`), [])
  await app.volumes.remove('busy')
})

it('hands Docker an empty data/ on a real ext4 and xfs (lost+found stays in the root), owned and moded as asked, once', {
  skip: ROOT_SKIP,
}, async (t) => {
  const dir = await hostDir(t)
  const host = createLinuxHost(createExec())
  const { app } = await buildApp(t, { dir, host })
  for (const fstype of ['ext4', 'xfs']) {
    const name = `pg-${fstype}`
    await app.volumes.create(name, { fstype, uid: '999', gid: '998', mode: '0700' })
    const path = await app.volumes.mount(name, 'c1')
    assert.equal(path, `${dir}/data/local/${name}/data`)
    assert.deepEqual(readdirSync(path), [], 'what initdb wants: an empty folder')
    if (fstype === 'ext4') assert.ok(readdirSync(dirname(path)).includes('lost+found'))
    const st = statSync(path)
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [999, 998, 0o700])
    // The user's own changes are kept: fuxi sets owner and mode only on the folder it makes.
    execFileSync('chmod', ['0750', path])
    writeFileSync(`${path}/PG_VERSION`, '15')
    await app.volumes.unmount(name, 'c1')
    const again = await app.volumes.mount(name, 'c2')
    assert.equal(again, path)
    assert.equal(statSync(path).mode & 0o7777, 0o750)
    assert.equal(readFileSync(`${path}/PG_VERSION`, 'utf8'), '15')
    await app.volumes.unmount(name, 'c2')
    await app.volumes.remove(name)
  }
})

it("mounts a real filesystem with the volume's own -o mount_options", {
  skip: ROOT_SKIP,
}, async (t) => {
  const dir = await hostDir(t)
  const host = createLinuxHost(createExec())
  const { app } = await buildApp(t, { dir, host })
  await app.volumes.create('quick', { mount_options: 'noatime,commit=30' })
  const path = await app.volumes.mount('quick', 'c1')
  assert.match(
    readFileSync('/proc/self/mountinfo', 'utf8'),
    new RegExp(`${dirname(path)} \\S*noatime`),
  )
  assert.match(
    readFileSync('/proc/mounts', 'utf8'),
    new RegExp(`${dirname(path)} ext4 \\S*commit=30`),
  )
  await app.volumes.unmount('quick', 'c1')
  await app.volumes.remove('quick')
})

it('mkfs makes the folder (ext4 -d, xfs -p): a read-only mount right after the format finds it', {
  skip: ROOT_SKIP,
}, async (t) => {
  const dir = await hostDir(t)
  const host = createLinuxHost(createExec())
  for (const fstype of ['ext4', 'xfs']) {
    const img = `${dir}/${fstype}.img`
    execFileSync('truncate', ['-s', '320M', img])
    const dev = await host.attachLoop(img)
    try {
      await host.makeFilesystem(dev, fstype, {
        force: false,
        dataDir: { name: 'data', uid: 999, gid: 998, mode: 0o750 },
      })
      const mp = `${dir}/ro-${fstype}`
      execFileSync('mkdir', ['-p', mp])
      await host.mount(dev, mp, fstype, ['ro', fstype === 'xfs' ? 'norecovery' : 'noload'])
      const st = statSync(`${mp}/data`)
      assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [999, 998, 0o750], fstype)
      assert.deepEqual(readdirSync(`${mp}/data`), [])
      await host.unmount(mp)
    } finally {
      await host.detachLoop(dev)
    }
  }
})

it('fuxi resize grows a mounted ext4 and xfs online while a writer writes; an unmounted one at its next mount', {
  skip: ROOT_SKIP,
}, async (t) => {
  const dir = await hostDir(t)
  const host = createLinuxHost(createExec())
  const { app } = await buildApp(t, { dir, host })
  const gib = (p: string) => {
    const s = statfsSync(p)
    return (s.blocks * s.bsize) / 1024 ** 3
  }
  for (const fstype of ['ext4', 'xfs']) {
    const name = `grow-${fstype}`
    await app.volumes.create(name, { size: '1', fstype })
    const path = await app.volumes.mount(name, 'c1')
    assert.ok(gib(path) < 1.01)
    // A writer appends while the volume grows under it.
    const file = `${path}/stream`
    let written = 0
    let stop = false
    const writer = (async () => {
      const chunk = Buffer.alloc(1 << 20, 7)
      while (!stop) {
        appendFileSync(file, chunk)
        written += chunk.length
        await new Promise((r) => setImmediate(r))
      }
    })()
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(await app.volumes.resize(name, '2'), '2')
    stop = true
    await writer
    // ext4 grows online only with CAP_SYS_RESOURCE (this sandbox has none): else at next mount.
    const pending = app.volumes.get(name)?.status.grow_pending === true
    if (fstype === 'xfs' || HAS_SYS_RESOURCE) {
      assert.ok(!pending)
      assert.ok(gib(path) > 1.8, `${fstype} grew online: ${gib(path)} GiB`)
    } else assert.ok(pending, 'refused online: grows at the next mount')
    assert.equal(statSync(file).size, written, 'every byte the writer wrote is there')
    await app.volumes.unmount(name, 'c1')
    assert.equal(await app.volumes.resize(name, '3'), '3')
    const again = await app.volumes.mount(name, 'c2')
    assert.equal(app.volumes.get(name)?.status.grow_pending, undefined)
    assert.ok(gib(again) > 2.7, `${fstype} grown at the next mount: ${gib(again)} GiB`)
    assert.equal(statSync(`${again}/stream`).size, written)
    await app.volumes.unmount(name, 'c2')
    await app.volumes.remove(name)
  }
})

describe('a full state directory', {
  skip: process.getuid?.() !== 0 ? 'needs root (tmpfs)' : false,
}, () => {
  it('a journal write that fails says what to free, and leaves no temp file', async (t) => {
    const dir = await tmpDir(t, 'fuxi-full-', () => {
      execFileSync('umount', ['-l', dir])
    })
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir])
    try {
      // fills it: dd stops with "No space left on device"
      execFileSync('dd', ['if=/dev/zero', `of=${dir}/filler`, 'bs=4k', 'count=64'], {
        stdio: 'ignore',
      })
    } catch {}
    const err = await writeFileAtomic(`${dir}/v.json`, 'x'.repeat(8192)).catch((e: unknown) => e)
    assert.ok(err instanceof VolumeStateError, String(err))
    assert.match(
      err.message,
      new RegExp(
        `no space left on the device of ${dir} \\(fuxi's state directory\\): free some space there and retry`,
      ),
    )
    assert.deepEqual(readdirSync(dir), ['filler'], 'no temp file left')
  })
})
