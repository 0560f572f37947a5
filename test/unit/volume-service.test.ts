import assert from 'node:assert/strict'
import { stat } from 'node:fs/promises'
import { describe, it } from 'node:test'
import type { FakeHost } from '../fakes/fake-host.ts'
import { buildApp } from '../support/build.ts'

describe('volume service', () => {
  it('creates idempotently; bad options change nothing', async (t) => {
    const { app, dir } = await buildApp(t)
    await app.volumes.create('v', { size: '2' })
    await app.volumes.create('v', { size: '2' })
    assert.equal(app.volumes.list().length, 1)
    await assert.rejects(app.volumes.create('w', { size: 'x' }), /invalid value for option "size"/)
    await assert.rejects(
      app.volumes.create('w', { volume_provider: 'cinder' }),
      /enabled providers: local/,
    )
    await assert.rejects(app.volumes.create('../w', {}), /invalid volume name/)
    assert.deepEqual(
      app.volumes.list().map((v) => v.name),
      ['v'],
    )
    await assert.rejects(stat(`${dir}/state/local/w.img`), /ENOENT/)
  })

  it('a create refused because of a foreign image file leaves that file untouched', async (t) => {
    const { app, dir } = await buildApp(t)
    const { mkdir, writeFile, readFile } = await import('node:fs/promises')
    await mkdir(`${dir}/state/local`, { recursive: true })
    await writeFile(`${dir}/state/local/theirs.img`, 'precious')
    await assert.rejects(app.volumes.create('theirs', {}), /was not created by fuxi/)
    assert.equal(await readFile(`${dir}/state/local/theirs.img`, 'utf8'), 'precious')
    assert.equal(app.volumes.get('theirs'), undefined)
    // nor does a reconcile after a crash in the middle of such a create
    await app.volumes.save({
      name: 'theirs',
      provider: 'local',
      createdAt: new Date().toISOString(),
      options: {},
      refs: {},
      bootId: 'boot-1',
      device: null,
      phase: { kind: 'creating' },
    })
    await app.reconcile()
    assert.equal(await readFile(`${dir}/state/local/theirs.img`, 'utf8'), 'precious')
    assert.equal(app.volumes.get('theirs'), undefined)
  })

  it('attaches once for concurrent mounts and detaches once after the last unmount', async (t) => {
    const { app, host } = await buildApp(t)
    const fake = host as FakeHost
    await app.volumes.create('v', {})
    const ids = Array.from({ length: 20 }, (_, i) => `id${i % 7}`)
    await Promise.all(ids.map((id) => app.volumes.mount('v', id)))
    assert.equal(fake.calls.filter((c) => c.startsWith('losetup /')).length, 1)
    assert.equal(app.volumes.get('v')?.status.refs, 20)
    await Promise.all(ids.slice(1).map((id) => app.volumes.unmount('v', id)))
    assert.equal(fake.table.length, 1, 'still mounted while one reference is left')
    await app.volumes.unmount('v', ids[0])
    assert.equal(fake.table.length, 0)
    assert.equal(fake.loops.size, 0)
    assert.equal(fake.calls.filter((c) => c.startsWith('umount')).length, 1)
  })

  it('rolls back a failed first mount: no loop device left, no reference kept', async (t) => {
    const { app, host } = await buildApp(t)
    const fake = host as FakeHost
    await app.volumes.create('v', {})
    fake.failNext.add('mount')
    await assert.rejects(app.volumes.mount('v', 'A'), /injected mount failure/)
    assert.equal(fake.loops.size, 0)
    assert.equal(app.volumes.get('v')?.status.refs, 0)
    assert.equal(app.volumes.get('v')?.status.phase, 'idle')
    assert.equal(await app.volumes.mount('v', 'A'), app.volumes.get('v')?.mountpoint)
  })

  it('a failed re-mount of a volume in use leaves the other users alone', async (t) => {
    const { app, host } = await buildApp(t)
    const fake = host as FakeHost
    await app.volumes.create('v', {})
    await app.volumes.mount('v', 'A')
    fake.table.length = 0 // someone unmounted it behind fuxi's back
    fake.failNext.add('mount')
    await assert.rejects(app.volumes.mount('v', 'B'))
    assert.equal(fake.loops.size, 1, 'device kept for A')
    assert.equal(app.volumes.get('v')?.status.refs, 1)
    await app.volumes.mount('v', 'B')
    assert.equal(fake.table.length, 1, 'mount healed on the next Mount')
  })

  it('unmount of an unknown ID or unknown volume is a successful no-op', async (t) => {
    const { app, host } = await buildApp(t)
    await app.volumes.create('v', {})
    await app.volumes.mount('v', 'A')
    await app.volumes.unmount('v', 'nope')
    await app.volumes.unmount('ghost', 'A')
    assert.equal((host as FakeHost).table.length, 1)
  })

  it('refuses Remove while mounted and keeps the volume', async (t) => {
    const { app } = await buildApp(t)
    await app.volumes.create('v', {})
    await app.volumes.mount('v', 'A')
    await assert.rejects(app.volumes.remove('v'), /mounted by 1 container mount/)
    assert.ok(app.volumes.get('v'))
    await app.volumes.unmount('v', 'A')
    await app.volumes.remove('v')
    assert.equal(app.volumes.get('v'), undefined)
    await assert.rejects(app.volumes.remove('v'), /not found/)
  })

  it('a failed unmount drops the reference but remembers the device for the reconciler', async (t) => {
    const { app, host } = await buildApp(t)
    const fake = host as FakeHost
    await app.volumes.create('v', {})
    await app.volumes.mount('v', 'A')
    fake.failNext.add('unmount')
    await assert.rejects(app.volumes.unmount('v', 'A'), /injected unmount failure/)
    assert.equal(app.volumes.get('v')?.status.refs, 0)
    assert.equal(app.volumes.get('v')?.status.mounted, true)
    const actions = await app.reconcile()
    assert.deepEqual(actions, [
      { volume: 'v', action: 'unmounted and detached a volume no container references' },
    ])
    assert.equal(fake.table.length, 0)
    assert.equal(fake.loops.size, 0)
  })

  it('logs one line per operation with volume, provider, op, duration and outcome', async (t) => {
    const { app, lines } = await buildApp(t)
    await app.volumes.create('v', {})
    await app.volumes.mount('v', 'A')
    const l = lines().find((x) => x.msg === 'volume mounted')
    assert.ok(l)
    assert.equal(l.volume, 'v')
    assert.equal(l.provider, 'local')
    assert.equal(l.op, 'mount')
    assert.equal(l.outcome, 'ok')
    assert.equal(typeof l.ms, 'number')
  })
})

describe('reconciler', () => {
  /** A daemon that created volume v, mounted it with ID A and stopped (the mount stays). */
  async function stoppedWithMount(t: Parameters<typeof buildApp>[0]) {
    const first = await buildApp(t)
    await first.app.volumes.create('v', {})
    await first.app.volumes.mount('v', 'A')
    await first.app.close()
    return { dir: first.dir, host: first.host as FakeHost }
  }

  async function restart(
    t: Parameters<typeof buildApp>[0],
    dir: string,
    host: FakeHost,
    inUse?: Set<string>,
  ) {
    return buildApp(t, { dir, host, docker: { volumesInUse: async () => inUse } })
  }

  it('voids references from before a host reboot and re-mounts nothing', async (t) => {
    const first = await stoppedWithMount(t)
    const host = first.host
    host.table.length = 0
    host.loops.clear()
    host.boot = 'boot-2'
    const second = await restart(t, first.dir, host)
    const actions = await second.app.reconcile()
    assert.ok(
      actions.some((a) => a.action === 'dropped mount references from before a host reboot'),
    )
    assert.equal(second.app.volumes.get('v')?.status.refs, 0)
    assert.equal(host.table.length, 0)
  })

  it('re-mounts a referenced volume whose mount is gone (same boot)', async (t) => {
    const first = await stoppedWithMount(t)
    const host = first.host
    host.table.length = 0
    const second = await restart(t, first.dir, host)
    await second.app.reconcile()
    assert.equal(host.table.length, 1)
    await second.app.volumes.unmount('v', 'A')
    assert.equal(host.table.length, 0)
  })

  it('drops references when the Docker API says no running container uses the volume', async (t) => {
    const first = await buildApp(t)
    const host = first.host as FakeHost
    await first.app.volumes.create('used', {})
    await first.app.volumes.create('gone', {})
    await first.app.volumes.mount('used', 'A')
    await first.app.volumes.mount('gone', 'B')
    await first.app.close()
    const second = await restart(t, first.dir, host, new Set(['used']))
    await second.app.reconcile()
    assert.equal(second.app.volumes.get('used')?.status.refs, 1)
    assert.equal(second.app.volumes.get('gone')?.status.refs, 0)
    assert.deepEqual(
      host.table.map((m) => m.mountPoint.split('/').pop()),
      ['used'],
    )
  })

  it('rolls back a create the daemon died in', async (t) => {
    const first = await buildApp(t)
    const host = first.host as FakeHost
    await first.app.volumes.create('v', {})
    const rec = first.app.volumes.record('v')
    assert.ok(rec)
    await first.app.volumes.save({ ...rec, phase: { kind: 'creating' } })
    await first.app.close()
    const second = await restart(t, first.dir, host)
    const actions = await second.app.reconcile()
    assert.deepEqual(actions, [{ volume: 'v', action: 'rolled back an interrupted create' }])
    assert.equal(second.app.volumes.get('v'), undefined)
    await assert.rejects(stat(`${first.dir}/state/local/v.img`), /ENOENT/)
  })

  it('finishes an interrupted format, then releases the device (dockerd saw the Mount fail)', async (t) => {
    const first = await buildApp(t)
    const host = first.host as FakeHost
    await first.app.volumes.create('v', {})
    const rec = first.app.volumes.record('v')
    assert.ok(rec)
    const img = `${first.dir}/state/local/v.img`
    await host.attachLoop(img)
    host.setSignature(img, 'ext4') // half-written
    await first.app.volumes.save({
      ...rec,
      phase: { kind: 'mounting', step: 'formatting', id: 'A' },
    })
    await first.app.close()
    const second = await restart(t, first.dir, host)
    await second.app.reconcile()
    assert.ok(host.calls.includes('mkfs ext4 /dev/loop0 force'), host.calls.join('\n'))
    assert.equal(host.loops.size, 0)
    assert.equal(second.app.volumes.get('v')?.status.phase, 'idle')
    assert.equal(second.app.volumes.get('v')?.status.formatted, true)
  })

  it('adopts a provider volume that has no journal record', async (t) => {
    const first = await buildApp(t)
    await first.app.volumes.create('v', { size: '3' })
    await first.app.close()
    const { rm } = await import('node:fs/promises')
    await rm(`${first.dir}/state/volumes/v.json`)
    const second = await restart(t, first.dir, first.host as FakeHost)
    assert.equal(second.app.volumes.get('v'), undefined)
    await second.app.reconcile()
    assert.equal(second.app.volumes.get('v')?.status.size, '3')
  })
})
