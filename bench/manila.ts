// Manila provider benchmark. `npm run bench:manila` starts the dev cloud and builds the bundle
// first. Rounds alternate, each one by hand, then the same through fuxi, for a 1 GiB NFS share:
// 1. by hand with the fewest calls: create + poll, export locations, allow + poll until active,
//    mount, umount, deny + poll until gone, delete + poll until gone;
// 2. through fuxi's plugin socket (the production bundle), driven the way dockerd drives it
//    (bench/lifecycle.ts, DOCKERD_PATTERN).
// Both talk to Manila through a counting proxy of their own (bench/counting-proxy.ts); the one in
// front of fuxi counts its API calls, polls apart.
// This kernel has no NFS client: both sides mount through the test-only mount.nfs stand-in (a
// bind mount once the share's rules allow 127.0.0.1), so "mount" here is not an NFS mount's cost.
import './call-tag.mjs'
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { ManilaClient } from '../src/openstack/manila.ts'
import { Daemon } from '../test/support/daemon.ts'
import { cloudSession, demoAuthConf, devcloudAuth, uniqueName } from '../test/support/devcloud.ts'
import { STANDIN_PATH, STANDINS } from '../test/support/standins.ts'
import { type Call, countingProxy, taggedNodeOptions } from './counting-proxy.ts'
import { type LifecycleResult, lifecycle, printSteps, printTrace } from './lifecycle.ts'
import { median, now, pct, row } from './stats.ts'
import { pairedRatio, printMine, record } from './table.ts'

const N = Number(process.env.BENCH_N ?? 8)
const WAIT = { timeoutMs: 60_000 }
mkdirSync('/var/lib/fuxi-test', { recursive: true })
const dir = await mkdtemp('/var/lib/fuxi-test/bench-manila-')
const auth = devcloudAuth('openrc-demo')
const MANILA = 'http://127.0.0.1:8786'
const endpoint = await cloudSession(auth).endpoint('sharev2')
const handProxy = await countingProxy(MANILA)
const fuxiProxy = await countingProxy(MANILA)
const api = new ManilaClient(
  cloudSession(auth, { endpointOverride: endpoint.replace(MANILA, handProxy.url) }),
)
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'ignore' })
const calls = (log: readonly Call[]) => log.filter((c) => !c.poll).length

// ---- 1. by hand
const handSteps = ['create', 'exports', 'allow', 'mount', 'umount', 'deny', 'remove'] as const
const hand = Object.fromEntries(handSteps.map((k) => [k, [] as number[]])) as Record<
  (typeof handSteps)[number],
  number[]
>
const handTotal: number[] = []
const handCalls: number[] = []
const mnt = `${dir}/hand`
mkdirSync(mnt)
async function byHand(): Promise<void> {
  const from = handProxy.log.length
  const t0 = now()
  let step = now()
  const lap = (k: (typeof handSteps)[number]) => {
    hand[k].push(now() - step)
    step = now()
  }
  const left: { id?: string; mounted?: boolean } = {}
  try {
    const c = await api.createShare({ name: uniqueName('hand'), size: 1, share_proto: 'NFS' })
    left.id = c.id
    await api.waitForShare(c.id, ['available'], WAIT)
    lap('create')
    const [where] = await api.exportLocations(c.id)
    lap('exports')
    const rule = await api.allowAccess(c.id, { access_type: 'ip', access_to: '127.0.0.1' })
    await api.waitForAccessRule(c.id, rule.id, ['active'], WAIT)
    lap('allow')
    sh(`${STANDINS}/mount.nfs`, [where?.path ?? '', mnt])
    left.mounted = true
    lap('mount')
    sh('umount', [mnt])
    left.mounted = false
    lap('umount')
    await api.denyAccess(c.id, rule.id)
    await api.waitForAccessRule(c.id, rule.id, [], { ...WAIT, goneIsSuccess: true })
    lap('deny')
    await api.deleteShare(c.id)
    left.id = undefined
    await api.waitForShare(c.id, [], { ...WAIT, goneIsSuccess: true })
    lap('remove')
    handTotal.push(now() - t0)
    handCalls.push(calls(handProxy.log.slice(from)))
  } finally {
    if (left.mounted) sh('umount', ['-l', mnt])
    if (left.id) await api.deleteShare(left.id).catch(() => {})
  }
}

// ---- 2. through fuxi
const fuxi = await Daemon.create(dir, {
  extra: [
    'volume_providers = manila',
    `volume_from = ${uniqueName('bench')}`,
    'my_ip = 127.0.0.1',
    'log_level = warn',
    // No periodic reconcile: its calls are not a lifecycle's (and would land in some round).
    'reconcile_interval = 0',
    ...demoAuthConf('manila'),
    `endpoint_override = ${endpoint.replace(MANILA, fuxiProxy.url)}`,
    '',
  ].join('\n'),
})
fuxi.production = true
fuxi.env = { PATH: STANDIN_PATH, NODE_OPTIONS: taggedNodeOptions() }
const rounds: LifecycleResult[] = []
try {
  await fuxi.start()
  await api.api.version() // the hand client's token and version document, outside the timings
  for (let i = 0; i < N; i++) {
    await byHand()
    rounds.push(await lifecycle(fuxi, fuxiProxy.log, `b${i}`))
  }
} finally {
  await fuxi.stop()
  await fuxiProxy.close()
  await handProxy.close()
  rmSync(dir, { recursive: true, force: true })
}

console.log(`Manila lifecycle by hand (${N} rounds, 1 GiB NFS share, non-admin user)`)
for (const [k, xs] of Object.entries(hand)) row(k, xs)
row('lifecycle', handTotal, `   calls ${median(handCalls)} (polls apart)`)
console.log(`\nThrough fuxi's plugin socket, as dockerd calls it (${N} rounds, interleaved)`)
printSteps(rounds)
const fuxiMs = rounds.map((r) => r.ms)
const fuxiCalls = rounds.map((r) => r.calls)
row(
  'lifecycle',
  fuxiMs,
  `   calls ${median(fuxiCalls)} (+${median(rounds.map((r) => r.polls))} polls), in Manila ${median(rounds.map((r) => r.serviceMs)).toFixed(0)} ms`,
)
console.log(
  `  split (medians): Manila ${median(rounds.map((r) => r.serviceMs)).toFixed(0)} ms, mount+umount ≈ ${(median(hand.mount) + median(hand.umount)).toFixed(0)} ms (stand-in), fuxi and the sleeps between polls the rest`,
)
const last = rounds[rounds.length - 1]
if (last) {
  console.log(`\nThe API calls of round ${rounds.length} through fuxi, in order (polls grouped):`)
  printTrace(last)
}

const life = pairedRatio(handTotal, fuxiMs)
record({ id: 'manila-lifecycle', measured: life.text, pass: life.median <= 1.25 })
const c = pct(fuxiCalls, 50)
record({
  id: 'manila-calls',
  measured: `${c} (min–max ${Math.min(...fuxiCalls)}–${Math.max(...fuxiCalls)}; by hand ${median(handCalls)})`,
  pass: c <= 5,
})
printMine()
