import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import { CinderClient } from '../../src/openstack/cinder.ts'
import { ManilaClient } from '../../src/openstack/manila.ts'
import { Daemon } from '../support/daemon.ts'
import { cloudSession, demoAuthConf, devcloudAuth, uniqueName } from '../support/devcloud.ts'
import { faultProxy } from '../support/fault-proxy.ts'
import { cleanupUnder } from '../support/host-cleanup.ts'
import { STANDIN_PATH } from '../support/standins.ts'

/**
 * Two fuxi instances (hosts A and B, separate state) on one project and one volume_from, against
 * the dev cloud; B reaches Cinder and Manila through a fault proxy. For a Cinder volume and a
 * Manila share A made and wrote to: a failure injected into B's lookup of that name, B killed
 * while its create of that name waits, and a remove B is refused followed by B's restart — A's
 * volume and its data survive each, and the Err is clear.
 */
describe('two fuxi instances on one project: nothing deleted that nobody asked to delete', () => {
  const volumeFrom = uniqueName('two')
  const session = cloudSession(devcloudAuth('openrc-demo'))
  const cinder = new CinderClient(session)
  const manila = new ManilaClient(session)
  let cinderProxy: Awaited<ReturnType<typeof faultProxy>>
  let manilaProxy: Awaited<ReturnType<typeof faultProxy>>
  let a: Daemon
  let b: Daemon
  let root = ''

  const conf = (dir: string, o: { cinder?: string; manila?: string } = {}) =>
    [
      `docker_socket = ${dir}/none.sock`,
      'volume_providers = cinder,manila',
      `volume_from = ${volumeFrom}`,
      'my_ip = 127.0.0.1',
      ...demoAuthConf('cinder'),
      o.cinder ?? '',
      ...demoAuthConf('manila'),
      o.manila ?? '',
    ].join('\n')

  before(async () => {
    cinderProxy = await faultProxy(undefined, 'http://127.0.0.1:8776')
    manilaProxy = await faultProxy(undefined, 'http://127.0.0.1:8786')
    const volumeEndpoint = (await session.endpoint('volumev3')).replace(
      'http://127.0.0.1:8776',
      cinderProxy.url,
    )
    const shareEndpoint = (await session.endpoint('sharev2')).replace(
      'http://127.0.0.1:8786',
      manilaProxy.url,
    )
    await mkdir('/var/lib/fuxi-test', { recursive: true })
    root = await mkdtemp('/var/lib/fuxi-test/two-')
    for (const h of ['a', 'b']) await mkdir(`${root}/${h}`, { recursive: true })
    a = await Daemon.create(`${root}/a`, { extra: conf(`${root}/a`) })
    b = await Daemon.create(`${root}/b`, {
      extra: conf(`${root}/b`, {
        cinder: `endpoint_override = ${volumeEndpoint}\ntimeout = 5`,
        manila: `endpoint_override = ${shareEndpoint}\ntimeout = 5`,
      }),
    })
    for (const d of [a, b]) d.env = { PATH: STANDIN_PATH }
    await Promise.all([a.start(), b.start()])
  })
  after(async () => {
    await a?.stop()
    await b?.stop()
    cleanupUnder(root)
    for (const v of await cinder.listVolumes({ metadata: { volume_from: volumeFrom } })) {
      for (const x of v.attachments)
        await cinder.deleteAttachment(x.attachment_id).catch(() => false)
      await cinder.deleteVolume(v.id).catch(() => false)
    }
    for (const s of await manila.listShares({ metadata: { volume_from: volumeFrom } }))
      await manila.deleteShare(s.id).catch(() => false)
    await cinderProxy?.close()
    await manilaProxy?.close()
    await rm(root, { recursive: true, force: true })
  })

  const ok = async (d: Daemon, method: string, body: object) => {
    const r = await d.call(method, body)
    assert.equal(r.Err, '', `${method} ${JSON.stringify(body)}: ${r.Err}`)
    return r
  }
  /** A makes `name`, mounts it and writes `data`, and keeps it mounted. */
  const madeOnA = async (name: string, opts: Record<string, string>, data: string) => {
    await ok(a, 'VolumeDriver.Create', { Name: name, Opts: opts })
    const m = await ok(a, 'VolumeDriver.Mount', { Name: name, ID: 'a1' })
    writeFileSync(`${m.Mountpoint}/data`, data)
    return String(m.Mountpoint)
  }
  const exists = async (provider: 'cinder' | 'manila', name: string) =>
    provider === 'cinder'
      ? (await cinder.listVolumes({ name, metadata: { volume_from: volumeFrom } })).filter(
          (v) => v.status !== 'deleting',
        ).length
      : (await manila.listShares({ name, metadata: { volume_from: volumeFrom } })).filter(
          (s) => s.status !== 'deleting',
        ).length

  for (const provider of ['cinder', 'manila'] as const) {
    const opts: Record<string, string> =
      provider === 'cinder' ? { size: '1' } : { volume_provider: 'manila', size: '1' }
    const proxy = () => (provider === 'cinder' ? cinderProxy : manilaProxy)
    const listPath = provider === 'cinder' ? /\/volumes\/detail/ : /\/shares\/detail/

    it(`${provider}: B's create fails on its lookup (503): A's volume and data survive, the Err says why`, async () => {
      const name = `${provider}-lookup`
      const mp = await madeOnA(name, opts, 'from A')
      // Exactly the first lookup's tries (fuxi retries a GET 3 times): a rollback by name would
      // then find A's volume and delete it.
      proxy().inject('GET', { kind: 'status', status: 503 }, { path: listPath, times: 4 })
      const r = await b.call('VolumeDriver.Create', { Name: name, Opts: opts })
      assert.match(String(r.Err), /failed \(HTTP 503\)/)
      assert.equal(await exists(provider, name), 1)
      assert.equal(readFileSync(`${mp}/data`, 'utf8'), 'from A')
      await ok(a, 'VolumeDriver.Unmount', { Name: name, ID: 'a1' })
      await ok(a, 'VolumeDriver.Remove', { Name: name })
    })

    it(`${provider}: B killed while its create of that name waits: at restart nothing is deleted`, async () => {
      const name = `${provider}-killed`
      const mp = await madeOnA(name, opts, 'still here')
      proxy().inject('GET', { kind: 'delay', ms: 4000 }, { path: listPath })
      const pending = b.call('VolumeDriver.Create', { Name: name, Opts: opts }).catch((e) => e)
      await new Promise((r) => setTimeout(r, 1000))
      await b.kill()
      await pending
      await b.start()
      assert.match(
        b.log,
        new RegExp(
          `"volume":"${name}".*dropped an interrupted create that had made nothing; nothing deleted`,
        ),
      )
      assert.equal(await exists(provider, name), 1)
      assert.equal(readFileSync(`${mp}/data`, 'utf8'), 'still here')
      await ok(a, 'VolumeDriver.Unmount', { Name: name, ID: 'a1' })
      await ok(a, 'VolumeDriver.Remove', { Name: name })
    })

    it(`${provider}: B's remove is refused while A uses it, and stays refused after B restarts`, async () => {
      const name = `${provider}-held`
      await madeOnA(name, opts, 'keep me')
      const r = await b.call('VolumeDriver.Remove', { Name: name })
      assert.match(
        String(r.Err),
        provider === 'cinder'
          ? /is attached to .*stop its containers there first/
          : /still gives access to .*\(used by /,
      )
      assert.match(b.log, /volume not removed; it is as it was/)
      await ok(a, 'VolumeDriver.Unmount', { Name: name, ID: 'a1' })
      await b.stop()
      await b.start()
      assert.equal(await exists(provider, name), 1, 'not deleted by the restart')
      const again = await ok(a, 'VolumeDriver.Mount', { Name: name, ID: 'a2' })
      assert.equal(readFileSync(`${again.Mountpoint}/data`, 'utf8'), 'keep me')
      await ok(a, 'VolumeDriver.Unmount', { Name: name, ID: 'a2' })
      await ok(b, 'VolumeDriver.Remove', { Name: name }) // now it may go: nobody uses it
      assert.equal(await exists(provider, name), 0)
    })
  }
})
