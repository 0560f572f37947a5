import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { OpenStackHttpError } from '../../src/errors.ts'
import { CinderClient } from '../../src/openstack/cinder.ts'
import { GET_RETRY_DELAYS_MS } from '../../src/openstack/transport.ts'
import { cloudSession, devcloudAuth, uniqueName } from '../support/devcloud.ts'
import { faultProxy } from '../support/fault-proxy.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

/** Cinder (as admin) through a fault-injecting proxy in front of the real cinder-api. */
async function viaProxy(t: TestContext, timeoutMs = 10_000) {
  const proxy = await faultProxy(t, 'http://127.0.0.1:8776')
  const real = await cloudSession(devcloudAuth('openrc')).endpoint('volumev3')
  const mem = memoryLogger()
  const session = cloudSession(devcloudAuth('openrc'), {
    endpointOverride: real.replace('http://127.0.0.1:8776', proxy.url),
    timeoutMs,
    log: mem.log,
  })
  const cinder = new CinderClient(session)
  await cinder.api.version() // negotiate before faults are injected
  const calls = (path: RegExp) => proxy.log.filter((e) => path.test(e.url))
  const warnings = () => mem.lines().filter((l) => l.msg === 'retrying GET').length
  return { proxy, session, cinder, calls, warnings, mem }
}

describe('faults between fuxi and the real Cinder', { concurrency: true }, () => {
  it('a GET is retried on 5xx and on a reset connection, then succeeds', async (t) => {
    const { proxy, cinder, calls, warnings } = await viaProxy(t)
    proxy.inject('GET', { kind: 'status', status: 503 }, { path: /volumes\/detail/ })
    proxy.inject('GET', { kind: 'reset' }, { path: /volumes\/detail/ })
    assert.deepEqual(await cinder.listVolumes({ name: uniqueName('none') }), [])
    assert.deepEqual(
      calls(/volumes\/detail/).map((e) => [e.fault, e.upstream]),
      [
        ['status', undefined],
        ['reset', undefined],
        ['none', 200],
      ],
    )
    assert.equal(warnings(), 2)
  })

  it('a GET that keeps failing gives up after the named retries with the service status', async (t) => {
    const { proxy, cinder, calls } = await viaProxy(t)
    proxy.inject('GET', { kind: 'status', status: 502 }, { times: GET_RETRY_DELAYS_MS.length + 1 })
    await assert.rejects(
      cinder.getVolume('00000000-0000-0000-0000-000000000000'),
      /HTTP 502\): injected 502/,
    )
    assert.equal(calls(/volumes\/0000/).length, GET_RETRY_DELAYS_MS.length + 1)
  })

  it('a POST is never retried: a 5xx or a reset surfaces and nothing is created twice', async (t) => {
    const { proxy, cinder, calls } = await viaProxy(t)
    const name = uniqueName('never')
    proxy.inject('POST', { kind: 'status', status: 503 }, { path: /\/volumes$/ })
    await assert.rejects(cinder.createVolume({ name, size: 1 }), /POST .* failed \(HTTP 503\)/)
    proxy.inject('POST', { kind: 'reset' }, { path: /\/volumes$/ })
    await assert.rejects(
      cinder.createVolume({ name, size: 1 }),
      /volumev3 POST .* failed: ECONNRESET|socket hang up/,
    )
    assert.equal(calls(/\/volumes$/).length, 2, 'each POST was sent once')
    assert.deepEqual(await cinder.listVolumes({ name }), [])
  })

  it('a service slower than the timeout: GET retried, POST fails naming the timeout', async (t) => {
    const { proxy, cinder, calls } = await viaProxy(t, 1000)
    proxy.inject('GET', { kind: 'delay', ms: 2500 }, { path: /volumes\/detail/ })
    assert.deepEqual(await cinder.listVolumes({ name: uniqueName('slow') }), [])
    assert.equal(calls(/volumes\/detail/).length, 2)
    proxy.inject('POST', { kind: 'delay', ms: 2500 })
    const missing = '00000000-0000-0000-0000-000000000000'
    await assert.rejects(
      cinder.metadata.set(missing, { a: 'b' }),
      /failed: no answer within 1000 ms/,
    )
    assert.equal(calls(/metadata/).length, 1)
  })

  it('a 401 from the service renews the token once and retries; a second 401 surfaces', async (t) => {
    const { proxy, cinder, session, mem } = await viaProxy(t)
    const before = session.authCount
    proxy.inject('GET', { kind: 'status', status: 401 })
    assert.deepEqual(await cinder.listVolumes({ name: uniqueName('auth') }), [])
    assert.equal(session.authCount, before + 1)
    assert.equal(
      mem.lines().filter((l) => l.msg === 'token refused (401): renewing once').length,
      1,
    )
    proxy.inject('POST', { kind: 'status', status: 401 }, { times: 2 })
    await assert.rejects(cinder.metadata.set('x', { a: 'b' }), /HTTP 401/)
    assert.equal(session.authCount, before + 2, 'no loop of renewals')
  })
})

describe('TLS to Keystone', () => {
  function selfSigned(dir: string, name: string) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        `/CN=${name}`,
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, `${name}.key`),
        '-out',
        join(dir, `${name}.pem`),
      ],
      { stdio: 'ignore' },
    )
    return {
      key: readFileSync(join(dir, `${name}.key`)),
      cert: readFileSync(join(dir, `${name}.pem`)),
      pem: join(dir, `${name}.pem`),
    }
  }

  it('an untrusted or wrong CA is refused with the fix; the right CA bundle or insecure works', async (t) => {
    const dir = await tmpDir(t, 'fuxi-tls-')
    const server = selfSigned(dir, 'keystone')
    const other = selfSigned(dir, 'other')
    const proxy = await faultProxy(t, 'http://127.0.0.1:5000', server)
    const auth = { ...devcloudAuth('openrc'), auth_url: `${proxy.url}/v3` }
    await assert.rejects(
      cloudSession(auth).token(),
      /keystone POST https:\/\/127\.0\.0\.1:\d+\/v3\/auth\/tokens failed: TLS certificate not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\): set cafile/,
    )
    await assert.rejects(
      cloudSession(auth, { tls: { cafile: other.pem } }).token(),
      /TLS certificate not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/,
    )
    assert.ok((await cloudSession(auth, { tls: { cafile: server.pem } }).token()).value)
    assert.ok((await cloudSession(auth, { tls: { insecure: true } }).token()).value)
  })

  it('a Keystone that wants a client certificate gets the configured certfile/keyfile', async (t) => {
    const dir = await tmpDir(t, 'fuxi-tls-')
    const server = selfSigned(dir, 'keystone')
    const client = selfSigned(dir, 'client')
    const proxy = await faultProxy(t, 'http://127.0.0.1:5000', {
      ...server,
      requestCert: true,
      rejectUnauthorized: true,
      ca: [client.cert],
    })
    const auth = { ...devcloudAuth('openrc'), auth_url: `${proxy.url}/v3` }
    await assert.rejects(
      cloudSession(auth, { tls: { cafile: server.pem } }).token(),
      /keystone POST https:\/\/127\.0\.0\.1:\d+\/v3\/auth\/tokens failed/,
    )
    const withCert = cloudSession(auth, {
      tls: { cafile: server.pem, certfile: client.pem, keyfile: join(dir, 'client.key') },
    })
    assert.ok((await withCert.token()).value)
  })
})

describe('typed errors from the real services', () => {
  it('403 and 404 carry the service, status, kind, message and request id', async () => {
    const cinder = new CinderClient(cloudSession(devcloudAuth('openrc-demo')))
    const forbidden = await cinder.api
      .call({ method: 'GET', path: '/os-services' })
      .catch((e: unknown) => e)
    assert.ok(forbidden instanceof OpenStackHttpError)
    assert.equal(forbidden.status, 403)
    assert.equal(forbidden.kind, 'forbidden')
    assert.match(forbidden.detail, /Policy doesn't allow volume_extension:services:index/)
    assert.match(forbidden.requestId ?? '', /^req-/)
    const missing = await cinder.metadata
      .set('00000000-0000-0000-0000-000000000000', { k: 'v' })
      .catch((e: unknown) => e)
    assert.ok(missing instanceof OpenStackHttpError)
    assert.equal(missing.status, 404)
    assert.equal(missing.kind, 'itemNotFound')
  })
})
