// fuxi benchmark: prints figures, asserts nothing. Needs root; run with `npm run bench`.
// 1. the kernel work of a local volume done by hand (the baseline for the targets);
// 2. per-operation latency over the plugin socket; Get/List with 200 volumes;
// 3. daemon RSS idle, after 200 and after 1,000 operations; cold start to the first Activate;
// 4. the same lifecycle through the docker CLI (private dockerd), when docker.io is installed.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { Daemon } from '../test/support/daemon.ts'
import { Dockerd, TEST_IMAGE } from '../test/support/dockerd.ts'
import { cleanupUnder } from '../test/support/host-cleanup.ts'
import { fmt, median, now, row } from './stats.ts'

const N = Number(process.env.BENCH_N ?? 25)
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

mkdirSync('/var/lib/fuxi-test', { recursive: true })
const dir = await mkdtemp('/var/lib/fuxi-test/bench-')
const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()

try {
  console.log(`fuxi bench (node ${process.version}, ${N} iterations, 1 GiB ext4 volumes)\n`)

  // 1 + 2, interleaved so that both see the same moment of the machine: each iteration does the
  // kernel work by hand, then the same lifecycle over the plugin socket.
  const d = await Daemon.create(`${dir}`, {
    extra: `docker_socket = ${dir}/none.sock\nlog_level = warn\n`,
  })
  process.env.FUXI_USE_DIST = '1'
  const t0 = now()
  await d.start()
  const firstStart = now() - t0
  const pid = d.proc?.pid as number
  const idleRss = rssMb(pid)
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
    await time('create', () => d.call('VolumeDriver.Create', { Name, Opts: { size: '1' } }))
    await time('first mount', () => d.call('VolumeDriver.Mount', { Name, ID: 'a' }))
    await time('second mount', () => d.call('VolumeDriver.Mount', { Name, ID: 'b' }))
    await time('unmount', () => d.call('VolumeDriver.Unmount', { Name, ID: 'b' }))
    await time('last unmount', () => d.call('VolumeDriver.Unmount', { Name, ID: 'a' }))
    await time('remove', () => d.call('VolumeDriver.Remove', { Name }))
  }
  console.log('by hand (truncate, losetup, blkid, mkfs, mount | umount, losetup -d, rm):')
  row('create + first mount', handUp)
  row('last unmount + remove', handDown)
  console.log(
    '\nover the plugin socket (HTTP on a unix socket, like dockerd), interleaved with the above:',
  )
  for (const [k, xs] of Object.entries(lat)) row(k, xs)
  const up = lat.create?.map((x, i) => x + (lat['first mount']?.[i] ?? 0)) ?? []
  const down = lat['last unmount']?.map((x, i) => x + (lat.remove?.[i] ?? 0)) ?? []
  row('create + first mount', up)
  row('last unmount + remove', down)
  console.log(
    `  ratio to by hand: create+first mount ${(median(up) / median(handUp)).toFixed(2)}x, last unmount+remove ${(median(down) / median(handDown)).toFixed(2)}x`,
  )

  // Get/List with 200 volumes
  for (let i = 0; i < 200; i++)
    await d.call('VolumeDriver.Create', { Name: `many${i}`, Opts: null })
  const afterCreates = rssMb(pid)
  const gets: number[] = []
  for (let i = 0; i < 1000; i++) {
    const s = now()
    await d.call('VolumeDriver.Get', { Name: `many${i % 200}` })
    gets.push(now() - s)
  }
  const lists: number[] = []
  for (let i = 0; i < 200; i++) {
    const s = now()
    const r = await d.call('VolumeDriver.List', {})
    lists.push(now() - s)
    if ((r.Volumes as unknown[]).length !== 200) throw new Error('list size')
  }
  console.log('\nwith 200 volumes:')
  row('Get', gets)
  row('List (200 entries)', lists)

  // RSS over 3,000 more operations in rounds of 1,000 (first mount + get + unmount + list, so
  // every round runs losetup/mount/umount): a plateau means no growth, a slope means a leak.
  const stats = async () =>
    (await d.call('Fuxi.Stats', {})).MemoryMB as { rss: number; heapUsed: number }
  const rounds: string[] = []
  for (let round = 1; round <= 3; round++) {
    for (let i = 0; i < 250; i++) {
      const Name = `many${i % 200}`
      await d.call('VolumeDriver.Mount', { Name, ID: 'x' })
      await d.call('VolumeDriver.Get', { Name })
      await d.call('VolumeDriver.Unmount', { Name, ID: 'x' })
      await d.call('VolumeDriver.List', {})
    }
    const m = await stats()
    rounds.push(`${round},000: ${m.rss.toFixed(1)} MB (heap used ${m.heapUsed.toFixed(1)} MB)`)
  }
  console.log('\nmemory (VmRSS of the daemon, launched by bin/fuxi-server):')
  console.log(`  idle after start                        ${idleRss.toFixed(1)} MB`)
  console.log(`  after ${N * 6} lifecycle ops + 200 creates      ${afterCreates.toFixed(1)} MB`)
  console.log(`  after more ops (each round 1,000 ops)   ${rounds.join(' | ')}`)
  await d.stop()

  // cold start to first Activate
  const starts: number[] = [firstStart]
  for (let i = 0; i < 9; i++) {
    const s = now()
    await d.start()
    starts.push(now() - s)
    await d.stop()
  }
  console.log(
    '\ncold start (spawn of bin/fuxi-server to the first answered Activate, polled every 5 ms):',
  )
  console.log(`  empty journal                          ${fmt(firstStart)}`)
  row('200 volumes in the journal', starts.slice(1))

  // 4. through the docker CLI
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
