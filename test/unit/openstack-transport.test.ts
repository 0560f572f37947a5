import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OpenStackHttpError } from '../../src/errors.ts'
import { createTransport, MAX_RESPONSE_BYTES } from '../../src/openstack/transport.ts'
import { loadSample, replay, sampleServer } from '../support/sample-server.ts'
import { memoryLogger } from '../support/tmp.ts'

const transport = (timeoutMs = 2000) =>
  createTransport({ timeoutMs, log: memoryLogger().log, sleep: async () => undefined })

describe('openstack transport', () => {
  it('refuses an answer larger than MAX_RESPONSE_BYTES instead of buffering it', async (t) => {
    const srv = await sampleServer(t, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      const chunk = Buffer.alloc(1024 * 1024, 0x20)
      let sent = 0
      const more = () => {
        while (sent < MAX_RESPONSE_BYTES + 2 * chunk.length) {
          sent += chunk.length
          if (!res.write(chunk)) return void res.once('drain', more)
        }
        res.end()
      }
      res.on('error', () => {})
      more()
    })
    const err = await transport()
      .request({ service: 'volumev3', method: 'GET', url: `${srv.base}/big` })
      .catch((e: unknown) => e)
    assert.ok(err instanceof OpenStackHttpError)
    assert.match(err.message, /the answer exceeded 16777216 bytes and was refused/)
  })

  it('sends a request id and JSON, and turns an OpenStack error body into a typed error', async (t) => {
    const notFound = loadSample('cinder-71-volume-show-404')
    const srv = await sampleServer(t, (_req, res) => replay(res, notFound))
    const err = await transport()
      .request({ service: 'volumev3', method: 'GET', url: `${srv.base}/v3/p/volumes/x` })
      .catch((e: unknown) => e)
    assert.ok(err instanceof OpenStackHttpError)
    assert.equal(err.status, 404)
    assert.equal(err.requestId, notFound.response.headers['X-Openstack-Request-Id'])
    assert.match(
      err.message,
      /volumev3 GET .* failed \(HTTP 404\): Volume 73eb001a-.* could not be found\. \[request req-/,
    )
    assert.match(String(srv.seen[0]?.headers['x-openstack-request-id']), /^req-[0-9a-f-]{36}$/)
    assert.equal(srv.seen.length, 1, '4xx is not retried')
  })

  it('retries an idempotent GET on 5xx, keeping its request id, but never a POST', async (t) => {
    let n = 0
    const srv = await sampleServer(t, (_req, res) => {
      n++
      res.writeHead(n < 3 ? 503 : 200, { 'Content-Type': 'application/json' })
      res.end(n < 3 ? '{"computeFault":{"code":503,"message":"busy"}}' : '{"ok":true}')
    })
    const r = await transport().request({
      service: 'volumev3',
      method: 'GET',
      url: `${srv.base}/x`,
    })
    assert.deepEqual(r.json, { ok: true })
    assert.equal(srv.seen.length, 3)
    assert.equal(new Set(srv.seen.map((s) => s.headers['x-openstack-request-id'])).size, 1)
    n = 0
    await assert.rejects(
      transport().request({ service: 'volumev3', method: 'POST', url: `${srv.base}/x`, json: {} }),
      /HTTP 503.*busy/,
    )
    assert.equal(srv.seen.length, 4, 'POST sent once')
  })

  it('names the cause of connection failures and timeouts', async (t) => {
    const srv = await sampleServer(t, () => undefined) // never answers
    await assert.rejects(
      transport(200).request({
        service: 'keystone',
        method: 'POST',
        url: `${srv.base}/v3/auth/tokens`,
        json: {},
      }),
      /no answer within 200 ms/,
    )
    await assert.rejects(
      transport().request({
        service: 'keystone',
        method: 'POST',
        url: 'http://127.0.0.1:1/v3',
        json: {},
      }),
      /connection refused: is the endpoint URL right/,
    )
  })

  it('accepts statuses declared as answers (a version document is a 300)', async (t) => {
    const versions = loadSample('cinder-01-versions')
    const srv = await sampleServer(t, (_req, res) => replay(res, versions))
    const r = await transport().request({
      service: 'volumev3',
      method: 'GET',
      url: `${srv.base}/`,
      okStatuses: [300],
    })
    assert.equal((r.json as { versions: { version: string }[] }).versions[0]?.version, '3.70')
  })
})
