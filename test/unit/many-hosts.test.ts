import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { localConnector } from '../../src/connectors/local.ts'
import { OpenStackHttpError, VolumeInUseError } from '../../src/errors.ts'
import type { Exec } from '../../src/host/exec.ts'
import type { CinderApi } from '../../src/providers/cinder/attach-flow.ts'
import { createCinderProvider } from '../../src/providers/cinder/cinder-provider.ts'
import { createManilaProvider, type ManilaApi } from '../../src/providers/manila/manila-provider.ts'
import { shareMounter } from '../../src/providers/manila/share-mounts.ts'
import type { VolumeProvider } from '../../src/volumes/provider.ts'
import { FakeCinder } from '../fakes/fake-cinder.ts'
import { FakeHost } from '../fakes/fake-host.ts'
import { FakeManila } from '../fakes/fake-manila.ts'
import { buildApp } from '../support/build.ts'
import { cinderOptions } from '../support/cinder-options.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

/**
 * Two Docker hosts on one (fake) cloud project: each its own fuxi (state, journal, host id), both
 * sharing a host name as VMs cloned from one image do. One fake host machine stands for both
 * (their mount roots differ; each gets its own loop device of a shared volume, as two machines
 * would see their own disk).
 */

const unavailable = (what: string) =>
  new OpenStackHttpError({
    service: 'volumev3',
    method: 'GET',
    url: `/${what}`,
    status: 503,
    detail: 'Service Unavailable',
  })

/** An API whose next `method` call fails once with a 503 (after fuxi's retries, as seen by it). */
function flaky<T extends object>(
  api: T,
  method: keyof T & string,
): { api: T; failOnce: () => void } {
  let fail = false
  const proxy = new Proxy(api, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (prop === method && typeof value === 'function')
        return (...args: unknown[]) => {
          if (fail) {
            fail = false
            return Promise.reject(unavailable(method))
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
      if (typeof value === 'function') return value.bind(target)
      return value
    },
  })
  return {
    api: proxy,
    failOnce: () => {
      fail = true
    },
  }
}

async function twoCinderHosts(t: TestContext) {
  const machine = new FakeHost()
  const dir = await tmpDir(t)
  const cinder = new FakeCinder(machine, dir)
  const host = async (id: string) => {
    const { api, failOnce } = flaky<CinderApi>(cinder, 'listVolumes')
    let provider: VolumeProvider | undefined
    const providerLog = memoryLogger()
    const make = (hostId: string) =>
      createCinderProvider(
        cinderOptions(hostId, `${dir}/${id}/state/cinder`, { settleMs: 300, orphanGraceMs: 50 }),
        {
          api,
          host: machine,
          connectors: [localConnector(machine, [1, 1])],
          log: providerLog.log,
        },
      )
    const start = () =>
      buildApp(t, {
        host: machine,
        dir: `${dir}/${id}`,
        extraConfig: `host_id = web-1-${id}`,
        providers: (_h, hostId) => {
          provider = make(hostId)
          return [provider]
        },
      })
    const first = await start()
    return {
      ...first,
      failOnce,
      id,
      restart: start,
      provider: () => provider as VolumeProvider,
      providerLines: providerLog.lines,
    }
  }
  return { machine, cinder, a: await host('a'), b: await host('b') }
}

describe('two hosts on one Cinder project', () => {
  it("a create whose lookup fails leaves the other host's volume and its data alone", async (t) => {
    const { cinder, a, b } = await twoCinderHosts(t)
    await a.app.volumes.create('pgdata', {})
    const v = [...cinder.volumes.values()][0]
    assert.ok(v)
    b.failOnce()
    await assert.rejects(b.app.volumes.create('pgdata', {}), /HTTP 503/)
    assert.equal(cinder.volumes.get(v.id)?.status, 'available', "A's volume is still there")
    assert.ok(!cinder.calls.some((c) => c.startsWith('delete')), 'nothing deleted')
    assert.equal(b.app.volumes.get('pgdata'), undefined)
    // and once the cloud answers, B's create finds it and shares it
    await b.app.volumes.create('pgdata', {})
    assert.equal(cinder.volumes.size, 1)
  })

  it('a create interrupted on B deletes nothing A made, even if its record claims it', async (t) => {
    const { cinder, a, b } = await twoCinderHosts(t)
    await a.app.volumes.create('pgdata', {})
    const v = [...cinder.volumes.values()][0]
    assert.ok(v)
    await b.app.store.save({
      name: 'pgdata',
      provider: 'cinder',
      createdAt: new Date().toISOString(),
      options: {},
      refs: {},
      bootId: 'boot-1',
      device: null,
      phase: { kind: 'creating', made: { id: v.id, marker: `${b.app.hostId}/lost-create` } },
    })
    await b.app.close()
    const again = await b.restart()
    const actions = await again.app.reconcile()
    assert.deepEqual(
      actions.filter((x) => x.volume === 'pgdata').map((x) => x.action),
      ['kept what an interrupted create made: it is in use'],
    )
    assert.equal(cinder.volumes.get(v.id)?.status, 'available')
    assert.ok(!cinder.calls.some((c) => c.startsWith('delete')), 'nothing deleted')
  })

  it('creates of one name at once on both hosts end with one volume, used by both', async (t) => {
    const { cinder, a, b } = await twoCinderHosts(t)
    await Promise.all([a.app.volumes.create('race', {}), b.app.volumes.create('race', {})])
    const left = [...cinder.volumes.values()].filter((v) => v.status !== 'deleting')
    assert.equal(left.length, 1, JSON.stringify([...cinder.volumes.values()].map((v) => v.status)))
    assert.ok(a.app.volumes.get('race') && b.app.volumes.get('race'))
  })

  it('a remove refused while A uses the volume stays refused after a restart; the data survive', async (t) => {
    const { machine, cinder, a, b } = await twoCinderHosts(t)
    await a.app.volumes.create('db', {})
    await a.app.volumes.mount('db', 'container-1')
    const v = [...cinder.volumes.values()][0]
    assert.ok(v)
    const err = await b.app.volumes.remove('db').catch((e: unknown) => e)
    assert.ok(err instanceof VolumeInUseError)
    assert.match(
      err.message,
      new RegExp(`attached to ${a.app.hostId} \\(attachment .*read-write\\)`),
    )
    assert.equal(b.app.volumes.get('db')?.status.phase, 'idle', 'the refusal changed nothing')
    assert.ok(
      b
        .lines()
        .some((l) => l.msg === 'volume not removed; it is as it was' && l.outcome === 'refused'),
    )
    await a.app.volumes.unmount('db', 'container-1')
    await b.app.close()
    const again = await b.restart()
    await again.app.reconcile()
    assert.equal(cinder.volumes.get(v.id)?.status, 'available', 'not deleted at the restart')
    assert.ok(again.app.volumes.get('db'))
    assert.equal(machine.loops.size, 0)
  })

  it("hosts sharing a host name never take each other's attachment", async (t) => {
    const { machine, cinder, a, b } = await twoCinderHosts(t)
    await a.app.volumes.create('db', {})
    await a.app.volumes.mount('db', 'c1')
    await assert.rejects(b.app.volumes.mount('db', 'c2'), (e: unknown) => {
      assert.ok(e instanceof VolumeInUseError)
      assert.match(e.message, new RegExp(`attached to ${a.app.hostId} `))
      return true
    })
    const v = [...cinder.volumes.values()][0]
    assert.equal(v?.attachments.length, 1, "B left no attachment and did not take A's")
    await b.app.volumes.unmount('db', 'c2') // an Unmount dockerd never sends; still harmless
    assert.equal(v?.attachments.length, 1, "A's attachment is still there")
    assert.equal(machine.table.length, 1)
    await a.app.volumes.unmount('db', 'c1')
  })

  it('a refusal from a cached look is checked again: right after A releases, B mounts', async (t) => {
    const { a, b } = await twoCinderHosts(t)
    await a.app.volumes.create('db', {})
    await a.app.volumes.mount('db', 'c1')
    const seen = await b.app.volumes.lookup('db') // dockerd's Get: B now knows "attached to A"
    assert.deepEqual(seen?.status.attached_to, [a.app.hostId])
    await a.app.volumes.unmount('db', 'c1')
    const mp = await b.app.volumes.mount('db', 'c2') // within FRESH_MS of that look
    assert.match(mp, /\/cinder\/db\/data$/)
    await b.app.volumes.unmount('db', 'c2')
  })

  it('a blank multiattach volume mounted on both hosts at once is formatted once', async (t) => {
    const { machine, a, b } = await twoCinderHosts(t)
    await a.app.volumes.create('shared', {
      volume_type: 'multiattach',
      multiattach: 'true',
      access: 'readonly-many',
    })
    await b.app.volumes.lookup('shared')
    await Promise.all([a.app.volumes.mount('shared', 'c1'), b.app.volumes.mount('shared', 'c2')])
    assert.equal(
      machine.calls.filter((c) => c.startsWith('mkfs')).length,
      1,
      machine.calls.join('\n'),
    )
    const options = [...machine.mountOptions.values()].map((o) => o.join(','))
    assert.deepEqual(options.sort(), ['nosuid,nodev', 'nosuid,nodev,ro,noload'])
    await Promise.all([
      a.app.volumes.unmount('shared', 'c1'),
      b.app.volumes.unmount('shared', 'c2'),
    ])
    assert.equal(machine.loops.size, 0)
  })
})

/** Mount helpers that mount on the fake machine, and fail when told to. */
function fakeMountExec(machine: FakeHost, fail: { next: boolean }): Exec {
  return {
    async run(command, args) {
      if (fail.next) {
        fail.next = false
        throw new Error(`${command}: access denied by server`)
      }
      const [source, target] = args
      machine.table.push({ source: source as string, mountPoint: target as string, fsType: 'nfs' })
      return { stdout: '', stderr: '', exitCode: 0 }
    },
  }
}

async function twoManilaHosts(t: TestContext) {
  const machine = new FakeHost()
  const dir = await tmpDir(t)
  const manila = new FakeManila()
  const host = async (id: string) => {
    const { api, failOnce } = flaky<ManilaApi>(manila, 'listShares')
    const fail = { next: false }
    const start = () =>
      buildApp(t, {
        host: machine,
        dir: `${dir}/${id}`,
        extraConfig: `host_id = web-1-${id}`,
        providers: (_h, hostId) => [
          createManilaProvider(
            {
              volumeFrom: 'fuxi',
              defaults: {
                size: 1,
                shareProto: 'NFS',
                shareType: '',
                shareNetwork: '',
                availabilityZone: '',
              },
              me: hostId,
              // Cloned hosts: the same address in their fuxi.conf.
              accessTo: '192.0.2.10',
              cephxId: 'fuxi',
              exportCidr: '',
              keepAccess: false,
              removeShared: false,
            },
            {
              api,
              host: machine,
              mounter: shareMounter(fakeMountExec(machine, fail), {
                nfsOptions: [],
                cephfsOptions: [],
                cephfsClient: 'kernel',
                secretsDir: `${dir}/${id}/secrets`,
              }),
              log: memoryLogger().log,
            },
          ),
        ],
      })
    return { ...(await start()), failOnce, fail, restart: start }
  }
  return { machine, manila, a: await host('a'), b: await host('b') }
}

describe('two hosts on one Manila project', () => {
  it("a create whose lookup fails leaves the other host's share alone", async (t) => {
    const { manila, a, b } = await twoManilaHosts(t)
    await a.app.volumes.create('web', {})
    b.failOnce()
    await assert.rejects(b.app.volumes.create('web', {}), /HTTP 503/)
    assert.equal([...manila.shares.values()].filter((s) => s.status === 'available').length, 1)
  })

  it("a refused remove changes nothing, and B's failed mount does not cut A off", async (t) => {
    const { manila, a, b } = await twoManilaHosts(t)
    await a.app.volumes.create('web', {})
    await a.app.volumes.mount('web', 'c1')
    const share = [...manila.shares.values()][0]
    assert.ok(share)
    const rules = async () => manila.listAccessRules(share.id)
    // B mounts through the same rule (same address), and its mount fails: A keeps its access.
    b.fail.next = true
    await assert.rejects(b.app.volumes.mount('web', 'c2'), /access denied/)
    const [rule] = await rules()
    assert.equal(rule?.state, 'active')
    assert.deepEqual(Object.keys(rule?.metadata ?? {}).sort(), [
      'fuxi_created',
      `fuxi_host_${a.app.hostId}`,
    ])
    // B's remove is refused, naming the host that uses the rule; the journal is as it was.
    await assert.rejects(
      b.app.volumes.remove('web'),
      new RegExp(`ip:192.0.2.10 \\(used by ${a.app.hostId}\\)`),
    )
    assert.equal(b.app.volumes.get('web')?.status.phase, 'idle')
    await a.app.volumes.unmount('web', 'c1')
    await b.app.close()
    const again = await b.restart()
    await again.app.reconcile()
    assert.equal(manila.shares.get(share.id)?.status, 'available', 'not deleted at the restart')
    assert.deepEqual(await rules(), [], "the last host's unmount denied the rule")
  })
})

describe('one host, the guards around the cloud', () => {
  it('an encrypted volume type is refused at create (what it made is discarded) and at mount', async (t) => {
    const { cinder, a } = await twoCinderHosts(t)
    await assert.rejects(
      a.app.volumes.create('secret', { volume_type: 'luks' }),
      /volume type "luks" is encrypted, and fuxi does not support encrypted volumes yet/,
    )
    assert.ok(
      [...cinder.volumes.values()].every((v) => v.status === 'deleting'),
      'discarded',
    )
    await cinder.add({
      name: 'made-elsewhere',
      encrypted: true,
      volume_type: 'luks',
      metadata: { volume_from: 'fuxi' },
    })
    await assert.rejects(
      a.app.volumes.mount('made-elsewhere', 'c1'),
      /is encrypted \(volume type "luks"\); fuxi does not support encrypted volumes yet/,
    )
    assert.equal(cinder.attachments.size, 0)
  })

  it('a cloud volume whose name cannot be a Docker name is not listed, adopted, or made a path', async (t) => {
    const { cinder, a } = await twoCinderHosts(t)
    await cinder.add({ name: '../../etc/evil', metadata: { volume_from: 'fuxi' } })
    await cinder.add({ name: 'fine', metadata: { volume_from: 'fuxi' } })
    assert.deepEqual(
      (await a.app.volumes.listAll()).map((v) => v.name),
      ['fine'],
    )
    await a.app.reconcile()
    assert.deepEqual(
      a.app.store.all().map((r) => r.name),
      ['fine'],
    )
    assert.ok(
      a.providerLines().some((l) => String(l.msg).includes('cannot be a Docker volume name')),
    )
  })

  it('heartbeats refresh the holder key of live attachments, and stop for one another host took', async (t) => {
    const { cinder, a } = await twoCinderHosts(t)
    await a.app.volumes.create('db', {})
    await a.app.volumes.mount('db', 'c1')
    const v = [...cinder.volumes.values()][0]
    assert.ok(v)
    const key = Object.keys(v.metadata).find((k) => k.startsWith('fuxi_attachment_')) as string
    v.metadata[key] = `${a.app.hostId};rw;2020-01-01T00:00:00.000Z`
    assert.equal(await a.provider().heartbeat?.(), 1)
    assert.ok(Date.parse(String(v.metadata[key]?.split(';')[2])) > Date.now() - 60_000, 'refreshed')
    // another host took the volume over (deleted this host's attachment and its key): no key is
    // written for it again, and the log says the containers here lost it
    const taken = key.slice('fuxi_attachment_'.length)
    v.attachments = v.attachments.filter((x) => x.attachment_id !== taken)
    delete v.metadata[key]
    assert.equal(await a.provider().heartbeat?.(), 0)
    assert.equal(v.metadata[key], undefined)
    assert.ok(
      a
        .providerLines()
        .some((l) => l.level === 50 && String(l.msg).includes('is gone (taken over')),
    )
  })
})

describe('an attachment whose answer was lost', () => {
  it('is found and taken back at once; a later mount is not stuck "attaching"', async (t) => {
    const { machine, cinder, a } = await twoCinderHosts(t)
    await a.app.volumes.create('db', {})
    const v = [...cinder.volumes.values()][0]
    assert.ok(v)
    cinder.loseAnswer.add('createAttachment')
    await assert.rejects(a.app.volumes.mount('db', 'c1'), /no answer within 3000 ms/)
    assert.equal(v.status, 'available', 'the lost attachment was deleted')
    assert.equal(cinder.attachments.size, 0)
    assert.ok(a.lines().some((l) => String(l.msg).includes('no host claims')))
    await a.app.volumes.mount('db', 'c2')
    await a.app.volumes.unmount('db', 'c2')
    assert.equal(machine.loops.size, 0)
  })

  it('killed during the attach call: the restart takes the unclaimed attachment back', async (t) => {
    const { cinder, a } = await twoCinderHosts(t)
    await a.app.volumes.create('db', {})
    const v = [...cinder.volumes.values()][0]
    const rec = a.app.store.get('db')
    assert.ok(v && rec)
    // The daemon died right after Cinder made the attachment: no record, no key, a journal
    // phase "mounting/attaching".
    await cinder.createAttachment(v.id, {
      connector: { host: a.app.hostId, ip: '127.0.0.1', multipath: false },
    })
    await a.app.store.save({ ...rec, phase: { kind: 'mounting', step: 'attaching', id: 'c1' } })
    await a.app.close()
    const again = await a.restart()
    await again.app.reconcile()
    assert.equal(v.status, 'available')
    assert.equal(cinder.attachments.size, 0)
    assert.equal(again.app.volumes.get('db')?.status.phase, 'idle')
  })

  it('a volume another host leaves "attaching": the Err names it and the command; an unclaimed one is cleared', async (t) => {
    const { cinder, a, b } = await twoCinderHosts(t)
    await a.app.volumes.create('db', {})
    const v = [...cinder.volumes.values()][0]
    assert.ok(v)
    // B's fuxi made its attachment and key, then died before completing it
    const stuck = await cinder.createAttachment(v.id, {
      connector: { host: b.app.hostId, ip: '127.0.0.1', multipath: false },
    })
    v.metadata[`fuxi_attachment_${stuck.id}`] = `${b.app.hostId};rw;${new Date().toISOString()}`
    await assert.rejects(
      a.app.volumes.mount('db', 'c1'),
      new RegExp(
        `is "attaching": ${b.app.hostId} \\(attachment ${stuck.id}\\) is attaching it; retry in a moment; if it stays so, that host may be gone: cinder --os-volume-api-version 3.27 attachment-delete ${stuck.id}`,
      ),
    )
    assert.ok(cinder.attachments.has(stuck.id), "a claimed attachment is not A's to delete")
    assert.equal(
      a.lines().filter((l) => l.msg === 'waiting for another operation on the volume').length,
      1,
      'one wait per mount',
    )
    // without a key nobody claims it: A takes it back and mounts
    delete v.metadata[`fuxi_attachment_${stuck.id}`]
    await a.app.volumes.mount('db', 'c2')
    assert.ok(!cinder.attachments.has(stuck.id))
    await a.app.volumes.unmount('db', 'c2')
  })
})

describe('references of containers Docker no longer has', () => {
  it('are dropped by the periodic reconcile after two looks (dockerd restarted and sent no Unmount)', async (t) => {
    // Each periodic pass asks Docker first; the test answers one pass at a time. A pass asks only
    // when the one before it has finished, so the next question means the last pass is done.
    let answer: ((inUse: Set<string>) => void) | undefined
    const { app, host } = await buildApp(t, {
      extraConfig: 'reconcile_interval = 1',
      docker: {
        volumesInUse: () =>
          new Promise<Set<string>>((resolve) => {
            answer = resolve
          }),
      },
    })
    const asked = async () => {
      while (!answer) await new Promise((r) => setTimeout(r, 10))
      const a = answer
      answer = undefined
      return a
    }
    /** Runs one periodic pass with `inUse` as Docker's answer, and waits until it has finished. */
    const pass = async (inUse: Set<string>) => {
      ;(await asked())(inUse)
      const next = await asked()
      answer = next
    }
    await app.volumes.create('v', {})
    await app.volumes.mount('v', 'c1')
    await pass(new Set(['v']))
    assert.equal(app.volumes.get('v')?.status.refs, 1, 'kept while a container uses it')
    await pass(new Set())
    assert.equal(app.volumes.get('v')?.status.refs, 1, 'one look is not enough (docker cp)')
    await pass(new Set())
    assert.equal(app.volumes.get('v')?.status.refs, 0, 'the second look releases it')
    assert.equal((host as FakeHost).table.length, 0, 'unmounted')
  })
})
