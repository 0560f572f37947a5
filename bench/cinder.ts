// Cinder provider benchmark. `npm run bench:cinder` starts the dev cloud and builds the bundle
// first. Rounds alternate, each one by hand, then the same through fuxi:
// 1. by hand with the fewest calls: create + poll, attachment with connector + complete, mkfs,
//    mount, umount, attachment delete, poll until available, delete + poll until gone;
// 2. through fuxi's plugin socket (the production bundle), driven the way dockerd drives it
//    (bench/lifecycle.ts, DOCKERD_PATTERN).
// Both talk to Cinder through a counting proxy of their own (bench/counting-proxy.ts), so both pay
// the same proxy hop; the proxy in front of fuxi counts its API calls, polls apart.
// 3. a cold List with 200 volumes vs Cinder's own detail list of the same volumes, paired (the
//    order within a pair alternates: Cinder answers a repeated query faster).
// Prints the figures, the ordered calls of one lifecycle, and the goals rows (bench/table.ts).
import './call-tag.mjs'
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { hostConnectorProperties } from '../src/connectors/connector.ts'
import { CinderClient, type CinderClient as Client } from '../src/openstack/cinder.ts'
import { formatMicroversion } from '../src/openstack/microversion.ts'
import { LIST_FRESH_MS } from '../src/volumes/volume-catalog.ts'
import { Daemon } from '../test/support/daemon.ts'
import { cloudSession, demoAuthConf, devcloudAuth, uniqueName } from '../test/support/devcloud.ts'
import { type Call, countingProxy, describeCall, taggedNodeOptions } from './counting-proxy.ts'
import { handRounds, type LifecycleResult, lifecycle, reportLifecycles } from './lifecycle.ts'
import { median, now, row } from './stats.ts'
import { pairedRatio, printMine, record } from './table.ts'

const N = Number(process.env.BENCH_N ?? 8)
const LIST_N = Number(process.env.BENCH_LS_N ?? 200)
const LIST_ROUNDS = Number(process.env.BENCH_LS_ROUNDS ?? 16)
const WAIT = { timeoutMs: 60_000 }
mkdirSync('/var/lib/fuxi-test', { recursive: true })
const dir = await mkdtemp('/var/lib/fuxi-test/bench-cinder-')
const auth = devcloudAuth('openrc-demo')
const CINDER = 'http://127.0.0.1:8776'
const endpoint = await cloudSession(auth).endpoint('volumev3')
const handProxy = await countingProxy(CINDER)
const fuxiProxy = await countingProxy(CINDER)
const handSession = cloudSession(auth, {
  endpointOverride: endpoint.replace(CINDER, handProxy.url),
})
const api: Client = new CinderClient(handSession)
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'ignore' })

// ---- 1. by hand
const hand = handRounds(
  ['create', 'attach', 'mkfs', 'mount', 'umount', 'detach', 'remove'] as const,
  handProxy.log,
)
const mnt = `${dir}/hand`
mkdirSync(mnt)
async function byHand(): Promise<void> {
  const { lap, done } = hand.start()
  const left: { id?: string; attachment?: string; mounted?: boolean } = {}
  try {
    const c = await api.createVolume({ name: uniqueName('hand'), size: 1 })
    left.id = c.id
    await api.waitForVolume(c.id, ['available'], WAIT)
    lap('create')
    const a = await api.createAttachment(c.id, {
      connector: hostConnectorProperties('bench-host', '127.0.0.1'),
    })
    left.attachment = a.id
    await api.completeAttachment(a.id)
    lap('attach')
    const dev = String(a.connection_info.device_path)
    sh('mkfs.ext4', ['-q', dev])
    lap('mkfs')
    sh('mount', ['-t', 'ext4', dev, mnt])
    left.mounted = true
    lap('mount')
    sh('umount', [mnt])
    left.mounted = false
    lap('umount')
    await api.deleteAttachment(a.id)
    left.attachment = undefined
    lap('detach')
    await api.waitForVolume(c.id, ['available'], WAIT)
    await api.deleteVolume(c.id)
    left.id = undefined
    await api.waitForVolume(c.id, [], { ...WAIT, goneIsSuccess: true })
    lap('remove')
    done()
  } finally {
    if (left.mounted) sh('umount', ['-l', mnt])
    if (left.attachment) await api.deleteAttachment(left.attachment).catch(() => {})
    if (left.id) await api.deleteVolume(left.id).catch(() => {})
  }
}

// ---- 2. through fuxi
const volumeFrom = uniqueName('bench')
const fuxi = await Daemon.create(dir, {
  extra: [
    'volume_providers = cinder',
    `volume_from = ${volumeFrom}`,
    'log_level = warn',
    // No periodic reconcile: its calls are not a lifecycle's (and would land in some round).
    'reconcile_interval = 0',
    ...demoAuthConf('cinder'),
    'heartbeat_interval = 3600',
    `endpoint_override = ${endpoint.replace(CINDER, fuxiProxy.url)}`,
    '',
  ].join('\n'),
})
fuxi.production = true
fuxi.env = { NODE_OPTIONS: taggedNodeOptions() }
const rounds: LifecycleResult[] = []
const listHand: number[] = []
const listFuxi: number[] = []
const listWarm: number[] = []
let listCount = 0
let listCalls: Call[] = []
const made: string[] = []
try {
  await fuxi.start()
  await api.api.version() // the hand client's token and version document, outside the timings
  for (let i = 0; i < N; i++) {
    await byHand()
    rounds.push(await lifecycle(fuxi, fuxiProxy.log, `b${i}`))
  }

  // ---- 3. List with LIST_N volumes: fuxi's List after its listing aged out, paired with the
  // detail list fuxi asks Cinder for, as a bare keep-alive GET + JSON.parse.
  for (let i = 0; i < LIST_N; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, LIST_N - i) }, (_, k) =>
        api.createVolume({ name: `ls${i + k}`, size: 1, metadata: { volume_from: volumeFrom } }),
      ),
    )
    made.push(...batch.map((v) => v.id))
  }
  for (const id of made) await api.waitForVolume(id, ['available'], WAIT)
  const version = await api.api.version()
  const headers = {
    'X-Auth-Token': (await handSession.token()).value,
    Accept: 'application/json',
    ...(version ? { 'OpenStack-API-Version': `volume ${formatMicroversion(version)}` } : {}),
  }
  const agent = new Agent({ keepAlive: true })
  const listUrl = `${endpoint.replace(CINDER, handProxy.url)}/volumes/detail?metadata=${encodeURIComponent(JSON.stringify({ volume_from: volumeFrom }))}`
  const bare = () =>
    new Promise<number>((resolve, reject) => {
      const req = request(listUrl, { agent, headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { volumes: unknown[] }
          resolve(body.volumes.length)
        })
      })
      req.on('error', reject)
      req.end()
    })
  const list = async () => {
    const r = await fuxi.call('VolumeDriver.List')
    if (r.Err) throw new Error(`List: ${r.Err}`)
    return (r.Volumes as unknown[]).length
  }
  await bare() // the connection, outside the timings
  for (let i = 0; i < LIST_ROUNDS; i++) {
    await new Promise((r) => setTimeout(r, LIST_FRESH_MS + 50)) // fuxi's listing has aged out
    // Cinder answers a query it just answered faster: which of the two goes first alternates.
    let n = 0
    const byHand = async () => {
      const t0 = now()
      n = await bare()
      listHand.push(now() - t0)
    }
    const throughFuxi = async () => {
      const from = fuxiProxy.log.length
      const t0 = now()
      listCount = await list()
      listFuxi.push(now() - t0)
      listCalls = fuxiProxy.log.slice(from)
    }
    if (i % 2 === 0) {
      await byHand()
      await throughFuxi()
    } else {
      await throughFuxi()
      await byHand()
    }
    if (n !== LIST_N || listCount !== LIST_N)
      throw new Error(`listed ${n} by hand and ${listCount} through fuxi, made ${LIST_N}`)
    const t0 = now()
    await list()
    listWarm.push(now() - t0)
  }
  agent.destroy()
} finally {
  await fuxi.stop()
  for (let i = 0; i < made.length; i += 20)
    await Promise.all(made.slice(i, i + 20).map((id) => api.deleteVolume(id).catch(() => {})))
  await fuxiProxy.close()
  await handProxy.close()
  rmSync(dir, { recursive: true, force: true })
}

reportLifecycles({
  service: 'Cinder',
  what: '1 GiB ext4',
  hand,
  rounds,
  split: (ms) =>
    `Cinder ${ms.toFixed(0)} ms, kernel ≈ ${(median(hand.laps.mkfs) + median(hand.laps.mount) + median(hand.laps.umount)).toFixed(0)} ms (by-hand mkfs+mount+umount), fuxi and the sleeps between polls the rest`,
  maxCalls: 6,
  more: () => {
    console.log(
      `\nList over the plugin socket with ${listCount} Cinder volumes (${LIST_ROUNDS} rounds)`,
    )
    row("Cinder's detail list, bare GET", listHand)
    row('VolumeDriver.List, new listing', listFuxi)
    row(`VolumeDriver.List, within ${LIST_FRESH_MS} ms`, listWarm)
    console.log(`  fuxi's calls for a new listing: ${listCalls.map(describeCall).join('; ')}`)
  },
})
const ls = pairedRatio(listHand, listFuxi)
record({ id: 'cinder-list', measured: `${ls.text}; ${listCount} volumes`, pass: ls.median <= 1.1 })
printMine()
