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
import { countingProxy, taggedNodeOptions } from './counting-proxy.ts'
import { handRounds, type LifecycleResult, lifecycle, reportLifecycles } from './lifecycle.ts'
import { median } from './stats.ts'
import { printMine } from './table.ts'

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

// ---- 1. by hand
const hand = handRounds(
  ['create', 'exports', 'allow', 'mount', 'umount', 'deny', 'remove'] as const,
  handProxy.log,
)
const mnt = `${dir}/hand`
mkdirSync(mnt)
async function byHand(): Promise<void> {
  const { lap, done } = hand.start()
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
    done()
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

reportLifecycles({
  service: 'Manila',
  what: '1 GiB NFS share',
  hand,
  rounds,
  split: (ms) =>
    `Manila ${ms.toFixed(0)} ms, mount+umount ≈ ${(median(hand.laps.mount) + median(hand.laps.umount)).toFixed(0)} ms (stand-in), fuxi and the sleeps between polls the rest`,
  maxCalls: 5,
})
printMine()
