import assert from 'node:assert/strict'
import { stat, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { connect, createServer } from 'node:net'
import { describe, it } from 'node:test'
import { BODY_LIMIT, createServer as createPluginServer } from '../../src/protocol/server.ts'
import { FakeHost } from '../fakes/fake-host.ts'
import { buildApp } from '../support/build.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

function activate(
  opts: { socketPath: string } | { host: string; port: number },
  path = '/Plugin.Activate',
  body = '',
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ ...opts, path, method: 'POST', agent: false }, (res) => {
      let d = ''
      res.on('data', (c) => {
        d += String(c)
      })
      res.on('end', () => resolve(d))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise((r) => s.close(r))
  return port
}

describe('listening', () => {
  it('serves on the unix socket, root only', async (t) => {
    const { app, dir } = await buildApp(t)
    await app.listen()
    const sock = `${dir}/fuxi.sock`
    assert.equal((await stat(sock)).mode & 0o777, 0o600)
    assert.equal(await activate({ socketPath: sock }), '{"Implements":["VolumeDriver"]}')
  })

  it('removes a stale socket left by a dead daemon', async (t) => {
    const dir = await tmpDir(t)
    const stale = createServer()
    await new Promise<void>((r) => stale.listen(`${dir}/fuxi.sock`, r))
    // simulate a crash: the file stays, nobody listens
    ;(stale as unknown as { _handle: { close(): void } })._handle.close()
    const { app } = await buildApp(t, { dir })
    await app.listen()
    assert.match(await activate({ socketPath: `${dir}/fuxi.sock` }), /VolumeDriver/)
  })

  it('refuses to take over a live socket or a regular file', async (t) => {
    const dir = await tmpDir(t)
    const live = createServer()
    await new Promise<void>((r) => live.listen(`${dir}/fuxi.sock`, r))
    t.after(() => live.close())
    const first = await buildApp(t, { dir })
    await assert.rejects(first.app.listen(), /another process is already serving/)
    const dir2 = await tmpDir(t)
    await writeFile(`${dir2}/fuxi.sock`, 'not a socket')
    const second = await buildApp(t, { dir: dir2 })
    await assert.rejects(second.app.listen(), /exists and is not a socket/)
  })

  it('on close, finishes in-flight requests and keeps the mount', async (t) => {
    const host = new FakeHost()
    host.mountDelayMs = 300
    const { app, dir } = await buildApp(t, { host })
    await app.listen()
    await app.volumes.create('slow', {})
    const sock = { socketPath: `${dir}/fuxi.sock` }
    const inflight = activate(sock, '/VolumeDriver.Mount', '{"Name":"slow","ID":"A"}')
    await new Promise((r) => setTimeout(r, 100))
    const closed = app.close()
    assert.deepEqual(JSON.parse(await inflight), {
      Mountpoint: `${dir}/data/local/slow/data`,
      Err: '',
    })
    await closed
    await assert.rejects(activate(sock), /ENOENT|ECONNREFUSED/)
    assert.equal(host.table.length, 1, 'mount stays for running containers')
  })

  it('listens on TCP only when configured, on loopback', async (t) => {
    const port = await freePort()
    const off = await buildApp(t, { extraConfig: `fuxi_port = ${port}\n` })
    await off.app.listen()
    await assert.rejects(activate({ host: '127.0.0.1', port }), /ECONNREFUSED/)
    await off.app.close()
    const on = await buildApp(t, { extraConfig: `tcp_listen = true\nfuxi_port = ${port}\n` })
    await on.app.listen()
    assert.match(await activate({ host: '127.0.0.1', port }), /VolumeDriver/)
  })
})

describe('slow or endless peers', () => {
  it('cuts off a client that never finishes its request head, and one that sends a huge body', async (t) => {
    const { app, dir } = await buildApp(t)
    const server = createPluginServer(
      { volumes: app.volumes, reconcile: async () => [] },
      memoryLogger().log,
      { connection: 2_000, request: 2_000, headers: 300, keepAlive: 1_000 },
    )
    await server.listen({ path: `${dir}/slow.sock` })
    t.after(() => server.close())
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const t0 = Date.now()
      const s = connect(`${dir}/slow.sock`, () =>
        s.write('POST /Plugin.Activate HTTP/1.1\r\nHost: x\r\n'),
      )
      s.resume()
      s.on('close', () => resolve(Date.now() - t0))
      s.on('error', () => {})
      setTimeout(() => reject(new Error('never closed')), 5_000).unref()
    })
    assert.ok(closedAfter < 4_000, `closed after ${closedAfter} ms`)
    // broken HTTP (never from dockerd) is answered in the plugin's shape too
    const broken = await new Promise<string>((resolve) => {
      let answer = ''
      const s = connect(`${dir}/slow.sock`, () => s.write('GARBAGE\r\n\r\n'))
      s.on('data', (c) => {
        answer += String(c)
      })
      s.on('close', () => resolve(answer))
    })
    assert.match(
      broken,
      /^HTTP\/1.1 400 [\s\S]*\{"Err":"malformed HTTP request \(HPE_[A-Z_]+\)"\}$/,
    )
    const big = await activate(
      { socketPath: `${dir}/slow.sock` },
      '/VolumeDriver.Create',
      'x'.repeat(BODY_LIMIT + 1),
    )
    assert.match(big, /request body too large \(limit 65536 bytes\)/)
  })
})

describe('daemon lock', () => {
  it('takes over a pid file whose process is gone or is not fuxi', async (t) => {
    const dir = await tmpDir(t)
    const { mkdir } = await import('node:fs/promises')
    await mkdir(`${dir}/state`, { recursive: true })
    await writeFile(`${dir}/state/fuxi.pid`, '1\n') // pid 1 is alive but is not fuxi
    const { app } = await buildApp(t, { dir })
    assert.ok(app.volumes)
  })
})
