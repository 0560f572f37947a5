import assert from 'node:assert/strict'
import { stat, writeFile } from 'node:fs/promises'
import { it } from 'node:test'
import { createLocalProvider } from '../../src/providers/local/local-provider.ts'
import { providerContract, testContext } from '../contract/provider-contract.ts'
import { FakeHost } from '../fakes/fake-host.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

const DEFAULTS = { size: 1, maxSize: 16, fstype: 'ext4' }

async function make(t: Parameters<typeof tmpDir>[0], host = new FakeHost()) {
  const dir = await tmpDir(t)
  const provider = createLocalProvider(
    { dir: `${dir}/local`, defaults: DEFAULTS },
    { host, log: memoryLogger().log },
  )
  return { provider, host, dir, mountRoot: `${dir}/mnt`, createOptions: { size: '1' } }
}

providerContract('local (fake host)', (t) => make(t), {
  additionalTests: () => {
    it('applies defaults and validates size and fstype', async (t) => {
      const { provider } = await make(t)
      assert.deepEqual(provider.parseOptions({}), { size: '1', fstype: 'ext4', subdir: 'data' })
      assert.deepEqual(
        provider.parseOptions({ size: ' 3 ', fstype: 'xfs', volume_provider: 'local' }),
        { size: '3', fstype: 'xfs', subdir: 'data' },
      )
      for (const size of ['0', '-1', '1.5', 'abc', '17', '', '1e3'])
        assert.throws(
          () => provider.parseOptions({ size }),
          /invalid value for option "size"/,
          size,
        )
      assert.throws(() => provider.parseOptions({ fstype: 'btrfs' }), /use one of: ext4, xfs/)
    })

    it('mounts nosuid,nodev unless the volume opted out with -o suid=true / -o dev=true', async (t) => {
      const host = new FakeHost()
      const { provider, mountRoot } = await make(t, host)
      assert.throws(() => provider.parseOptions({ suid: 'yes' }), /option "suid".*use true/)
      await provider.create('plain', provider.parseOptions({}))
      await provider.create('tools', provider.parseOptions({ suid: 'true' }))
      assert.deepEqual((await provider.get('tools'))?.options, {
        size: '1',
        fstype: 'ext4',
        suid: 'true',
        subdir: 'data',
      })
      await provider.mount('plain', `${mountRoot}/plain`, testContext())
      await provider.mount('tools', `${mountRoot}/tools`, testContext())
      assert.deepEqual(host.mountOptions.get(`${mountRoot}/plain`), ['nosuid', 'nodev'])
      assert.deepEqual(host.mountOptions.get(`${mountRoot}/tools`), ['nodev'])
      await provider.unmount('plain', `${mountRoot}/plain`, testContext())
      await provider.unmount('tools', `${mountRoot}/tools`, testContext())
    })

    it('creates a sparse image of the requested size', async (t) => {
      const { provider, dir } = await make(t)
      await provider.create('big', { size: '4', fstype: 'ext4' })
      const st = await stat(`${dir}/local/big.img`)
      assert.equal(st.size, 4 * 1024 ** 3)
      assert.ok(st.blocks * 512 < 1024 * 1024, 'image must be sparse')
    })

    it('never takes over an image file it did not create', async (t) => {
      const { provider, dir } = await make(t)
      await provider.create('x', { size: '1', fstype: 'ext4' })
      await provider.remove('x')
      await writeFile(`${dir}/local/foreign.img`, 'precious')
      await assert.rejects(
        provider.create('foreign', { size: '1', fstype: 'ext4' }),
        /was not created by fuxi/,
      )
      assert.equal((await stat(`${dir}/local/foreign.img`)).size, 8)
    })

    it('does not format an image that already holds a filesystem; mounts it with its own type', async (t) => {
      const host = new FakeHost()
      const { provider, dir, mountRoot } = await make(t, host)
      await provider.create('pre', { size: '1', fstype: 'ext4' })
      host.setSignature(`${dir}/local/pre.img`, 'xfs')
      await provider.mount('pre', `${mountRoot}/pre`, testContext())
      assert.ok(!host.calls.some((c) => c.startsWith('mkfs')), host.calls.join('\n'))
      assert.equal(host.table[0]?.fsType, 'xfs')
    })

    it('formats a never-written image without probing it; probes once blocks are allocated', async (t) => {
      const host = new FakeHost()
      const { provider, dir, mountRoot } = await make(t, host)
      await provider.create('fresh', { size: '1', fstype: 'ext4' })
      await provider.mount('fresh', `${mountRoot}/fresh`, testContext())
      assert.deepEqual(
        host.calls.filter((c) => /^(blkid|mkfs)/.test(c)),
        ['mkfs ext4 /dev/loop0'],
      )
      await provider.create('written', { size: '1', fstype: 'ext4' })
      const { writeFileSync } = await import('node:fs')
      writeFileSync(`${dir}/local/written.img`, 'x', { flag: 'r+' })
      await provider.mount('written', `${mountRoot}/written`, testContext())
      assert.ok(host.calls.includes('blkid /dev/loop1'), host.calls.join('\n'))
    })

    it('never formats because a mount failed', async (t) => {
      const host = new FakeHost()
      const { provider, mountRoot } = await make(t, host)
      await provider.create('v', { size: '1', fstype: 'ext4' })
      host.failNext.add('mount')
      await assert.rejects(
        provider.mount('v', `${mountRoot}/v`, testContext()),
        /injected mount failure/,
      )
      await provider.unmount('v', `${mountRoot}/v`, testContext())
      await provider.mount('v', `${mountRoot}/v`, testContext())
      assert.equal(host.calls.filter((c) => c.startsWith('mkfs')).length, 1, host.calls.join('\n'))
    })

    it('re-formats only a device whose format fuxi itself was interrupted in', async (t) => {
      const host = new FakeHost()
      const { provider, dir, mountRoot } = await make(t, host)
      await provider.create('half', { size: '1', fstype: 'ext4' })
      host.setSignature(`${dir}/local/half.img`, 'ext4') // partial superblock from the dead mkfs
      const ctx = { ...testContext(), interruptedAt: 'formatting' as const }
      await provider.mount('half', `${mountRoot}/half`, ctx)
      assert.ok(host.calls.includes('mkfs ext4 /dev/loop0 force'), host.calls.join('\n'))
    })

    it('refuses a mountpoint that has something else mounted on it', async (t) => {
      const host = new FakeHost()
      const { provider, mountRoot } = await make(t, host)
      await provider.create('v', { size: '1', fstype: 'ext4' })
      host.table.push({ mountPoint: `${mountRoot}/v`, fsType: 'tmpfs', source: 'tmpfs' })
      await assert.rejects(
        provider.mount('v', `${mountRoot}/v`, testContext()),
        /already has tmpfs mounted/,
      )
    })
  },
})
