// OpenStack layer benchmark: prints figures, asserts nothing. `npm run bench:openstack` starts the
// dev cloud first.
// 1. client overhead: CinderClient.getVolume vs a bare keep-alive GET, against an in-process
//    server answering the recorded volume at once (so only the client's own cost differs);
// 2. per operation against the real dev cloud: HTTP calls, Keystone calls, latency;
// 3. one token renewal shared by concurrent callers.
import { Agent, createServer, request } from 'node:http'
import { hostname } from 'node:os'
import { CinderClient, type ConnectorProperties } from '../src/openstack/cinder.ts'
import { ManilaClient } from '../src/openstack/manila.ts'
import { Session } from '../src/openstack/session.ts'
import { createTransport, type HttpTransport } from '../src/openstack/transport.ts'
import {
  devcloudAuth,
  SHORT_TOKEN_KEYSTONE,
  SHORT_TOKEN_TTL_MS,
  uniqueName,
} from '../test/support/devcloud.ts'
import { loadSample } from '../test/support/sample-server.ts'
import { memoryLogger } from '../test/support/tmp.ts'
import { median, now, row } from './stats.ts'

const N = Number(process.env.BENCH_N ?? 200)
const log = memoryLogger('info').log

/** A transport that counts calls per service. */
function counting(inner: HttpTransport) {
  const calls = new Map<string, number>()
  const transport: HttpTransport = {
    request(req) {
      calls.set(req.service, (calls.get(req.service) ?? 0) + 1)
      return inner.request(req)
    },
  }
  const total = () => [...calls.values()].reduce((a, b) => a + b, 0)
  return { transport, calls, total }
}

function session(transport: HttpTransport, authUrl?: string, endpointOverride?: string) {
  const auth = devcloudAuth('openrc')
  return new Session({
    section: 'cinder',
    auth: authUrl ? { ...auth, auth_url: authUrl } : auth,
    region: 'RegionOne',
    interface: 'public',
    endpointOverride,
    transport,
    log,
  })
}

// ---- 1. client overhead on loopback
{
  const volume = JSON.stringify(loadSample('cinder-11-volume-show-available').response.json)
  const versions = JSON.stringify(loadSample('cinder-01-versions').response.json)
  const token = loadSample('keystone-01-auth-tokens-password')
  const server = createServer((req, res) => {
    if (req.url === '/v3/auth/tokens') {
      res.writeHead(201, { 'Content-Type': 'application/json', 'X-Subject-Token': 't' })
      res.end(JSON.stringify(token.response.json))
    } else if (req.url === '/') res.writeHead(300).end(versions)
    else res.writeHead(200, { 'Content-Type': 'application/json' }).end(volume)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const path = '/v3/p/volumes/73eb001a-57dc-44af-aa8c-0cac87648e81'
  const agent = new Agent({ keepAlive: true })
  const raw = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(`${base}${path}`, { agent, headers: { 'X-Auth-Token': 't' } }, (res) => {
        let body = ''
        res.on('data', (c) => {
          body += c
        })
        res.on('end', () => {
          JSON.parse(body)
          resolve()
        })
      })
      req.on('error', reject)
      req.end()
    })
  const c = counting(createTransport({ timeoutMs: 5000, log }))
  const cinder = new CinderClient(session(c.transport, `${base}/v3`, `${base}/v3/p`))
  await cinder.getVolume('73eb001a-57dc-44af-aa8c-0cac87648e81')
  const tRaw: number[] = []
  const tClient: number[] = []
  for (let i = 0; i < N; i++) {
    let t0 = now()
    await raw()
    tRaw.push(now() - t0)
    t0 = now()
    await cinder.getVolume('73eb001a-57dc-44af-aa8c-0cac87648e81')
    tClient.push(now() - t0)
  }
  console.log(`OpenStack client overhead (in-process server on loopback, ${N} interleaved GETs)`)
  row('bare keep-alive GET + JSON.parse', tRaw)
  row('CinderClient.getVolume', tClient)
  console.log(
    `  overhead: ${(median(tClient) - median(tRaw)).toFixed(2)} ms per call (target ≤ 2 ms)\n`,
  )
  server.close()
  agent.destroy()
}

// ---- 2. per operation against the dev cloud
const c = counting(createTransport({ timeoutMs: 30_000, log }))
const s = session(c.transport)
const cinder = new CinderClient(s)
const manila = new ManilaClient(s)
const connector: ConnectorProperties = {
  host: hostname(),
  ip: '127.0.0.1',
  multipath: false,
  os_type: 'linux',
}
const M = Number(process.env.BENCH_CLOUD_N ?? 10)
const stats = new Map<string, { ms: number[]; calls: number[]; keystone: number[] }>()
async function op<T>(label: string, f: () => Promise<T>): Promise<T> {
  const calls0 = c.total()
  const ks0 = c.calls.get('keystone') ?? 0
  const t0 = now()
  const r = await f()
  const st = stats.get(label) ?? { ms: [], calls: [], keystone: [] }
  st.ms.push(now() - t0)
  st.calls.push(c.total() - calls0)
  st.keystone.push((c.calls.get('keystone') ?? 0) - ks0)
  stats.set(label, st)
  return r
}
await cinder.api.version() // first token and version documents: the cold part, reported below
await manila.api.version()
const cold = { calls: c.total(), keystone: c.calls.get('keystone') ?? 0 }
const WAIT = { timeoutMs: 120_000 }
for (let i = 0; i < M; i++) {
  const v = await op('cinder: create + wait available', async () => {
    const created = await cinder.createVolume({ name: uniqueName('bench'), size: 1 })
    return cinder.waitForVolume(created.id, ['available'], WAIT)
  })
  const id = v?.id ?? ''
  await op('cinder: get volume', () => cinder.getVolume(id))
  await op('cinder: list volumes by name', () => cinder.listVolumes({ name: v?.name ?? '' }))
  await op('cinder: set metadata', () => cinder.metadata.set(id, { fuxi: 'bench' }))
  const att = await op('cinder: attachment create w/ connector', () =>
    cinder.createAttachment(id, { connector }),
  )
  await op('cinder: attachment complete', () => cinder.completeAttachment(att.id))
  await op('cinder: attachment delete', () => cinder.deleteAttachment(att.id))
  await op('cinder: delete + wait gone', async () => {
    await cinder.waitForVolume(id, ['available'], WAIT)
    await cinder.deleteVolume(id)
    return cinder.waitForVolume(id, [], { ...WAIT, goneIsSuccess: true })
  })
  const sh = await op('manila: create + wait available', async () => {
    const created = await manila.createShare({
      share_proto: 'NFS',
      size: 1,
      name: uniqueName('bench'),
    })
    return manila.waitForShare(created.id, ['available'], WAIT)
  })
  const sid = sh?.id ?? ''
  await op('manila: get share', () => manila.getShare(sid))
  await op('manila: export locations', () => manila.exportLocations(sid))
  const rule = await op('manila: allow access + wait active', async () => {
    const r = await manila.allowAccess(sid, { access_type: 'ip', access_to: '127.0.0.1' })
    return manila.waitForAccessRule(sid, r.id, ['active'], WAIT)
  })
  await op('manila: list access rules', () => manila.listAccessRules(sid))
  await op('manila: deny access', () => manila.denyAccess(sid, rule?.id ?? ''))
  await op('manila: delete + wait gone', async () => {
    await manila.waitForAccessRule(sid, rule?.id ?? '', [], { ...WAIT, goneIsSuccess: true })
    await manila.deleteShare(sid)
    return manila.waitForShare(sid, [], { ...WAIT, goneIsSuccess: true })
  })
}
console.log(
  `Per operation against the dev cloud (${M} rounds, warm session; the first token and both version documents took ${cold.calls} calls, ${cold.keystone} to Keystone)`,
)
for (const [label, st] of stats)
  row(label, st.ms, `   HTTP calls ${median(st.calls)}, Keystone ${Math.max(...st.keystone)}`)

// ---- 3. a renewal shared by concurrent callers (Keystone with short-lived tokens)
{
  const c3 = counting(createTransport({ timeoutMs: 30_000, log }))
  const s3 = session(c3.transport, SHORT_TOKEN_KEYSTONE)
  const cinder3 = new CinderClient(s3)
  await cinder3.api.version()
  await new Promise((r) => setTimeout(r, SHORT_TOKEN_TTL_MS / 2 + 500))
  const t0 = now()
  await Promise.all(Array.from({ length: 50 }, () => cinder3.listVolumes({ name: 'none' })))
  console.log(
    `\n50 concurrent calls after the token's renewal point: ${s3.authCount - 1} renewal(s), ${(now() - t0).toFixed(0)} ms in all`,
  )
}
