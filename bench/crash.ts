// fuxi crash benchmark: prints figures, asserts nothing (exits 0 unless the harness itself breaks).
// Needs root. Run: `node scripts/build.mjs && node --import tsx bench/crash.ts`
// CRASH_CYCLES mount/unmount cycles per provider (default 200), CRASH_SEED (default random; printed)
// for the schedule, CRASH_CINDER_BUDGET_S (default 120) caps the cinder half's cycles by time,
// CRASH_PROVIDERS (default local,cinder) picks the halves, CRASH_KEEP_LOG=1 keeps the daemon log
// (it is kept under /var/lib/fuxi-test anyway when something went wrong).
// Each cycle mounts one of a few volumes (created up front), writes a file of random content
// (4 KiB–1 MiB) into the mountpoint with open/write/fsync/close, records its sha256, unmounts.
// At random points fuxi is killed with SIGKILL: (a) started with FUXI_TEST_CRASH_AT set to a crash
// point (dist/fuxi-testing.mjs), so that it dies between two steps of the Mount or the Unmount;
// (b) kill -9 at a random delay (0–300 ms) after a Mount or an Unmount is sent. After each crash
// fuxi is restarted and the call is retried as dockerd would: a Mount that failed is never
// unmounted (the container did not start; a new one mounts with a new ID), an Unmount that failed
// is sent again. A fake Docker Engine API answers the reconciler with the containers that hold a
// volume (those whose Mount was answered and whose Unmount was not sent yet). Runs the local
// provider, then the cinder provider against the dev cloud when it is up. Figures per provider:
// cycles, crashes by kind, mounts and loop devices left after the last restart, Cinder attachments
// left, bytes of acknowledged data lost (every volume is mounted again and every file checked),
// median cycle time, total time.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { parseMountInfo } from '../src/host/mountinfo.ts'
import { CinderClient } from '../src/openstack/cinder.ts'
import { Daemon } from '../test/support/daemon.ts'
import { cloudSession, demoAuthConf, devcloudAuth, uniqueName } from '../test/support/devcloud.ts'
import { cleanupUnder, leaksUnder, loopsOf } from '../test/support/host-cleanup.ts'
import { fmt, median, now, row, seedFrom } from './stats.ts'

process.env.FUXI_USE_DIST = '1'
const CYCLES = Number(process.env.CRASH_CYCLES ?? 200)
const SEED = seedFrom('CRASH_SEED')
const CINDER_BUDGET_MS = Number(process.env.CRASH_CINDER_BUDGET_S ?? 120) * 1000
/** Share of cycles run under FUXI_TEST_CRASH_AT, and with a kill -9 at a random delay. */
const P_CRASH_POINT = 0.15
const P_KILL = 0.2
const VOLUMES = 4
const CALL_TIMEOUT_MS = 130_000
const POINTS = [
  'mount:attaching',
  'mount:formatting',
  'mount:mounting',
  'mount:before-commit',
  'unmount:before-work',
] as const
type Point = (typeof POINTS)[number]

let state = SEED
const rnd = () => {
  state = (state + 0x6d2b79f5) | 0
  let t = Math.imul(state ^ (state >>> 15), 1 | state)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const int = (n: number) => Math.floor(rnd() * n)
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const line = (label: string, value: string | number) =>
  console.log(`  ${label.padEnd(48)} ${value}`)
const bump = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by)
const isMounted = (mp: string) =>
  parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')).some((m) => m.mountPoint === mp)

/**
 * Makes `dir` a shared mount, as / is on a systemd host: a mount namespace another process makes
 * meanwhile (e.g. `unshare --mount --propagation slave`, as the multi-host tests do) then gets our
 * unmounts too. On this machine / is private, and such a namespace would keep a copy of a volume
 * mounted at that moment, pinning its loop device ("something holds it open").
 */
function shareMounts(dir: string): void {
  execFileSync('mount', ['--bind', dir, dir])
  execFileSync('mount', ['--make-shared', dir])
}

/** Other mount namespaces that hold mounts under `dir` (they keep its loop devices busy). */
function foreignHolders(dir: string): string[] {
  const mine = readlinkSync('/proc/self/ns/mnt')
  const out = new Map<string, string>()
  for (const pid of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const ns = readlinkSync(`/proc/${pid}/ns/mnt`)
      if (ns === mine || out.has(ns)) continue
      const hits = parseMountInfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'))
        .map((m) => m.mountPoint)
        .filter((m) => m.startsWith(`${dir}/`))
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
      if (hits.length) out.set(ns, `pid ${pid} (${comm}, ${ns}): ${hits.join(' ')}`)
    } catch {
      // gone meanwhile
    }
  }
  return [...out.values()]
}

/** The slice of the Docker Engine API fuxi's reconciler reads: containers and their volumes. */
function fakeDocker(socket: string, held: Map<string, number>): Promise<Server> {
  const server = createServer((req, res) => {
    if (!req.url?.startsWith('/containers/json')) {
      res.statusCode = 404
      res.end('{"message":"not here"}')
      return
    }
    const containers = [...held.entries()]
      .filter(([, n]) => n > 0)
      .map(([Name], i) => ({
        Id: `c${i}`,
        State: 'running',
        Mounts: [{ Type: 'volume', Name, Driver: 'fuxi' }],
      }))
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(containers))
  })
  return new Promise((resolve) => server.listen(socket, () => resolve(server)))
}

interface Written {
  file: string
  sha: string
  size: number
}

interface Figures {
  provider: string
  cycles: number
  skippedWhy?: string
  crashes: Map<string, number>
  cycleMs: number[]
  totalMs: number
  mountErrs: number
  unmountErrs: number
  abandoned: number
  /** Cycles that took more than 10 s. */
  slow: number
  notMountedAfterMount: number
  mountedAfterUnmount: number
  leaks: { mounts: string[]; loops: string[] }
  cinderLoops?: string[]
  attachments?: { onVolumes: number; api: number }
  files: number
  bytes: number
  verified: number
  missing: number
  corrupt: number
  lostBytes: number
  unverifiable: string[]
  /** Volumes taken out of the rotation after their Mount was refused twice, or once as stuck. */
  retired: string[]
  /** Mount namespaces of other processes that held our mounts at the end. */
  pinnedBy: string[]
  unverifiedFiles: number
  unverifiedBytes: number
  phases: string[]
  logFile?: string
  reconcile: Map<string, number>
  errorLines: string[]
  samples: string[]
  volumesLeft?: number
}

async function runProvider(provider: 'local' | 'cinder', cycles: number): Promise<Figures> {
  // Each provider has its own schedule from the seed (so CRASH_PROVIDERS=cinder replays it).
  state = (SEED ^ (provider === 'local' ? 0 : 0x5bd1e995)) | 0
  const t0 = now()
  mkdirSync('/var/lib/fuxi-test', { recursive: true })
  const dir = await mkdtemp(`/var/lib/fuxi-test/crash-${provider}-`)
  shareMounts(dir)
  const volumeFrom = uniqueName('crash')
  const held = new Map<string, number>()
  const docker = await fakeDocker(`${dir}/docker.sock`, held)
  const extra = [
    `docker_socket = ${dir}/docker.sock`,
    'log_level = info',
    ...(provider === 'cinder'
      ? [
          'volume_providers = cinder',
          'my_ip = 127.0.0.1',
          `volume_from = ${volumeFrom}`,
          ...demoAuthConf('cinder'),
        ]
      : []),
    '',
  ].join('\n')
  const d = await Daemon.create(dir, { extra })
  // The old-space cap bin/fuxi-server runs the daemon with (Daemon runs the bundle directly).
  d.env = { NODE_OPTIONS: '--max-old-space-size=64' }
  const api =
    provider === 'cinder' ? new CinderClient(cloudSession(devcloudAuth('openrc-demo'))) : undefined
  const f: Figures = {
    provider,
    cycles: 0,
    crashes: new Map(),
    cycleMs: [],
    totalMs: 0,
    mountErrs: 0,
    unmountErrs: 0,
    abandoned: 0,
    slow: 0,
    notMountedAfterMount: 0,
    mountedAfterUnmount: 0,
    leaks: { mounts: [], loops: [] },
    files: 0,
    bytes: 0,
    verified: 0,
    missing: 0,
    corrupt: 0,
    lostBytes: 0,
    unverifiable: [],
    retired: [],
    pinnedBy: [],
    unverifiedFiles: 0,
    unverifiedBytes: 0,
    phases: [],
    reconcile: new Map(),
    errorLines: [],
    samples: [],
  }
  const note = (s: string) => {
    if (f.samples.length < 12 && !f.samples.includes(s)) f.samples.push(s)
  }
  const ids = new Map<string, string>() // name -> Cinder volume id
  const written = new Map<string, Written[]>()
  const points: readonly Point[] =
    provider === 'local' ? POINTS.filter((p) => p !== 'mount:attaching') : POINTS
  const maxFresh = provider === 'local' ? 12 : 6

  /** A call that may meet a daemon killed under it: the answer, or 'crashed'. */
  const call = async (
    method: string,
    body: object,
  ): Promise<{ r?: Record<string, unknown> & { Err?: string }; crashed?: boolean }> => {
    let timer: NodeJS.Timeout | undefined
    try {
      const r = await Promise.race([
        d.call(method, body),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${method} hung`)), CALL_TIMEOUT_MS)
        }),
      ])
      return { r }
    } catch (e) {
      if (String(e).includes('hung')) throw e
      // A socket error: the daemon died (or is dying) under the call.
      await Promise.race([d.exited(), sleep(5000)])
      const p = d.proc
      if (p && p.exitCode === null && p.signalCode === null) throw e
      return { crashed: true }
    } finally {
      clearTimeout(timer)
    }
  }
  const restart = async () => {
    await d.exited()
    for (let k = 0; ; k++) {
      try {
        await d.start()
        return
      } catch (e) {
        if (k >= 2) throw e
        note(`restart failed, retrying: ${String(e).slice(0, 300)}`)
        await sleep(1000)
      }
    }
  }
  const create = async (name: string) => {
    const r = await d.call('VolumeDriver.Create', { Name: name, Opts: { size: '1' } })
    if (r.Err) throw new Error(`Create ${name}: ${r.Err}`)
    if (api) {
      const g = await d.call('VolumeDriver.Get', { Name: name })
      const id = (g.Volume as { Status?: { volume_id?: string } } | undefined)?.Status?.volume_id
      if (id) ids.set(name, id)
    }
    written.set(name, [])
  }

  let mark = now()
  const phase = (what: string) => {
    f.phases.push(`${what} ${((now() - mark) / 1000).toFixed(1)} s`)
    mark = now()
  }
  try {
    await d.start()
    const rotation: string[] = []
    for (let k = 0; k < VOLUMES; k++) {
      await create(`v${k}`)
      rotation.push(`v${k}`)
    }
    let fresh = 0
    const budget = provider === 'cinder' ? CINDER_BUDGET_MS : Number.POSITIVE_INFINITY
    for (let i = 0; i < cycles; i++) {
      if (now() - t0 > budget) {
        f.skippedWhy = `time budget of ${budget / 1000} s reached after ${i} cycles`
        break
      }
      const c0 = now()
      const r = rnd()
      let point: Point | undefined = r < P_CRASH_POINT ? pick(points) : undefined
      const kill =
        !point && r < P_CRASH_POINT + P_KILL
          ? { op: pick(['Mount', 'Unmount'] as const), delay: int(301), done: false }
          : undefined
      let name = pick(rotation)
      // A format happens on a volume's first mount only: give those cycles a new volume.
      if ((point === 'mount:formatting' || (kill && rnd() < 0.15)) && fresh < maxFresh) {
        fresh++
        name = `f${i}`
        await create(name)
        rotation.push(name)
      } else if (point === 'mount:formatting') point = 'mount:mounting'
      if (point) {
        await d.stop()
        await d.start({ FUXI_TEST_CRASH_AT: point })
      }
      let armed = point !== undefined
      /** Sends one call; a kill -9 at the scheduled delay if this is the op to kill. */
      const attempt = async (op: 'Mount' | 'Unmount', ID: string) => {
        const killHere = kill && kill.op === op && !kill.done ? kill : undefined
        let killed: Promise<void> | undefined
        let answered = false
        if (killHere) {
          killHere.done = true
          killed = sleep(killHere.delay).then(() => {
            d.proc?.kill('SIGKILL')
            bump(f.crashes, `kill -9 ${op}, ${answered ? 'after its answer' : 'during it'}`)
          })
        }
        const res = await call(`VolumeDriver.${op}`, { Name: name, ID })
        answered = true
        // dockerd starts the container as soon as Mount answers: from now on it holds the volume.
        if (op === 'Mount' && res.r && !res.r.Err) bump(held, name)
        if (res.crashed) {
          if (armed && point?.startsWith(op === 'Mount' ? 'mount:' : 'unmount:')) {
            bump(f.crashes, `crash point ${point}`)
            armed = false
          } else if (!killHere) bump(f.crashes, `unexplained exit during ${op}`)
          await killed
          await restart()
          return undefined
        }
        if (killHere) {
          await killed // the kill lands on an idle daemon: restart it all the same
          await restart()
          armed = false
        }
        return res.r
      }

      // Mount until one succeeds, with a new ID after each failure (a new container).
      let id = ''
      let mp = ''
      let errs = 0
      for (let k = 0; k < 6 && !mp && errs < 2; k++) {
        id = `c${i}-${k}`
        const a = await attempt('Mount', id)
        if (!a) continue
        if (a.Err) {
          f.mountErrs++
          // fuxi has already waited 30 s for the volume to settle: once is enough to call it stuck.
          errs += a.Err.includes('another operation is in progress') ? 2 : 1
          note(`Mount ${name} (${id}): ${a.Err}`)
          await sleep(300)
          continue
        }
        mp = String(a.Mountpoint)
      }
      if (armed && point?.startsWith('mount:')) {
        bump(f.crashes, `crash point ${point} armed, not reached`)
        await d.stop()
        await d.start()
        armed = false
      }
      if (!mp) {
        // Refused twice (or stuck in a transitional state): take the volume out of the rotation.
        f.abandoned++
        if (armed) {
          await d.stop()
          await d.start()
        }
        if (errs >= 2) {
          f.retired.push(name)
          rotation.splice(rotation.indexOf(name), 1)
          if (!rotation.length) {
            await create(`n${i}`)
            rotation.push(`n${i}`)
          }
        }
        continue
      }
      // Write acknowledged data: open, write, fsync (file and directory), close.
      if (!isMounted(mp)) {
        f.notMountedAfterMount++
        note(`Mount ${name} answered ${mp}, which is not a mountpoint`)
      } else {
        const size = 4096 + int(1048576 - 4096 + 1)
        const data = randomBytes(size)
        const file = `c${i}.bin`
        const fd = openSync(join(mp, file), 'w', 0o600)
        let off = 0
        while (off < size) off += writeSync(fd, data, off, size - off)
        fsyncSync(fd)
        closeSync(fd)
        const dfd = openSync(mp, 'r')
        fsyncSync(dfd)
        closeSync(dfd)
        written
          .get(name)
          ?.push({ file, sha: createHash('sha256').update(data).digest('hex'), size })
        f.files++
        f.bytes += size
      }
      // Unmount: the container has exited; dockerd resends an Unmount that failed.
      bump(held, name, -1)
      let done = false
      for (let k = 0; k < 6 && !done; k++) {
        const a = await attempt('Unmount', id)
        if (!a) continue
        if (a.Err) {
          f.unmountErrs++
          if (a.Err.includes('holds it open'))
            for (const h of foreignHolders(dir)) note(`mount namespace holding our mounts: ${h}`)
          note(`Unmount ${name} (${id}): ${a.Err}`)
          await sleep(300)
          continue
        }
        done = true
      }
      if (armed) {
        bump(f.crashes, `crash point ${point} armed, not reached`)
        await d.stop()
        await d.start()
      }
      if (done && (held.get(name) ?? 0) === 0 && isMounted(mp)) {
        f.mountedAfterUnmount++
        note(`Unmount ${name} (${id}) answered, ${mp} still mounted`)
      }
      f.cycles++
      f.cycleMs.push(now() - c0)
      if (now() - c0 > 10_000) {
        f.slow++
        note(
          `cycle ${i} (${name}, ${point ? `crash point ${point}` : kill ? `kill -9 ${kill.op} after ${kill.delay} ms` : 'no crash'}) took ${((now() - c0) / 1000).toFixed(1)} s`,
        )
      }
    }

    phase(`setup and ${f.cycles} cycles`)
    // Leaks after the last restart (every cycle ended with its Unmount).
    f.leaks = leaksUnder(dir)
    if (api) {
      const vols = await api.listVolumes({ metadata: { volume_from: volumeFrom } })
      f.cinderLoops = loopsOf([...new Set([...ids.values(), ...vols.map((v) => v.id)])])
      let listed = 0
      for (const v of vols) listed += (await api.listAttachments(v.id)).length
      f.attachments = {
        onVolumes: vols.reduce((n, v) => n + v.attachments.length, 0),
        api: listed,
      }
    }
    phase('leak checks')
    // Every acknowledged file must be there, unchanged.
    for (const [name, files] of written) {
      if (f.retired.includes(name)) {
        // Its Mount was refused already: not waited for again (fuxi waits 30 s each time).
        f.unverifiable.push(`${name}: taken out of the rotation (stuck), not mounted again`)
        for (const w of files) {
          f.unverifiedFiles++
          f.unverifiedBytes += w.size
        }
        const rm = await d.call('VolumeDriver.Remove', { Name: name })
        if (rm.Err) note(`Remove ${name}: ${rm.Err}`)
        continue
      }
      bump(held, name)
      const m = await d.call('VolumeDriver.Mount', { Name: name, ID: 'verify' })
      if (m.Err) {
        f.unverifiable.push(`${name}: ${m.Err}`)
        for (const w of files) {
          f.unverifiedFiles++
          f.unverifiedBytes += w.size
        }
        bump(held, name, -1)
        continue
      }
      const mp = String(m.Mountpoint)
      for (const w of files) {
        let data: Buffer | undefined
        try {
          data = readFileSync(join(mp, w.file))
        } catch {
          data = undefined
        }
        if (!data) {
          f.missing++
          f.lostBytes += w.size
          note(`${name}/${w.file} (${w.size} bytes) missing`)
        } else if (createHash('sha256').update(data).digest('hex') !== w.sha) {
          f.corrupt++
          f.lostBytes += w.size
          note(`${name}/${w.file} (${w.size} bytes) has another sha256 (${data.length} bytes read)`)
        } else f.verified++
      }
      bump(held, name, -1)
      const u = await d.call('VolumeDriver.Unmount', { Name: name, ID: 'verify' })
      if (u.Err) note(`verify Unmount ${name}: ${u.Err}`)
      const rm = await d.call('VolumeDriver.Remove', { Name: name })
      if (rm.Err) note(`Remove ${name}: ${rm.Err}`)
    }
    if (api)
      f.volumesLeft = (await api.listVolumes({ metadata: { volume_from: volumeFrom } })).length
    phase('verify and remove')
  } finally {
    await d.stop().catch(() => undefined)
    for (const l of d.log.split('\n')) {
      if (!l.startsWith('{')) continue
      let o: {
        level?: number
        op?: string
        msg?: string
        volume?: string
        err?: { message?: string }
      }
      try {
        o = JSON.parse(l)
      } catch {
        continue
      }
      if (o.op === 'reconcile' && o.volume && o.msg) bump(f.reconcile, o.msg)
      if ((o.level ?? 0) >= 50)
        f.errorLines.push(`${o.msg} ${o.volume ?? ''} ${o.err?.message ?? ''}`.slice(0, 300))
    }
    await new Promise((r) => docker.close(r))
    f.pinnedBy.push(...foreignHolders(dir))
    cleanupUnder(dir)
    execFileSync('umount', ['-l', dir])
    if (api) {
      // Whatever fuxi did not remove: attachments first, then the volumes.
      try {
        for (const v of await api.listVolumes({ metadata: { volume_from: volumeFrom } })) {
          for (const a of await api.listAttachments(v.id)) await api.deleteAttachment(a.id)
          await api.waitForVolume(v.id, ['available', 'error'], { timeoutMs: 60_000 })
          await api.deleteVolume(v.id)
        }
      } catch (e) {
        console.log(`  (cleanup of the Cinder volumes of ${volumeFrom} failed: ${String(e)})`)
      }
    }
    rmSync(dir, { recursive: true, force: true })
    phase('stop and cleanup')
    f.totalMs = now() - t0
    const anomaly =
      f.lostBytes ||
      f.unverifiable.length ||
      f.leaks.mounts.length ||
      f.leaks.loops.length ||
      f.cinderLoops?.length ||
      f.attachments?.api ||
      f.attachments?.onVolumes ||
      f.notMountedAfterMount ||
      f.mountedAfterUnmount ||
      f.abandoned ||
      f.slow ||
      f.errorLines.length ||
      [...f.crashes.keys()].some((k) => k.startsWith('unexplained'))
    if (anomaly || process.env.CRASH_KEEP_LOG === '1') {
      f.logFile = `/var/lib/fuxi-test/crash-${provider}-${SEED}.log`
      writeFileSync(f.logFile, d.log)
    }
  }
  return f
}

function report(f: Figures, requested: number): void {
  console.log(`\n${f.provider} provider:`)
  line(
    'cycles (mount, write+fsync, unmount)',
    `${f.cycles} of ${requested}${f.skippedWhy ? ` (${f.skippedWhy})` : ''}`,
  )
  const crashes = [...f.crashes.entries()].filter(([k]) => !k.endsWith('not reached'))
  line(
    'crashes injected',
    crashes.reduce((n, [, v]) => n + v, 0),
  )
  for (const [k, v] of [...f.crashes.entries()].sort()) line(`  ${k}`, v)
  line('Mount / Unmount answered with Err (retried)', `${f.mountErrs} / ${f.unmountErrs}`)
  line('cycles abandoned (Mount refused)', f.abandoned)
  line('cycles that took more than 10 s', f.slow)
  if (f.retired.length) line('volumes taken out of the rotation (stuck)', f.retired.join(', '))
  line('Mount answered, mountpoint not mounted', f.notMountedAfterMount)
  line('Unmount answered, still mounted', f.mountedAfterUnmount)
  line(
    'leaked mounts / loop devices (last restart)',
    `${f.leaks.mounts.length} / ${f.leaks.loops.length}${f.leaks.mounts.length || f.leaks.loops.length ? ` ${[...f.leaks.mounts, ...f.leaks.loops].join(' ')}` : ''}`,
  )
  line('our mounts held by other mount namespaces', f.pinnedBy.length ? f.pinnedBy.join('; ') : 0)
  if (f.cinderLoops) line('loop devices of the Cinder volumes', f.cinderLoops.length)
  if (f.attachments)
    line(
      'Cinder attachments left',
      `${f.attachments.onVolumes} on the volumes, ${f.attachments.api} in the attachments API`,
    )
  line(
    'files written and fsynced (acknowledged)',
    `${f.files} (${(f.bytes / 1048576).toFixed(1)} MiB)`,
  )
  line('files verified / missing / corrupt', `${f.verified} / ${f.missing} / ${f.corrupt}`)
  line('BYTES OF ACKNOWLEDGED DATA LOST', f.lostBytes)
  if (f.unverifiable.length) {
    line(
      'files on volumes that could not be mounted',
      `${f.unverifiedFiles} (${f.unverifiedBytes} bytes, not counted as lost)`,
    )
    for (const u of f.unverifiable) console.log(`    ${u}`)
  }
  if (f.volumesLeft !== undefined) line('Cinder volumes left after Remove', f.volumesLeft)
  row('cycle time', f.cycleMs)
  line('total time', `${(f.totalMs / 1000).toFixed(1)} s (median cycle ${fmt(median(f.cycleMs))})`)
  line('  of which', f.phases.join(', '))
  if (f.reconcile.size) {
    console.log('  what the reconciler did at the restarts:')
    for (const [k, v] of [...f.reconcile.entries()].sort((a, b) => b[1] - a[1]))
      console.log(`    ${String(v).padStart(4)}  ${k}`)
  }
  line('error lines in the daemon log', f.errorLines.length)
  for (const e of [...new Set(f.errorLines)].slice(0, 8)) console.log(`    ${e}`)
  if (f.logFile) line('daemon log kept at', f.logFile)
  if (f.samples.length) {
    console.log('  notes:')
    for (const s of f.samples) console.log(`    ${s}`)
  }
}

console.log(
  `fuxi crash bench: seed ${SEED} (CRASH_SEED=${SEED} replays the schedule), ${CYCLES} cycles per provider, node ${process.version}`,
)
console.log(
  `  per cycle: ${(P_CRASH_POINT * 100).toFixed(0)}% under FUXI_TEST_CRASH_AT, ${(P_KILL * 100).toFixed(0)}% with kill -9 0–300 ms after a Mount or Unmount; ${VOLUMES} volumes in rotation, plus new ones for first-mount (format) crashes`,
)
const started = now()
const providers = (process.env.CRASH_PROVIDERS ?? 'local,cinder').split(',')
if (providers.includes('local')) {
  const local = await runProvider('local', CYCLES)
  report(local, CYCLES)
  console.log('  (the local provider has no attaching step: mount:attaching is not drawn for it)')
}
const status = spawnSync('sh', ['scripts/devcloud/status.sh'], {
  cwd: new URL('..', import.meta.url).pathname,
  encoding: 'utf8',
})
if (!providers.includes('cinder')) console.log('\ncinder provider: not in CRASH_PROVIDERS')
else if (status.status === 0) {
  const cinder = await runProvider('cinder', CYCLES)
  report(cinder, CYCLES)
} else
  console.log(
    `\ncinder provider: skipped, the dev cloud is not running (scripts/devcloud/status.sh: ${(status.stdout + status.stderr).trim()}); start it with sh scripts/devcloud/up.sh`,
  )
console.log(`\ntotal ${((now() - started) / 1000).toFixed(1)} s`)
