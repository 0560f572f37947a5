import assert from 'node:assert/strict'
import { stat } from 'node:fs/promises'
import { describe, it } from 'node:test'
import type { FakeHost } from '../fakes/fake-host.ts'
import { buildApp } from '../support/build.ts'

const GIB = 1024 ** 3

describe('fuxi resize (local provider)', () => {
  it('grows the image, the loop device and the mounted filesystem; the size is kept', async (t) => {
    const { app, dir, host } = await buildApp(t)
    const fake = host as FakeHost
    await app.volumes.create('g', { size: '1' })
    await app.volumes.mount('g', 'c1')
    assert.equal(await app.volumes.resize('g', '3'), '3')
    assert.equal((await stat(`${dir}/state/local/g.img`)).size, 3 * GIB)
    const device = app.volumes.get('g')?.status.device
    assert.ok(fake.calls.includes(`losetup -c ${device}`), fake.calls.join('\n'))
    assert.ok(fake.calls.includes(`grow ext4 ${device} ${dir}/data/local/g`), 'online grow')
    assert.equal(app.volumes.get('g')?.status.size, '3')
    assert.equal(await app.volumes.resize('g', 3), '3', 'the same size: nothing to do')
    await app.volumes.unmount('g', 'c1')
  })

  it('refuses to shrink, to pass max_volume_size, and a size that is not whole GiB; changes nothing', async (t) => {
    const { app, dir } = await buildApp(t, { extraConfig: '[local]\nmax_volume_size = 16' })
    await app.volumes.create('s', { size: '2' })
    await assert.rejects(
      app.volumes.resize('s', '1'),
      /is 2 GiB: fuxi grows volumes and never shrinks/,
    )
    await assert.rejects(app.volumes.resize('s', '17'), /over \[local\] max_volume_size \(16\)/)
    for (const bad of ['1.5', 'big', '', '0', -1])
      await assert.rejects(
        app.volumes.resize('s', bad),
        /give the new size as a whole number of GiB/,
      )
    await assert.rejects(app.volumes.resize('nope', '3'), /not found/)
    assert.equal((await stat(`${dir}/state/local/s.img`)).size, 2 * GIB)
    assert.equal(app.volumes.get('s')?.status.size, '2')
  })

  it('a volume resized while not mounted has its filesystem grown at the next mount', async (t) => {
    const { app, host } = await buildApp(t)
    const fake = host as FakeHost
    await app.volumes.create('later', { size: '1' })
    await app.volumes.mount('later', 'c1')
    await app.volumes.unmount('later', 'c1')
    const before = fake.calls.length
    assert.equal(await app.volumes.resize('later', '2'), '2')
    const grows = (from: number) => fake.calls.slice(from).filter((c) => c.startsWith('grow'))
    assert.deepEqual(grows(before), [], 'nothing mounted to grow')
    assert.equal(app.volumes.get('later')?.status.grow_pending, true)
    await app.volumes.mount('later', 'c2')
    const device = app.volumes.get('later')?.status.device
    assert.deepEqual(grows(before), [`grow ext4 ${device} offline`], 'ext4: before it is mounted')
    assert.equal(app.volumes.get('later')?.status.grow_pending, undefined)
    await app.volumes.unmount('later', 'c2')
    const again = fake.calls.length
    await app.volumes.mount('later', 'c3')
    assert.deepEqual(grows(again), [], 'grown once')
    await app.volumes.unmount('later', 'c3')
  })

  it('a grow that fails never keeps the data from its container; it is retried', async (t) => {
    const { app, host, dir } = await buildApp(t)
    const fake = host as FakeHost
    // ext4: the offline grow fails; the volume is mounted as it is and grown online after.
    await app.volumes.create('e', { size: '1' })
    await app.volumes.mount('e', 'c1')
    await app.volumes.unmount('e', 'c1')
    await app.volumes.resize('e', '2')
    fake.failNext.add('grow')
    const before = fake.calls.length
    await app.volumes.mount('e', 'c2')
    const device = app.volumes.get('e')?.status.device
    assert.deepEqual(
      fake.calls.slice(before).filter((c) => c.startsWith('grow')),
      [`grow ext4 ${device} offline`, `grow ext4 ${device} ${dir}/data/local/e`],
    )
    assert.equal(app.volumes.get('e')?.status.grow_pending, undefined)
    await app.volumes.unmount('e', 'c2')
    // xfs: its only (online) grow fails: mounted anyway, still pending, grown at the next mount.
    await app.volumes.create('x', { size: '1', fstype: 'xfs' })
    await app.volumes.mount('x', 'c1')
    await app.volumes.unmount('x', 'c1')
    await app.volumes.resize('x', '2')
    fake.failNext.add('grow')
    await app.volumes.mount('x', 'c2')
    assert.equal(app.volumes.get('x')?.status.mounted, true)
    assert.equal(app.volumes.get('x')?.status.grow_pending, true)
    await app.volumes.unmount('x', 'c2')
    await app.volumes.mount('x', 'c3')
    assert.equal(app.volumes.get('x')?.status.grow_pending, undefined)
    await app.volumes.unmount('x', 'c3')
  })
})
