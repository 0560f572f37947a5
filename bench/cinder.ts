// Cinder provider benchmark: prints figures, asserts nothing. `npm run bench:cinder` starts the
// dev cloud first. One lifecycle (create → mount → unmount → remove):
// 1. by hand with the fewest calls: create + poll, attachment with connector + complete, mkfs,
//    mount, umount, attachment delete, delete + poll;
// 2. through fuxi's plugin socket, with a counting proxy in front of Cinder: OpenStack calls per
//    step (polls apart) and the time split between Cinder, the kernel and fuxi itself.
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { hostConnectorProperties } from '../src/connectors/connector.ts'
import { CinderClient } from '../src/openstack/cinder.ts'
import { LIST_FRESH_MS } from '../src/volumes/volume-catalog.ts'
import { Daemon } from '../test/support/daemon.ts'
import { cloudSession, demoAuthConf, devcloudAuth, uniqueName } from '../test/support/devcloud.ts'
import { faultProxy } from '../test/support/fault-proxy.ts'
import { lifecycles, report } from './lifecycle.ts'
import { median, now, row, timed } from './stats.ts'

const N = Number(process.env.BENCH_N ?? 8)
const WAIT = { timeoutMs: 60_000 }
mkdirSync('/var/lib/fuxi-test', { recursive: true })
const dir = await mkdtemp('/var/lib/fuxi-test/bench-cinder-')
const auth = devcloudAuth('openrc-demo')
const api = new CinderClient(cloudSession(auth))
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'ignore' })

// ---- 1. by hand
const hand = {
  create: [] as number[],
  attach: [] as number[],
  mkfs: [] as number[],
  mount: [] as number[],
  umount: [] as number[],
  detach: [] as number[],
  remove: [] as number[],
  total: [] as number[],
}
const mnt = `${dir}/hand`
mkdirSync(mnt)
for (let i = 0; i < N; i++) {
  const t0 = now()
  const v = await timed(hand.create, async () => {
    const c = await api.createVolume({ name: uniqueName('hand'), size: 1 })
    return api.waitForVolume(c.id, ['available'], WAIT)
  })
  const id = v?.id ?? ''
  const att = await timed(hand.attach, async () => {
    const a = await api.createAttachment(id, {
      connector: hostConnectorProperties('bench-host', '127.0.0.1'),
    })
    await api.completeAttachment(a.id)
    return a
  })
  const dev = String(att.connection_info.device_path)
  await timed(hand.mkfs, () => sh('mkfs.ext4', ['-q', dev]))
  await timed(hand.mount, () => sh('mount', ['-t', 'ext4', dev, mnt]))
  await timed(hand.umount, () => sh('umount', [mnt]))
  await timed(hand.detach, () => api.deleteAttachment(att.id))
  await timed(hand.remove, async () => {
    await api.waitForVolume(id, ['available'], WAIT)
    await api.deleteVolume(id)
    await api.waitForVolume(id, [], { ...WAIT, goneIsSuccess: true })
  })
  hand.total.push(now() - t0)
}
console.log(`Cinder lifecycle by hand (${N} rounds, 1 GiB ext4, non-admin user)`)
for (const [k, xs] of Object.entries(hand)) row(k, xs)

// ---- 2. through fuxi
const proxy = await faultProxy(undefined, 'http://127.0.0.1:8776')
const endpoint = (await cloudSession(auth).endpoint('volumev3')).replace(
  'http://127.0.0.1:8776',
  proxy.url,
)
const volumeFrom = uniqueName('bench')
const fuxi = await Daemon.create(dir, {
  extra: [
    'volume_providers = cinder',
    `volume_from = ${volumeFrom}`,
    'log_level = warn',
    ...demoAuthConf('cinder'),
    `endpoint_override = ${endpoint}`,
    '',
  ].join('\n'),
})
let by: Awaited<ReturnType<typeof lifecycles>> | undefined
try {
  await fuxi.start()
  // Polls: volume reads while waiting.
  by = await lifecycles(
    fuxi,
    proxy.log,
    N,
    (entries) =>
      entries.filter(
        (e) => e.method === 'GET' && /\/volumes\/[0-9a-f-]{36}$/.test(e.url.split('?')[0] ?? ''),
      ).length,
  )
  // ---- 3. docker volume ls with 200 volumes: fuxi's List (one paginated Cinder list)
  const M = Number(process.env.BENCH_LS_N ?? 200)
  const ids: string[] = []
  for (let i = 0; i < M; i += 20) {
    const made = await Promise.all(
      Array.from({ length: Math.min(20, M - i) }, (_, k) =>
        api.createVolume({ name: `ls${i + k}`, size: 1, metadata: { volume_from: volumeFrom } }),
      ),
    )
    ids.push(...made.map((v) => v.id))
  }
  for (const id of ids) await api.waitForVolume(id, ['available'], WAIT)
  const list = async (xs: number[]) => {
    const t0 = now()
    const r = await fuxi.call('VolumeDriver.List')
    xs.push(now() - t0)
    return (r.Volumes as unknown[]).length
  }
  const cold: number[] = []
  const warm: number[] = []
  let count = 0
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, LIST_FRESH_MS + 50)) // the listing has aged out
    count = await list(cold)
    for (let k = 0; k < 3; k++) await list(warm)
  }
  console.log(`\nList over the plugin socket with ${count} Cinder volumes (target ≤ 100 ms)`)
  row('VolumeDriver.List, new listing', cold)
  row(`VolumeDriver.List, within ${LIST_FRESH_MS} ms`, warm)
  for (let i = 0; i < ids.length; i += 20)
    await Promise.all(ids.slice(i, i + 20).map((id) => api.deleteVolume(id)))
} finally {
  await fuxi.stop()
  await proxy.close()
  rmSync(dir, { recursive: true, force: true })
}
if (!by) throw new Error('no figures')
const kernel = median(hand.mkfs) + median(hand.mount) + median(hand.umount)
const { total, service: cinderTotal } = report(by, {
  rounds: N,
  service: 'Cinder',
  handMs: median(hand.total),
  handCalls: 6,
})
console.log(
  `  split: Cinder ${cinderTotal.toFixed(0)} ms, kernel ≈ ${kernel.toFixed(0)} ms (by-hand mkfs+mount+umount), fuxi and the sleeps between polls ≈ ${(total - cinderTotal - kernel).toFixed(0)} ms`,
)
