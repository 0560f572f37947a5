import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { createLocalProvider } from '../../src/providers/local/local-provider.ts'
import type { FakeHost } from '../fakes/fake-host.ts'
import { buildApp } from '../support/build.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

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
    await app.store.save({
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

  it('rolls back a create the daemon died in: only what that create made, by its marker', async (t) => {
    const first = await buildApp(t)
    const host = first.host as FakeHost
    await first.app.volumes.create('v', {})
    await first.app.volumes.create('w', {})
    const marker = async (name: string) =>
      (
        JSON.parse(await readFile(`${first.dir}/state/local/${name}.json`, 'utf8')) as {
          createdBy: string
        }
      ).createdBy
    const [v, w] = [first.app.store.get('v'), first.app.store.get('w')]
    assert.ok(v && w)
    assert.match(await marker('v'), new RegExp(`^${first.app.hostId}/`))
    await first.app.store.save({
      ...v,
      phase: { kind: 'creating', made: { id: 'v', marker: await marker('v') } },
    })
    // w's record claims a create that made w with another marker: w is not that create's to undo
    await first.app.store.save({
      ...w,
      phase: { kind: 'creating', made: { id: 'w', marker: `${first.app.hostId}/another` } },
    })
    await first.app.close()
    const second = await restart(t, first.dir, host)
    const actions = (await second.app.reconcile()).sort((a, b) => a.volume.localeCompare(b.volume))
    assert.deepEqual(actions, [
      { volume: 'v', action: 'rolled back an interrupted create' },
      { volume: 'w', action: 'kept what an interrupted create made: it is in use' },
    ])
    assert.equal(second.app.volumes.get('v'), undefined)
    await assert.rejects(stat(`${first.dir}/state/local/v.img`), /ENOENT/)
    assert.equal(second.app.volumes.get('w')?.status.phase, 'idle')
    assert.ok(await stat(`${first.dir}/state/local/w.img`))
  })

  it('an interrupted create that recorded nothing it made deletes nothing', async (t) => {
    const first = await buildApp(t)
    await first.app.volumes.create('v', {})
    const v = first.app.store.get('v')
    assert.ok(v)
    await first.app.store.save({ ...v, phase: { kind: 'creating' } })
    await first.app.close()
    const second = await restart(t, first.dir, first.host as FakeHost)
    const actions = await second.app.reconcile()
    assert.deepEqual(actions, [
      {
        volume: 'v',
        action: 'dropped an interrupted create that had made nothing; nothing deleted',
      },
    ])
    assert.ok(await stat(`${first.dir}/state/local/v.img`), 'the image is still there')
  })

  it('a failed create deletes what it made (by id and marker), and nothing it found by name', async (t) => {
    const discarded: unknown[] = []
    const removed: string[] = []
    let failAfterMaking = true
    const { app, lines } = await buildApp(t, {
      providers: (host) => {
        const local = createLocalProvider(
          { dir: '/nonexistent', defaults: { size: 1, maxSize: 4, fstype: 'ext4' } },
          { host, log: memoryLogger().log },
        )
        return [
          {
            ...local,
            name: 'local',
            async create(_name, _options, ctx) {
              if (failAfterMaking) await ctx?.made('cloud-id-1')
              throw new Error('the cloud said no')
            },
            async discard(made) {
              discarded.push(made)
              return { kind: 'deleted' }
            },
            async remove(name) {
              removed.push(name)
            },
          },
        ]
      },
    })
    await assert.rejects(app.volumes.create('pgdata', {}), /the cloud said no/)
    assert.equal(discarded.length, 1)
    assert.match(
      JSON.stringify(discarded[0]),
      new RegExp(`^\\{"id":"cloud-id-1","marker":"${app.hostId}/[0-9a-f-]{36}"\\}$`),
    )
    failAfterMaking = false // e.g. the lookup of the name failed: another host's volume may exist
    await assert.rejects(app.volumes.create('pgdata', {}), /the cloud said no/)
    assert.equal(discarded.length, 1, 'nothing made, nothing discarded')
    assert.deepEqual(removed, [], 'never a remove by name')
    assert.equal(app.volumes.get('pgdata'), undefined)
    assert.ok(lines().some((l) => l.outcome === 'nothing-made'))
  })

  it('a remove interrupted before the delete keeps the volume; after it, forgets it', async (t) => {
    const first = await buildApp(t)
    await first.app.volumes.create('kept', {})
    await first.app.volumes.create('gone', {})
    for (const name of ['kept', 'gone']) {
      const r = first.app.store.get(name)
      assert.ok(r)
      await first.app.store.save({ ...r, phase: { kind: 'removing', id: name } })
    }
    const { rm } = await import('node:fs/promises')
    await rm(`${first.dir}/state/local/gone.json`)
    await rm(`${first.dir}/state/local/gone.img`)
    await first.app.close()
    const second = await restart(t, first.dir, first.host as FakeHost)
    const actions = (await second.app.reconcile()).sort((a, b) => b.volume.localeCompare(a.volume))
    assert.deepEqual(actions, [
      {
        volume: 'kept',
        action: 'an interrupted remove left the volume in place; remove it again if unwanted',
      },
      { volume: 'gone', action: 'finished an interrupted remove: the volume is gone' },
    ])
    assert.equal(second.app.volumes.get('kept')?.status.phase, 'idle')
    assert.ok(await stat(`${first.dir}/state/local/kept.img`))
    assert.equal(second.app.volumes.get('gone'), undefined)
  })

  it('finishes an interrupted format, then releases the device (dockerd saw the Mount fail)', async (t) => {
    const first = await buildApp(t)
    const host = first.host as FakeHost
    await first.app.volumes.create('v', {})
    const rec = first.app.store.get('v')
    assert.ok(rec)
    const img = `${first.dir}/state/local/v.img`
    await host.attachLoop(img)
    host.setSignature(img, 'ext4') // half-written
    await first.app.store.save({
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

describe('the data root', () => {
  it('is made root-only, with its provider folders (tightened if they were open)', async (t) => {
    const dir = await tmpDir(t)
    const { mkdir: mk, chmod: ch } = await import('node:fs/promises')
    await mk(`${dir}/data/local`, { recursive: true })
    await ch(`${dir}/data/local`, 0o755)
    await buildApp(t, { dir })
    assert.equal(
      (await stat(`${dir}/data`)).mode & 0o777,
      0o755,
      'an existing data root is left as it is',
    )
    assert.equal((await stat(`${dir}/data/local`)).mode & 0o777, 0o700)
    const fresh = await tmpDir(t)
    await buildApp(t, { dir: fresh })
    assert.equal((await stat(`${fresh}/data`)).mode & 0o777, 0o700)
  })
})
