import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { createLocalProvider } from '../../src/providers/local/local-provider.ts'
import { parseMountOptionList } from '../../src/volumes/mount-options.ts'
import { testContext } from '../contract/provider-contract.ts'
import { FakeHost } from '../fakes/fake-host.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

describe('-o mount_options', () => {
  it('takes the allowed options for the filesystem, normalized; refuses anything else with the list', () => {
    assert.equal(
      parseMountOptionList(' noatime, discard,commit=30,noatime', 'ext4'),
      'noatime,discard,commit=30',
    )
    assert.equal(parseMountOptionList('logbsize=64k,inode64', 'xfs'), 'logbsize=64k,inode64')
    for (const [list, fstype] of [
      ['nobarrier', 'ext4'],
      ['data=writeback', 'ext4'],
      ['commit=0', 'ext4'],
      ['errors=continue', 'ext4'],
      ['suid', 'ext4'],
      ['rw', 'ext4'],
      ['remount', 'xfs'],
      ['bind', 'xfs'],
      ['norecovery', 'xfs'],
      ['commit=5', 'xfs'],
      ['noatime=1', 'ext4'],
      ['toString', 'ext4'],
    ] as const)
      assert.throws(
        () => parseMountOptionList(list, fstype),
        new RegExp(`"${list}" is not allowed on ${fstype}; allowed: noatime, .*discard`),
        list,
      )
  })

  it('a local volume is mounted with its options; options edited into its metadata are refused', async (t) => {
    const dir = await tmpDir(t)
    const host = new FakeHost()
    const provider = createLocalProvider(
      { dir: `${dir}/local`, defaults: { size: 1, maxSize: 16, fstype: 'ext4' } },
      { host, log: memoryLogger().log },
    )
    assert.throws(() => provider.parseOptions({ mount_options: 'nobarrier' }), /not allowed/)
    const options = provider.parseOptions({ mount_options: 'noatime,discard' })
    assert.equal(options.mount_options, 'noatime,discard')
    await provider.create('fast', options)
    assert.equal((await provider.get('fast'))?.options.mount_options, 'noatime,discard')
    await provider.mount('fast', `${dir}/mnt/fast`, testContext())
    assert.deepEqual(host.mountOptions.get(`${dir}/mnt/fast`), [
      'nosuid',
      'nodev',
      'noatime',
      'discard',
    ])
    await provider.unmount('fast', `${dir}/mnt/fast`, testContext())

    const meta = `${dir}/local/fast.json`
    const kept = JSON.parse(await readFile(meta, 'utf8'))
    await writeFile(meta, JSON.stringify({ ...kept, mountOptions: 'bind' }))
    const again = createLocalProvider(
      { dir: `${dir}/local`, defaults: { size: 1, maxSize: 16, fstype: 'ext4' } },
      { host, log: memoryLogger().log },
    )
    await again.list()
    await assert.rejects(
      again.mount('fast', `${dir}/mnt/fast`, testContext()),
      /fuxi_mount_options metadata holds options fuxi does not mount with/,
    )
    await again.unmount('fast', `${dir}/mnt/fast`, testContext())
  })
})
