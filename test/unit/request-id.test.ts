import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createTransport } from '../../src/openstack/transport.ts'
import { withRequestId } from '../../src/request-id.ts'
import { fakeCloud } from '../fakes/fake-cloud.ts'
import { buildApp } from '../support/build.ts'
import { freePort } from '../support/net.ts'
import { scrape } from '../support/prometheus.ts'
import { loadSample, replay, sampleServer } from '../support/sample-server.ts'
import { memoryLogger } from '../support/tmp.ts'

const REQ_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const PROJECT = '977104bd9c5b4165b68475897fb45cfe'
const CINDER = `http://127.0.0.1:8776/v3/${PROJECT}`
const header = (h: Record<string, unknown>) => h['x-openstack-request-id']

/** A daemon serving local and cinder volumes, its Cinder being the fake cloud; metrics on. */
async function cinderApp(t: Parameters<typeof buildApp>[0]) {
  const cloud = await fakeCloud(t)
  const built = await buildApp(t, {
    extraConfig: [
      'volume_providers = local,cinder',
      `metrics_listen = 127.0.0.1:${await freePort()}`,
      '[cinder]',
      `auth_url = ${cloud.srv.base}/keystone/v3`,
      'username = admin',
      'password = admin',
      'project_name = admin',
      'user_domain_name = Default',
      'project_domain_name = Default',
      'region_name = RegionOne',
      '',
    ].join('\n'),
  })
  await built.app.listen()
  const call = (path: string, body: object) =>
    built.app.server
      .inject({ method: 'POST', url: path, payload: JSON.stringify(body) })
      .then((r) => r.json() as { Err?: string; Volumes?: { Name: string }[] })
  /** The next call is Cinder's volume list, answered with these volumes. */
  const expectList = (query: string, volumes: object[]) =>
    cloud.expect('cinder-13-volume-list-by-metadata', (s) => {
      s.request.url = `${CINDER}/volumes/detail?${query}`
      const [v] = (s.response.json as { volumes: Record<string, unknown>[] }).volumes
      ;(s.response.json as { volumes: object[] }).volumes = volumes.map((o) => ({ ...v, ...o }))
    })
  return { ...built, cloud, call, expectList }
}

const FUXI = `metadata=${encodeURIComponent('{"volume_from":"fuxi"}')}`

describe('request ids', () => {
  it('one id per plugin request: on every log line it causes and on every OpenStack call it makes', async (t) => {
    const { app, cloud, call, expectList, lines } = await cinderApp(t)
    const seen = () => cloud.srv.seen.length
    // List: a Keystone token, Cinder's version document, the volume list
    expectList(FUXI, [{ name: 'pgdata', metadata: { volume_from: 'fuxi' } }])
    const listed = await call('/VolumeDriver.List', {})
    assert.deepEqual(
      listed.Volumes?.map((v) => v.Name),
      ['pgdata'],
    )
    const listCalls = cloud.srv.seen.slice(0, seen())
    assert.equal(listCalls.length, 3)
    const listId = String(header(listCalls[0]?.headers ?? {}))
    assert.match(listId, REQ_ID)
    assert.deepEqual(
      listCalls.map((c) => header(c.headers)),
      [listId, listId, listId],
      'the token, the version document and the list carry the same id',
    )
    const listLines = lines().filter((l) => l.reqId === listId)
    assert.ok(listLines.length >= 2, JSON.stringify(listLines))
    assert.ok(listLines.some((l) => l.msg === 'keystone token issued'))

    // Create: two lookups find nothing, and the fake cloud answers the POST, which it was not told
    // to expect, with 599: the request is refused. Another request, another id.
    const before = seen()
    expectList(`name=new&${FUXI}`, [])
    expectList(`metadata=${encodeURIComponent('{"volume_from":"fuxi","fuxi_name":"new"}')}`, [])
    const created = await call('/VolumeDriver.Create', {
      Name: 'new',
      Opts: { volume_provider: 'cinder' },
    })
    assert.match(String(created.Err), /POST .*\/volumes failed \(HTTP 599\)/)
    const createCalls = cloud.srv.seen.slice(before)
    assert.deepEqual(
      createCalls.map((c) => c.method),
      ['GET', 'GET', 'POST'],
    )
    const createId = String(header(createCalls[0]?.headers ?? {}))
    assert.match(createId, REQ_ID)
    assert.notEqual(createId, listId)
    assert.deepEqual(
      createCalls.map((c) => header(c.headers)),
      [createId, createId, createId],
    )
    assert.match(String(created.Err), new RegExp(`\\[request ${createId}\\]`))
    const createLines = lines().filter((l) => l.reqId === createId)
    const refused = createLines.find((l) => l.msg === 'request refused')
    assert.equal(refused?.level, 30, 'refusals are logged at info')
    assert.equal(refused?.endpoint, 'VolumeDriver.Create')
    assert.equal(refused?.volume, 'new')
    assert.match(String(refused?.reason), /HTTP 599/)
    assert.ok(createLines.some((l) => l.msg === 'create failed' && l.volume === 'new'))

    // A reconcile pass is an operation of its own: its own id, on its lines and its calls.
    const beforeReconcile = seen()
    expectList(FUXI, [])
    await app.reconcile()
    const reconcileCalls = cloud.srv.seen.slice(beforeReconcile)
    assert.equal(reconcileCalls.length, 1)
    const reconcileId = String(header(reconcileCalls[0]?.headers ?? {}))
    assert.match(reconcileId, REQ_ID)
    assert.ok(![listId, createId].includes(reconcileId))
    assert.ok(lines().some((l) => l.reqId === reconcileId && l.msg === 'reconciling'))
    // (not assertDone: the create's POST was answered 599 on purpose, as a call not expected)

    // The same calls, counted by service, templated operation and status.
    const m = await scrape(app.metricsAddress())
    const calls = 'fuxi_openstack_requests_total'
    assert.equal(
      m.value(calls, { service: 'keystone', operation: 'POST /keystone/v3/auth/tokens' }),
      1,
    )
    assert.equal(
      m.value(calls, {
        service: 'volumev3',
        operation: 'GET /cinder/v3/{id}/volumes/detail',
        status: '200',
      }),
      4,
    )
    assert.equal(
      m.value(calls, {
        service: 'volumev3',
        operation: 'POST /cinder/v3/{id}/volumes',
        status: '599',
      }),
      1,
    )
    assert.equal(
      m.value(calls, { service: 'volumev3', operation: 'GET /cinder', status: '300' }),
      1,
      'the version document',
    )
    assert.equal(m.value(calls), 7)
    assert.equal(
      m.value('fuxi_openstack_request_duration_seconds_count', { service: 'volumev3' }),
      6,
    )
    assert.ok(!m.text.includes(PROJECT), 'no project id in any label')
    const requests = 'fuxi_plugin_requests_total'
    assert.equal(m.value(requests, { endpoint: 'VolumeDriver.List', outcome: 'ok' }), 1)
    assert.equal(m.value(requests, { endpoint: 'VolumeDriver.Create', outcome: 'err' }), 1)
    assert.equal(m.value('fuxi_reconcile_runs_total', { outcome: 'ok' }), 1)
  })

  it('a refused request is logged at info with its endpoint, volume name and reason', async (t) => {
    const { app, lines } = await buildApp(t)
    const r = await app.server.inject({
      method: 'POST',
      url: '/VolumeDriver.Remove',
      payload: '{"Name":"ghost"}',
    })
    assert.equal(r.json().Err, 'volume "ghost" not found')
    const line = lines().find((l) => l.msg === 'request refused')
    assert.deepEqual(
      {
        level: line?.level,
        endpoint: line?.endpoint,
        volume: line?.volume,
        code: line?.code,
        reason: line?.reason,
      },
      {
        level: 30,
        endpoint: 'VolumeDriver.Remove',
        volume: 'ghost',
        code: 'VOLUME_NOT_FOUND',
        reason: 'volume "ghost" not found',
      },
    )
    assert.match(String(line?.reqId), REQ_ID)
  })

  it('outside any operation each OpenStack call has an id of its own; inside one, all share it', async (t) => {
    const srv = await sampleServer(t, (_req, res) => replay(res, loadSample('cinder-01-versions')))
    const transport = createTransport({ timeoutMs: 2000, log: memoryLogger().log })
    const get = () =>
      transport.request({ service: 'volumev3', method: 'GET', url: srv.base, okStatuses: [300] })
    await get()
    await get()
    await withRequestId('req-11111111-2222-4333-8444-555555555555', async () => {
      await get()
      await get()
    })
    const ids = srv.seen.map((s) => header(s.headers))
    assert.match(String(ids[0]), REQ_ID)
    assert.match(String(ids[1]), REQ_ID)
    assert.notEqual(ids[0], ids[1])
    assert.deepEqual(ids.slice(2), [
      'req-11111111-2222-4333-8444-555555555555',
      'req-11111111-2222-4333-8444-555555555555',
    ])
  })
})
