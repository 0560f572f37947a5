import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { CinderClient } from '../../src/openstack/cinder.ts'
import { Daemon } from '../support/daemon.ts'
import {
  cloudSession,
  DEVCLOUD_DIR,
  demoAuthConf,
  devcloudAuth,
  uniqueName,
} from '../support/devcloud.ts'
import { cleanupUnder } from '../support/host-cleanup.ts'
import { freePort, listeningPorts } from '../support/net.ts'
import { scrape } from '../support/prometheus.ts'
import { tmpDir } from '../support/tmp.ts'

const CINDER_API_LOG = `${DEVCLOUD_DIR}/log/cinder-api.log`
const REQ_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** The daemon's JSON log lines. */
const logLines = (d: Daemon) =>
  d.log
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)

/**
 * The id on the line that says `msg` about `volume` (the request that made it). The daemon logs
 * asynchronously: the line may arrive a moment after the answer, so wait up to 2 s for it.
 */
async function reqIdOf(d: Daemon, msg: string, volume: string): Promise<string> {
  const find = () => logLines(d).find((l) => l.msg === msg && l.volume === volume)
  let line = find()
  for (let i = 0; !line && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 20))
    line = find()
  }
  assert.ok(line, `no "${msg}" line for ${volume}:\n${d.log}`)
  assert.match(String(line.reqId), REQ_ID)
  return String(line.reqId)
}

/**
 * Cinder's access lines that carry `id` as the global request id: oslo.context logs
 * `[<global_request_id> <request_id> <user> <project> ...]`. Cinder may write a moment late.
 */
async function cinderLinesOf(id: string, atLeast: number): Promise<string[]> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const lines = (await readFile(CINDER_API_LOG, 'utf8'))
      .split('\n')
      .filter((l) => l.includes(`[${id} req-`) && l.includes('eventlet.wsgi.server'))
    if (lines.length >= atLeast || Date.now() > deadline) return lines
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe('request ids and metrics (dev cloud)', () => {
  it("a Docker call's request id is in fuxi's log and in Cinder's; /metrics counts the lifecycle", async (t) => {
    const volumeFrom = uniqueName('reqid')
    const port = await freePort()
    let daemon: Daemon | undefined
    const dir = await tmpDir(t, 'fuxi-reqid-', async () => {
      await daemon?.stop()
      cleanupUnder(dir)
    })
    daemon = await Daemon.create(dir, {
      extra: [
        `docker_socket = ${dir}/none.sock`,
        'volume_providers = cinder',
        `volume_from = ${volumeFrom}`,
        'my_ip = 127.0.0.1',
        `metrics_listen = 127.0.0.1:${port}`,
        ...demoAuthConf('cinder'),
      ].join('\n'),
    })
    await daemon.start()
    const d = daemon
    // The only TCP port the daemon listens on is the metrics one.
    assert.deepEqual(await listeningPorts(d.proc?.pid ?? 0), [port])
    const metrics = () => scrape({ host: '127.0.0.1', port })
    const requests = 'fuxi_plugin_requests_total'
    const m0 = await metrics()
    assert.equal(m0.value(requests, { endpoint: 'VolumeDriver.Create' }), 0)

    assert.equal(
      (await d.call('VolumeDriver.Create', { Name: 'vol', Opts: { size: '1' } })).Err,
      '',
    )
    const createId = await reqIdOf(d, 'volume created', 'vol')
    // Every Cinder call the Create made carries its id: the POST, then the polls until available.
    const created = await cinderLinesOf(createId, 2)
    assert.ok(
      created.some((l) => /"POST \/v3\/[0-9a-f]+\/volumes HTTP\/1\.1" status: 202/.test(l)),
      `Cinder logged the create under ${createId}:\n${created.join('\n')}`,
    )
    assert.ok(created.some((l) => /"GET \/v3\/[0-9a-f]+\/volumes\/[0-9a-f-]{36} HTTP/.test(l)))
    // ... while each of those HTTP requests has a request id of Cinder's own
    const own = created.map((l) => new RegExp(`\\[${createId} (req-[0-9a-f-]{36}) `).exec(l)?.[1])
    assert.equal(new Set(own).size, created.length)

    const m1 = await metrics()
    assert.equal(m1.value(requests, { endpoint: 'VolumeDriver.Create', outcome: 'ok' }), 1)
    const calls = 'fuxi_openstack_requests_total'
    assert.equal(
      m1.value(calls, { service: 'volumev3', operation: 'POST /v3/{id}/volumes', status: '202' }),
      1,
    )
    assert.equal(m1.value('fuxi_volumes', { provider: 'cinder', phase: 'idle' }), 1)

    const mount = await d.call('VolumeDriver.Mount', { Name: 'vol', ID: 'c1' })
    assert.equal(mount.Err, '', String(mount.Err))
    const mountId = await reqIdOf(d, 'volume mounted', 'vol')
    assert.notEqual(mountId, createId)
    const attached = await cinderLinesOf(mountId, 2)
    assert.ok(
      attached.some((l) => /"POST \/v3\/[0-9a-f]+\/attachments HTTP\/1\.1" status: 200/.test(l)),
      attached.join('\n'),
    )
    const m2 = await metrics()
    assert.equal(m2.value(requests, { endpoint: 'VolumeDriver.Mount', outcome: 'ok' }), 1)
    assert.equal(m2.value('fuxi_volumes_mounted', { provider: 'cinder' }), 1)
    assert.equal(m2.value('fuxi_mount_references', { provider: 'cinder' }), 1)
    assert.equal(
      m2.value(calls, {
        service: 'volumev3',
        operation: 'POST /v3/{id}/attachments',
        status: '200',
      }),
      1,
    )

    // A refused Remove (still mounted): an err outcome, logged at info with its id.
    assert.match(String((await d.call('VolumeDriver.Remove', { Name: 'vol' })).Err), /mounted/)
    // The daemon writes its log asynchronously: the line may reach us a moment after the answer.
    let refused = logLines(d).find((l) => l.msg === 'request refused')
    for (let i = 0; !refused && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 20))
      refused = logLines(d).find((l) => l.msg === 'request refused')
    }
    assert.equal(refused?.level, 30)
    assert.equal(refused?.endpoint, 'VolumeDriver.Remove')
    assert.match(String(refused?.reqId), REQ_ID)

    assert.equal((await d.call('VolumeDriver.Unmount', { Name: 'vol', ID: 'c1' })).Err, '')
    assert.equal((await d.call('VolumeDriver.Remove', { Name: 'vol' })).Err, '')
    const removeId = await reqIdOf(d, 'volume removed', 'vol')
    const deleted = await cinderLinesOf(removeId, 1)
    assert.ok(
      deleted.some((l) => /"DELETE \/v3\/[0-9a-f]+\/volumes\/[0-9a-f-]{36} HTTP/.test(l)),
      deleted.join('\n'),
    )
    const m3 = await metrics()
    assert.equal(m3.value(requests, { endpoint: 'VolumeDriver.Remove', outcome: 'err' }), 1)
    assert.equal(m3.value(requests, { endpoint: 'VolumeDriver.Remove', outcome: 'ok' }), 1)
    assert.equal(m3.value(requests, { endpoint: 'VolumeDriver.Unmount', outcome: 'ok' }), 1)
    assert.equal(m3.value('fuxi_volumes_mounted'), 0)
    assert.equal(m3.value('fuxi_volumes'), 0)
    assert.ok(m3.value(calls, { service: 'keystone', status: '201' }) >= 1, 'the token')
    assert.ok(m3.value('fuxi_lock_wait_seconds_count') >= 5)
    const project = /\/v3\/([0-9a-f]{32})\//.exec(created[0] ?? '')?.[1]
    assert.ok(project && !m3.text.includes(project), 'no project id in the labels')
    assert.doesNotMatch(m3.text, /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}/, 'no uuid in the labels')

    const api = new CinderClient(cloudSession(devcloudAuth('openrc-demo')))
    assert.deepEqual(await api.listVolumes({ metadata: { volume_from: volumeFrom } }), [])
  })
})
