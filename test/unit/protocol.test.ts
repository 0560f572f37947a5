import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InternalError } from '../../src/errors.ts'
import { createServer } from '../../src/protocol/server.ts'
import type { VolumeService } from '../../src/volumes/volume-service.ts'
import { buildApp } from '../support/build.ts'
import { memoryLogger } from '../support/tmp.ts'

// dockerd 20.10 sends JSON bodies without Content-Type; these requests mimic it exactly.
const post = (path: string, payload?: string) => ({
  method: 'POST' as const,
  url: path,
  payload,
  headers: {
    accept: 'application/vnd.docker.plugins.v1.2+json',
    host: '',
    'content-type': undefined,
  },
})

describe('Docker protocol edge', () => {
  it('answers Activate with an empty body', async (t) => {
    const { app } = await buildApp(t)
    const r = await app.server.inject(post('/Plugin.Activate'))
    assert.equal(r.statusCode, 200)
    assert.deepEqual(r.json(), { Implements: ['VolumeDriver'] })
    assert.equal(r.headers['content-type'], 'application/vnd.docker.plugins.v1+json')
  })

  it('accepts JSON bodies without a Content-Type header and with a trailing newline', async (t) => {
    const { app } = await buildApp(t)
    const r = await app.server.inject(post('/VolumeDriver.Create', '{"Name":"v1","Opts":null}\n'))
    assert.deepEqual(r.json(), { Err: '' })
    const g = await app.server.inject(post('/VolumeDriver.Get', '{"Name":"v1"}\n'))
    assert.equal(g.json().Volume.Name, 'v1')
  })

  it('accepts a body sent as application/json too', async (t) => {
    const { app } = await buildApp(t)
    const r = await app.server.inject({
      method: 'POST',
      url: '/VolumeDriver.List',
      payload: '{}',
      headers: { 'content-type': 'application/json' },
    })
    assert.deepEqual(r.json(), { Volumes: [], Err: '' })
  })

  it('answers malformed JSON with an Err, not a crash', async (t) => {
    const { app } = await buildApp(t)
    const r = await app.server.inject(post('/VolumeDriver.Create', '{"Name": '))
    assert.equal(r.statusCode, 400)
    assert.match(r.json().Err, /malformed JSON body/)
    const again = await app.server.inject(post('/Plugin.Activate'))
    assert.equal(again.statusCode, 200)
  })

  it('answers a non-object body with an Err', async (t) => {
    const { app } = await buildApp(t)
    for (const body of ['[]', '"x"', '42', 'null']) {
      const r = await app.server.inject(post('/VolumeDriver.Get', body))
      assert.match(r.json().Err, /must be a JSON object/, body)
    }
  })

  it('refuses a huge body with an Err', async (t) => {
    const { app } = await buildApp(t)
    const r = await app.server.inject(
      post('/VolumeDriver.Create', JSON.stringify({ Name: 'v', Opts: { x: 'a'.repeat(200_000) } })),
    )
    assert.equal(r.statusCode, 413)
    assert.match(r.json().Err, /too large/)
    assert.equal(app.volumes.get('v'), undefined)
  })

  it('answers unknown endpoints with 404 and an Err', async (t) => {
    const { app } = await buildApp(t)
    const r = await app.server.inject(post('/VolumeDriver.Frobnicate', '{}'))
    assert.equal(r.statusCode, 404)
    assert.match(r.json().Err, /unknown endpoint/)
  })

  it('refuses Create or Mount without a Name (a retried request can arrive empty)', async (t) => {
    const { app } = await buildApp(t)
    assert.match(
      (await app.server.inject(post('/VolumeDriver.Create', ''))).json().Err,
      /name is missing/,
    )
    assert.match(
      (await app.server.inject(post('/VolumeDriver.Mount', '{}'))).json().Err,
      /name is missing/,
    )
    assert.deepEqual(app.volumes.list(), [])
  })

  it('returns Err with HTTP 200 for expected failures, so dockerd shows the plain message', async (t) => {
    const { app } = await buildApp(t)
    const r = await app.server.inject(post('/VolumeDriver.Get', '{"Name":"nope"}'))
    assert.equal(r.statusCode, 200)
    assert.equal(r.json().Err, 'volume "nope" not found')
  })

  it('rejects non-string option values', async (t) => {
    const { app } = await buildApp(t)
    const r = await app.server.inject(
      post('/VolumeDriver.Create', '{"Name":"v","Opts":{"size":5}}'),
    )
    assert.match(r.json().Err, /option "size" must be a string/)
    assert.equal(app.volumes.get('v'), undefined)
  })

  it('refuses every unknown option, "__proto__" included, and quotes at most 80 characters of a value', async (t) => {
    const { app } = await buildApp(t)
    const proto = await app.server.inject(
      post('/VolumeDriver.Create', '{"Name":"v","Opts":{"__proto__":"x"}}'),
    )
    assert.match(proto.json().Err, /unknown option "__proto__" for provider local/)
    assert.equal(app.volumes.get('v'), undefined)
    const huge = await app.server.inject(
      post(
        '/VolumeDriver.Create',
        JSON.stringify({ Name: 'v', Opts: { size: '9'.repeat(50_000) } }),
      ),
    )
    const err = huge.json().Err as string
    assert.match(err, /invalid value for option "size": "9{80}"… \(50000 characters\)/)
    assert.ok(err.length < 300, `${err.length} characters`)
  })

  it('reports CreatedAt in RFC 3339 with a zone and Status as an object', async (t) => {
    const { app } = await buildApp(t)
    await app.server.inject(
      post('/VolumeDriver.Create', '{"Name":"v","Opts":{"size":"2","fstype":"xfs"}}'),
    )
    const v = (await app.server.inject(post('/VolumeDriver.Get', '{"Name":"v"}'))).json().Volume
    assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
    assert.equal(v.Status.provider, 'local')
    assert.equal(v.Status.size, '2')
    assert.equal(v.Status.fstype, 'xfs')
    assert.equal(v.Status.mounted, false)
    assert.equal(v.Mountpoint, '')
    const l = (await app.server.inject(post('/VolumeDriver.List', '{}\n'))).json()
    assert.deepEqual(
      l.Volumes.map((x: { Name: string }) => x.Name),
      ['v'],
    )
  })

  it("Fuxi.List (fuxi ls) answers every volume with its Status in one call; dockerd's List stays lean", async (t) => {
    const { app, dir } = await buildApp(t)
    const call = async (p: string, b: object) =>
      (await app.server.inject(post(p, JSON.stringify(b)))).json()
    await call('/VolumeDriver.Create', { Name: 'a', Opts: { size: '3' } })
    await call('/VolumeDriver.Create', { Name: 'b', Opts: null })
    await call('/VolumeDriver.Mount', { Name: 'a', ID: 'c1' })
    const { Volumes, Err } = await call('/Fuxi.List', {})
    assert.equal(Err, '')
    const byName = Object.fromEntries(
      (Volumes as { Name: string; Mountpoint: string; Status: Record<string, unknown> }[]).map(
        (v) => [v.Name, v],
      ),
    )
    assert.equal(byName.a?.Mountpoint, `${dir}/data/local/a/data`)
    assert.deepEqual(
      [byName.a?.Status.mounted, byName.a?.Status.refs, byName.a?.Status.size],
      [true, 1, '3'],
    )
    assert.deepEqual([byName.b?.Status.mounted, byName.b?.Status.refs], [false, 0])
    const docker = await call('/VolumeDriver.List', {})
    assert.ok(
      docker.Volumes.every((v: object) => !('Status' in v)),
      'Status is built per volume; dockerd does not show it',
    )
    await call('/VolumeDriver.Unmount', { Name: 'a', ID: 'c1' })
  })

  it('runs a full lifecycle: create, mount twice with one ID, path, unmount twice, remove', async (t) => {
    const { app, dir } = await buildApp(t)
    const call = async (p: string, b: object) =>
      (await app.server.inject(post(p, JSON.stringify(b)))).json()
    assert.deepEqual(await call('/VolumeDriver.Create', { Name: 'life', Opts: { size: '1' } }), {
      Err: '',
    })
    const m = await call('/VolumeDriver.Mount', { Name: 'life', ID: 'c1' })
    assert.equal(m.Mountpoint, `${dir}/data/local/life/data`)
    await call('/VolumeDriver.Mount', { Name: 'life', ID: 'c1' })
    assert.equal((await call('/VolumeDriver.Path', { Name: 'life' })).Mountpoint, m.Mountpoint)
    assert.match((await call('/VolumeDriver.Remove', { Name: 'life' })).Err, /mounted by 2/)
    await call('/VolumeDriver.Unmount', { Name: 'life', ID: 'c1' })
    assert.equal((await call('/VolumeDriver.Get', { Name: 'life' })).Volume.Status.mounted, true)
    await call('/VolumeDriver.Unmount', { Name: 'life', ID: 'c1' })
    assert.equal((await call('/VolumeDriver.Path', { Name: 'life' })).Mountpoint, '')
    assert.deepEqual(await call('/VolumeDriver.Remove', { Name: 'life' }), { Err: '' })
    assert.equal((await call('/VolumeDriver.Get', { Name: 'life' })).Err, 'volume "life" not found')
  })

  it('answers a fuxi bug (InternalError) as HTTP 500 "internal error", not as a refusal', async () => {
    const volumes = {
      create: async () => {
        throw new InternalError('an invariant broke')
      },
    } as unknown as VolumeService
    const { log, lines } = memoryLogger()
    const server = createServer({ volumes, reconcile: async () => [] }, log)
    const r = await server.inject(post('/VolumeDriver.Create', '{"Name":"v"}'))
    assert.equal(r.statusCode, 500)
    assert.deepEqual(r.json(), { Err: 'internal error: an invariant broke' })
    assert.ok(lines().some((l) => l.msg === 'internal error'))
  })

  it('reports scope local while the local provider is enabled', async (t) => {
    const { app } = await buildApp(t)
    const r = await app.server.inject(post('/VolumeDriver.Capabilities', '{}'))
    assert.deepEqual(r.json(), { Capabilities: { Scope: 'local' } })
  })
})
