// Manila provider benchmark: prints figures, asserts nothing. `npm run bench:manila` starts the
// dev cloud first. One lifecycle (create → mount → unmount → remove) of a 1 GiB NFS share:
// 1. by hand with the fewest calls: create + poll, export locations, allow + poll until active,
//    mount, umount, deny + poll until gone, delete + poll;
// 2. through fuxi's plugin socket, with a counting proxy in front of Manila: OpenStack calls per
//    step (polls apart) and the time split between Manila, the mount and fuxi itself.
// This kernel has no NFS client: both sides mount through the test-only mount.nfs stand-in (a
// bind mount once the share's rules allow 127.0.0.1), so "mount" here is not an NFS mount's cost.
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { ManilaClient } from '../src/openstack/manila.ts'
import { Daemon } from '../test/support/daemon.ts'
import { cloudSession, demoAuthConf, devcloudAuth, uniqueName } from '../test/support/devcloud.ts'
import { faultProxy } from '../test/support/fault-proxy.ts'
import { STANDIN_PATH, STANDINS } from '../test/support/standins.ts'
import { lifecycles, report } from './lifecycle.ts'
import { median, now, row, timed } from './stats.ts'

const N = Number(process.env.BENCH_N ?? 8)
const WAIT = { timeoutMs: 60_000 }
mkdirSync('/var/lib/fuxi-test', { recursive: true })
const dir = await mkdtemp('/var/lib/fuxi-test/bench-manila-')
const auth = devcloudAuth('openrc-demo')
const api = new ManilaClient(cloudSession(auth))
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'ignore' })

// ---- 1. by hand
const hand = {
  create: [] as number[],
  exports: [] as number[],
  allow: [] as number[],
  mount: [] as number[],
  umount: [] as number[],
  deny: [] as number[],
  remove: [] as number[],
  total: [] as number[],
}
const mnt = `${dir}/hand`
mkdirSync(mnt)
for (let i = 0; i < N; i++) {
  const t0 = now()
  const s = await timed(hand.create, async () => {
    const c = await api.createShare({ name: uniqueName('hand'), size: 1, share_proto: 'NFS' })
    return api.waitForShare(c.id, ['available'], WAIT)
  })
  const id = s?.id ?? ''
  const [where] = await timed(hand.exports, () => api.exportLocations(id))
  const rule = await timed(hand.allow, async () => {
    const r = await api.allowAccess(id, { access_type: 'ip', access_to: '127.0.0.1' })
    await api.waitForAccessRule(id, r.id, ['active'], WAIT)
    return r
  })
  await timed(hand.mount, () => sh(`${STANDINS}/mount.nfs`, [where?.path ?? '', mnt]))
  await timed(hand.umount, () => sh('umount', [mnt]))
  await timed(hand.deny, async () => {
    await api.denyAccess(id, rule.id)
    await api.waitForAccessRule(id, rule.id, [], { ...WAIT, goneIsSuccess: true })
  })
  await timed(hand.remove, async () => {
    await api.deleteShare(id)
    await api.waitForShare(id, [], { ...WAIT, goneIsSuccess: true })
  })
  hand.total.push(now() - t0)
}
console.log(`Manila lifecycle by hand (${N} rounds, 1 GiB NFS share, non-admin user)`)
for (const [k, xs] of Object.entries(hand)) row(k, xs)

// ---- 2. through fuxi
const proxy = await faultProxy(undefined, 'http://127.0.0.1:8786')
const endpoint = (await cloudSession(auth).endpoint('sharev2')).replace(
  'http://127.0.0.1:8786',
  proxy.url,
)
const fuxi = await Daemon.create(dir, {
  extra: [
    'volume_providers = manila',
    `volume_from = ${uniqueName('bench')}`,
    'my_ip = 127.0.0.1',
    'log_level = warn',
    ...demoAuthConf('manila'),
    `endpoint_override = ${endpoint}`,
    '',
  ].join('\n'),
})
fuxi.env = { PATH: STANDIN_PATH }
let by: Awaited<ReturnType<typeof lifecycles>> | undefined
try {
  await fuxi.start()
  // Polls: share reads while waiting, and every rules listing after a step's first one.
  by = await lifecycles(fuxi, proxy.log, N, (entries) => {
    const path = (u: string) => u.split('?')[0] ?? ''
    const get = entries.filter((e) => e.method === 'GET').map((e) => path(e.url))
    const rules = get.filter((u) => u.endsWith('/share-access-rules')).length
    return get.filter((u) => /\/shares\/[0-9a-f-]{36}$/.test(u)).length + Math.max(0, rules - 1)
  })
} finally {
  await fuxi.stop()
  await proxy.close()
  rmSync(dir, { recursive: true, force: true })
}
if (!by) throw new Error('no figures')
const kernel = median(hand.mount) + median(hand.umount)
const { total, service: manilaTotal } = report(by, {
  rounds: N,
  service: 'Manila',
  handMs: median(hand.total),
  handCalls: 5,
})
console.log(
  `  split: Manila ${manilaTotal.toFixed(0)} ms, mount+umount ≈ ${kernel.toFixed(0)} ms (stand-in), fuxi and the sleeps between polls ≈ ${(total - manilaTotal - kernel).toFixed(0)} ms`,
)
