import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { describe, it } from 'node:test'
import { parseConfig } from '../../src/config/load.ts'
import type { DockerEngine } from '../../src/docker/engine.ts'
import { operationOf } from '../../src/openstack/operation.ts'
import { FakeHost } from '../fakes/fake-host.ts'
import { buildApp } from '../support/build.ts'
import { freePort, httpGet, listeningPorts } from '../support/net.ts'
import { scrape } from '../support/prometheus.ts'

/** dockerd's way: POST, JSON body, no Content-Type. */
const call = (app: Awaited<ReturnType<typeof buildApp>>['app'], path: string, body: object = {}) =>
  app.server
    .inject({ method: 'POST', url: path, payload: `${JSON.stringify(body)}\n` })
    .then((r) => r.json() as { Err?: string; Mountpoint?: string })

async function appWithMetrics(
  t: Parameters<typeof buildApp>[0],
  host = new FakeHost(),
  docker?: DockerEngine,
) {
  const port = await freePort()
  const built = await buildApp(t, {
    host,
    docker,
    extraConfig: `metrics_listen = 127.0.0.1:${port}\n`,
  })
  await built.app.listen()
  return { ...built, port, scrape: () => scrape(built.app.metricsAddress()) }
}

describe('metrics', () => {
  it('label OpenStack calls by method and templated path: no ids, no host, no query', () => {
    const project = '977104bd9c5b4165b68475897fb45cfe'
    const volume = '73eb001a-57dc-44af-aa8c-0cac87648e81'
    const cases: [string, string, string][] = [
      ['GET', 'http://127.0.0.1:8776/', 'GET /'],
      ['POST', 'https://k:5000/v3/auth/tokens', 'POST /v3/auth/tokens'],
      [
        'GET',
        `http://c:8776/v3/${project}/volumes/detail?name=pgdata&metadata=%7B%7D`,
        'GET /v3/{id}/volumes/detail',
      ],
      [
        'POST',
        `http://c:8776/v3/${project}/volumes/${volume}/action`,
        'POST /v3/{id}/volumes/{id}/action',
      ],
      [
        'DELETE',
        `http://c:8776/v3/${project}/volumes/${volume}/metadata/fuxi_attachment_${volume}`,
        'DELETE /v3/{id}/volumes/{id}/metadata/{key}',
      ],
      [
        'DELETE',
        `http://m:8786/v2/${project}/share-access-rules/${volume}/metadata/fuxi_host_web-1`,
        'DELETE /v2/{id}/share-access-rules/{id}/metadata/{key}',
      ],
      [
        'GET',
        `https://cloud/compute/v2.1/servers/${volume}/os-volume_attachments/${volume}`,
        'GET /compute/v2.1/servers/{id}/os-volume_attachments/{id}',
      ],
      [
        'GET',
        'http://169.254.169.254/openstack/latest/meta_data.json',
        'GET /openstack/latest/meta_data.json',
      ],
    ]
    for (const [method, url, want] of cases) assert.equal(operationOf(method, url), want, url)
  })

  it('metrics_listen takes host:port with an IP address or localhost; anything else is refused', () => {
    for (const ok of ['127.0.0.1:9464', '[::1]:9464', 'localhost:1', '0.0.0.0:65535'])
      assert.equal(
        parseConfig(`[DEFAULT]\nmetrics_listen = ${ok}\n`, 'f').DEFAULT.metrics_listen,
        ok,
      )
    assert.equal(parseConfig('', 'f').DEFAULT.metrics_listen, '', 'off by default')
    for (const [bad, why] of [
      ['9464', /not host:port/],
      ['127.0.0.1', /not host:port/],
      ['127.0.0.1:0', /out of range/],
      ['127.0.0.1:70000', /out of range/],
      ['metrics.example.com:9464', /not an IP address/],
      ['::1:9464', /not host:port/],
      ['http://127.0.0.1:9464/metrics', /not host:port/],
    ] as const)
      assert.throws(
        () => parseConfig(`[DEFAULT]\nmetrics_listen = ${bad}\n`, 'f'),
        (e: Error) => /\[DEFAULT\] metrics_listen: /.test(e.message) && why.test(e.message),
        bad,
      )
  })

  it('are off unless configured: nothing listens on TCP', async (t) => {
    const before = await listeningPorts()
    const { app } = await buildApp(t)
    await app.listen()
    assert.equal(app.metricsAddress(), undefined)
    assert.deepEqual(await listeningPorts(), before, 'no TCP listener opened')
    // the same look finds the listener once metrics are on
    const on = await appWithMetrics(t)
    assert.deepEqual(
      await listeningPorts(),
      [...before, on.port].sort((a, b) => a - b),
    )
  })

  it('count a Create/Mount/Unmount/Remove lifecycle, refusals, volumes, mounts and reconciles', async (t) => {
    const { app, scrape } = await appWithMetrics(t)
    const requests = 'fuxi_plugin_requests_total'
    const s0 = await scrape()
    assert.match(s0.contentType, /^text\/plain; version=0\.0\.4/)
    assert.equal(s0.value(requests, { endpoint: 'VolumeDriver.Mount', outcome: 'ok' }), 0)
    assert.equal(s0.value('fuxi_volumes', { provider: 'local', phase: 'idle' }), 0)
    assert.match(s0.text, /^fuxi_volumes\{provider="local",phase="idle"\} 0$/m, 'zero, not absent')

    assert.equal((await call(app, '/VolumeDriver.Create', { Name: 'v', Opts: {} })).Err, '')
    const s1 = await scrape()
    assert.equal(s1.value(requests, { endpoint: 'VolumeDriver.Create', outcome: 'ok' }), 1)
    assert.equal(s1.value('fuxi_volumes', { provider: 'local', phase: 'idle' }), 1)
    assert.equal(s1.value('fuxi_volumes_mounted', { provider: 'local' }), 0)

    assert.match(
      String((await call(app, '/VolumeDriver.Mount', { Name: 'v', ID: 'c1' })).Mountpoint),
      /\/v\/data$/,
    )
    const s2 = await scrape()
    assert.equal(s2.value(requests, { endpoint: 'VolumeDriver.Mount', outcome: 'ok' }), 1)
    assert.equal(s2.value(requests, { endpoint: 'VolumeDriver.Mount', outcome: 'err' }), 0)
    assert.equal(
      s2.value('fuxi_plugin_request_duration_seconds_count', { endpoint: 'VolumeDriver.Mount' }),
      1,
    )
    assert.equal(s2.value('fuxi_volumes_mounted', { provider: 'local' }), 1)
    assert.equal(s2.value('fuxi_mount_references', { provider: 'local' }), 1)
    assert.equal(s2.value('fuxi_lock_wait_seconds_count'), 2, 'Create and Mount took the lock')

    // refused: Remove while mounted, Mount of a volume that does not exist, an unknown endpoint
    assert.match(String((await call(app, '/VolumeDriver.Remove', { Name: 'v' })).Err), /mounted/)
    assert.match(
      String((await call(app, '/VolumeDriver.Mount', { Name: 'nope', ID: 'x' })).Err),
      /not found/,
    )
    assert.match(String((await call(app, '/VolumeDriver.Frobnicate')).Err), /unknown endpoint/)
    const s3 = await scrape()
    assert.equal(s3.value(requests, { endpoint: 'VolumeDriver.Remove', outcome: 'err' }), 1)
    assert.equal(s3.value(requests, { endpoint: 'VolumeDriver.Remove', outcome: 'ok' }), 0)
    assert.equal(s3.value(requests, { endpoint: 'VolumeDriver.Mount', outcome: 'err' }), 1)
    assert.equal(s3.value(requests, { endpoint: 'unknown', outcome: 'err' }), 1)
    assert.ok(!s3.text.includes('Frobnicate'), 'an unknown path is no label value')

    assert.equal((await call(app, '/VolumeDriver.Unmount', { Name: 'v', ID: 'c1' })).Err, '')
    assert.equal((await call(app, '/VolumeDriver.Remove', { Name: 'v' })).Err, '')
    const s4 = await scrape()
    assert.equal(s4.value(requests, { endpoint: 'VolumeDriver.Unmount', outcome: 'ok' }), 1)
    assert.equal(s4.value(requests, { endpoint: 'VolumeDriver.Remove', outcome: 'ok' }), 1)
    assert.equal(s4.value('fuxi_volumes_mounted', { provider: 'local' }), 0)
    assert.equal(s4.value('fuxi_mount_references', { provider: 'local' }), 0)
    assert.equal(s4.value('fuxi_volumes'), 0)
    assert.equal(s4.value('fuxi_openstack_requests_total'), 0, 'the local provider calls no cloud')

    assert.equal(s4.value('fuxi_reconcile_runs_total'), 0)
    await app.reconcile()
    const s5 = await scrape()
    assert.equal(s5.value('fuxi_reconcile_runs_total', { outcome: 'ok' }), 1)
    assert.equal(s5.value('fuxi_reconcile_runs_total', { outcome: 'partial' }), 0)
  })

  it('count a reconcile pass that could not finish a volume as partial', async (t) => {
    const host = new FakeHost()
    // Docker says no container uses any volume: the pass releases what is mounted.
    const docker: DockerEngine = { volumesInUse: async () => new Set<string>() }
    const { app, scrape } = await appWithMetrics(t, host, docker)
    await call(app, '/VolumeDriver.Create', { Name: 'v', Opts: {} })
    await call(app, '/VolumeDriver.Mount', { Name: 'v', ID: 'gone' })
    host.failNext.add('unmount')
    await app.reconcile()
    const s1 = await scrape()
    assert.equal(s1.value('fuxi_reconcile_runs_total', { outcome: 'partial' }), 1)
    assert.equal(s1.value('fuxi_reconcile_runs_total', { outcome: 'ok' }), 0)
    await app.reconcile()
    const s2 = await scrape()
    assert.equal(s2.value('fuxi_reconcile_runs_total', { outcome: 'ok' }), 1)
    assert.ok(s2.value('fuxi_reconcile_actions_total') >= 2, 'refs dropped, then unmounted')
    assert.equal(s2.value('fuxi_volumes_mounted'), 0)
  })

  it('time the wait for a volume lock', async (t) => {
    const host = new FakeHost()
    const { app, scrape } = await appWithMetrics(t, host)
    await call(app, '/VolumeDriver.Create', { Name: 'v', Opts: {} })
    host.mountDelayMs = 300
    // The second Mount waits for the first to finish its (slow) mount.
    await Promise.all([
      call(app, '/VolumeDriver.Mount', { Name: 'v', ID: 'a' }),
      call(app, '/VolumeDriver.Mount', { Name: 'v', ID: 'b' }),
    ])
    const s = await scrape()
    assert.equal(s.value('fuxi_lock_wait_seconds_count'), 3)
    assert.equal(s.value('fuxi_lock_wait_seconds_bucket', { le: '0.1' }), 2, 'one waited longer')
    assert.ok(s.value('fuxi_lock_wait_seconds_sum') >= 0.25)
  })

  it('each daemon counts in a registry of its own', async (t) => {
    const a = await appWithMetrics(t)
    const b = await appWithMetrics(t)
    await call(a.app, '/VolumeDriver.Create', { Name: 'only-a', Opts: {} })
    const mountsOk = { endpoint: 'VolumeDriver.Create', outcome: 'ok' }
    assert.equal((await a.scrape()).value('fuxi_plugin_requests_total', mountsOk), 1)
    assert.equal((await b.scrape()).value('fuxi_plugin_requests_total', mountsOk), 0)
    assert.equal((await b.scrape()).value('fuxi_volumes'), 0)
  })

  it('serve only GET /metrics', async (t) => {
    const { port } = await appWithMetrics(t)
    assert.equal((await httpGet(`http://127.0.0.1:${port}/`)).status, 404)
    assert.equal((await httpGet(`http://127.0.0.1:${port}/metrics?x=1`)).status, 200)
  })

  it('a metrics port already taken stops the start, naming the key', async (t) => {
    const taken = createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
    t.after(() => taken.close())
    const port = (taken.address() as { port: number }).port
    const { app } = await buildApp(t, { extraConfig: `metrics_listen = 127.0.0.1:${port}\n` })
    await assert.rejects(
      app.listen(),
      new RegExp(
        `cannot serve metrics on 127\\.0\\.0\\.1:${port} \\(\\[DEFAULT\\] metrics_listen\\): .*EADDRINUSE`,
      ),
    )
  })
})
