// fuxi local benchmark (root: loop devices, mount, dockerd). `npm run bench` runs it with the
// Cinder and Manila benches and prints the goals table; alone: `npm run bench:local`.
// The daemon is the production one: bin/fuxi-server (its node flags) running dist/fuxi.mjs.
// 1. paired rounds, each the kernel work of a local volume by hand, then the same lifecycle over
//    the plugin socket: the ratios to by hand;
// 2. Get/List with 200 volumes;
// 3. daemon RSS over 3,000 more operations, sampled every 1,000;
// 4. cold start to the first answered Activate, paired with `node -e 0`;
// 5. the same lifecycle through the docker CLI (private dockerd), when docker.io is installed.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { Daemon } from '../test/support/daemon.ts'
import { Dockerd, TEST_IMAGE } from '../test/support/dockerd.ts'
import { cleanupUnder } from '../test/support/host-cleanup.ts'
import { bareNode, ProductionDaemon } from './production.ts'
import { fmt, median, now, row } from './stats.ts'
import { pairedRatio, printMine, record } from './table.ts'

const N = Number(process.env.BENCH_N ?? 25)
const COLD_N = Number(process.env.BENCH_COLD_N ?? 15)
const OPS = 1000 // per RSS sample

mkdirSync('/var/lib/fuxi-test', { recursive: true })
const dir = await mkdtemp('/var/lib/fuxi-test/bench-')
const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()
const conf = (d: string) => `docker_socket = ${d}/none.sock\nlog_level = warn\n`

try {
  console.log(`fuxi local bench (node ${process.version}, ${N} rounds, 1 GiB ext4 volumes)\n`)
  mkdirSync(`${dir}/d`)
  const d = await ProductionDaemon.make(`${dir}/d`, conf(dir))
  await d.start()
  const idleRss = d.rssMb()

  // ---- 1. paired rounds: by hand, then through fuxi
  const handUp: number[] = []
  const handDown: number[] = []
  const lat: Record<string, number[]> = {
    create: [],
    'first mount': [],
    'second mount': [],
    unmount: [],
    'last unmount': [],
    remove: [],
  }
  const time = async (k: string, f: () => Promise<{ Err?: string }>) => {
    const s = now()
    const r = await f()
    if (r.Err) throw new Error(`${k}: ${r.Err}`)
    lat[k]?.push(now() - s)
  }
  let ops = 0
  const call = async (method: string, body?: object) => {
    ops++
    return d.call(method, body)
  }
  mkdirSync(`${dir}/hand`, { recursive: true })
  for (let i = 0; i < N; i++) {
    const img = `${dir}/hand/v${i}.img`
    const mp = `${dir}/hand/mnt${i}`
    mkdirSync(mp)
    const h0 = now()
    sh('truncate', ['-s', '1G', img])
    const dev = sh('losetup', ['--find', '--show', img]).trim()
    try {
      sh('blkid', ['-p', dev])
    } catch {
      // exit 2: nothing found
    }
    sh('mkfs', ['-t', 'ext4', '-q', dev])
    sh('mount', ['-t', 'ext4', dev, mp])
    handUp.push(now() - h0)
    const h1 = now()
    sh('umount', [mp])
    sh('losetup', ['-d', dev])
    sh('rm', ['-f', img])
    handDown.push(now() - h1)

    const Name = `b${i}`
    await time('create', () => call('VolumeDriver.Create', { Name, Opts: { size: '1' } }))
    await time('first mount', () => call('VolumeDriver.Mount', { Name, ID: 'a' }))
    await time('second mount', () => call('VolumeDriver.Mount', { Name, ID: 'b' }))
    await time('unmount', () => call('VolumeDriver.Unmount', { Name, ID: 'b' }))
    await time('last unmount', () => call('VolumeDriver.Unmount', { Name, ID: 'a' }))
    await time('remove', () => call('VolumeDriver.Remove', { Name }))
  }
  console.log('by hand (truncate, losetup, blkid, mkfs, mount | umount, losetup -d, rm):')
  row('create + first mount', handUp)
  row('last unmount + remove', handDown)
  console.log(
    '\nover the plugin socket (HTTP on a unix socket, like dockerd), paired with the above:',
  )
  for (const [k, xs] of Object.entries(lat)) row(k, xs)
  const up = lat.create?.map((x, i) => x + (lat['first mount']?.[i] ?? 0)) ?? []
  const down = lat['last unmount']?.map((x, i) => x + (lat.remove?.[i] ?? 0)) ?? []
  row('create + first mount', up)
  row('last unmount + remove', down)
  const upRatio = pairedRatio(handUp, up)
  const downRatio = pairedRatio(handDown, down)
  console.log(`  paired ratios to by hand: up ${upRatio.text}; down ${downRatio.text}`)
  record({ id: 'local-up', measured: upRatio.text, pass: upRatio.median <= 1.5 })
  record({ id: 'local-down', measured: downRatio.text, pass: downRatio.median <= 1.5 })

  // ---- 2. Get/List with 200 volumes
  for (let i = 0; i < 200; i++) await call('VolumeDriver.Create', { Name: `many${i}`, Opts: null })
  const gets: number[] = []
  for (let i = 0; i < 1000; i++) {
    const s = now()
    await call('VolumeDriver.Get', { Name: `many${i % 200}` })
    gets.push(now() - s)
  }
  const lists: number[] = []
  for (let i = 0; i < 200; i++) {
    const s = now()
    const r = await call('VolumeDriver.List', {})
    lists.push(now() - s)
    if ((r.Volumes as unknown[]).length !== 200) throw new Error('list size')
  }
  console.log('\nwith 200 volumes:')
  row('Get', gets)
  row('List (200 entries)', lists)
  const setupOps = ops
  const setupRss = d.rssMb()

  // ---- 3. RSS over 3,000 more operations (Mount, Get, Unmount, List of volumes in turn, so every
  // 1,000 run 250 losetup/mount/umount): a plateau means no growth, a slope a leak.
  const stats = async () =>
    (await d.call('Fuxi.Stats', {})).MemoryMB as Record<
      'heapUsed' | 'heapTotal' | 'external',
      number
    >
  const samples: { rss: number; heap: string }[] = []
  for (let round = 1; round <= 3; round++) {
    for (let i = 0; i < OPS / 4; i++) {
      const Name = `many${i % 200}`
      await call('VolumeDriver.Mount', { Name, ID: 'x' })
      await call('VolumeDriver.Get', { Name })
      await call('VolumeDriver.Unmount', { Name, ID: 'x' })
      await call('VolumeDriver.List', {})
    }
    const m = await stats()
    samples.push({
      rss: d.rssMb(),
      heap: `heap ${m.heapUsed}/${m.heapTotal}, external ${m.external}`,
    })
  }
  console.log(
    `\nmemory (VmRSS of the daemon, started as bin/fuxi-server starts it: ${process.env.FUXI_NODE_OPTIONS ?? '--max-old-space-size=64 --max-semi-space-size=1'}):`,
  )
  console.log(`  idle after start                           ${idleRss.toFixed(1)} MB`)
  console.log(
    `  after ${setupOps} operations (rounds, 200 creates, Gets, Lists)   ${setupRss.toFixed(1)} MB`,
  )
  for (const [i, s] of samples.entries())
    console.log(
      `  + ${(i + 1) * OPS} operations                        ${s.rss.toFixed(1)} MB (${s.heap} MB)`,
    )
  await d.stop()
  const rss = samples.map((s) => s.rss)
  const [r1 = 0, r2 = 0, r3 = 0] = rss
  // Flat: the last 2,000 operations added at most 5% to what the first 1,000 left.
  const flat = r3 - r1 <= 0.05 * r1
  record({
    id: 'rss',
    measured: `${r1.toFixed(1)} / ${r2.toFixed(1)} / ${r3.toFixed(1)} MB (${r3 - r1 >= 0 ? '+' : ''}${(r3 - r1).toFixed(1)} MB from 1k to 3k${flat ? '' : ': growing'})`,
    pass: r3 <= 100 && flat,
  })

  // ---- 4. cold start, paired with node -e 0: a new state directory (empty journal, local
  // provider only), then (figures only) the 200 volumes left in the first daemon's journal.
  mkdirSync(`${dir}/cold`)
  const cold = await ProductionDaemon.make(`${dir}/cold`, conf(dir))
  const bare: number[] = []
  const starts: number[] = []
  for (let i = 0; i < COLD_N; i++) {
    bare.push(await bareNode())
    starts.push(await cold.timedStart())
    await cold.stop()
  }
  const with200: number[] = []
  for (let i = 0; i < 5; i++) {
    with200.push(await d.timedStart())
    await d.stop()
  }
  console.log(
    '\ncold start (spawn of bin/fuxi-server to the first answered Activate, polled every 1 ms):',
  )
  row('node -e 0 (spawn to exit)', bare)
  row('fuxi, empty journal', starts)
  row('fuxi, 200 volumes in the journal', with200)
  const coldRatio = pairedRatio(bare, starts)
  record({
    id: 'cold-start',
    measured: `${coldRatio.text}; ${fmt(median(starts))} vs ${fmt(median(bare))}`,
    pass: coldRatio.median <= 2.5,
  })

  // ---- 5. through the docker CLI
  if (existsSync('/usr/sbin/dockerd') && existsSync('/usr/bin/docker')) {
    const dockerd = await Dockerd.start()
    try {
      await dockerd.ensureImage()
      const driver = `fxb${process.pid}`
      mkdirSync(`${dir}/docker`, { recursive: true })
      const dd = await Daemon.create(`${dir}/docker`, {
        socket: `/run/docker/plugins/${driver}.sock`,
        extra: `docker_socket = ${dockerd.socket}\nlog_level = warn\n`,
      })
      dd.production = true
      await dd.start()
      const cli: Record<string, number[]> = {
        'docker volume create': [],
        'docker run --rm (no volume)': [],
        'docker run --rm -v (fuxi volume)': [],
        'docker volume rm': [],
      }
      const t = async (k: string, args: string[]) => {
        const s = now()
        await dockerd.ok(args)
        cli[k]?.push(now() - s)
      }
      for (let i = 0; i < Math.min(N, 8); i++) {
        await t('docker volume create', ['volume', 'create', '-d', driver, `cli${i}`])
        await t('docker run --rm (no volume)', [
          'run',
          '--rm',
          '--network',
          'none',
          TEST_IMAGE,
          'true',
        ])
        await t('docker run --rm -v (fuxi volume)', [
          'run',
          '--rm',
          '--network',
          'none',
          '-v',
          `cli${i}:/data`,
          TEST_IMAGE,
          'true',
        ])
        await t('docker volume rm', ['volume', 'rm', `cli${i}`])
      }
      console.log('\nthrough the docker CLI (docker.io 20.10, private dockerd):')
      for (const [k, xs] of Object.entries(cli)) row(k, xs)
      await dd.stop()
    } finally {
      await dockerd.stop()
    }
  } else {
    console.log(
      '\n(docker CLI figures skipped: docker.io is not installed; run scripts/install-deps.sh --test)',
    )
  }
} finally {
  cleanupUnder(dir)
  rmSync(dir, { recursive: true, force: true })
}
printMine()
