// fuxi fault matrix: prints a table, asserts nothing (exits 0 unless the harness itself breaks).
// Needs root and the dev cloud (sh scripts/devcloud/up.sh). Run:
//   node scripts/build.mjs && node --import tsx bench/faults.ts
// FAULTS_ONLY=auth,token,cinder,manila,mkfs,full runs some groups of rows; FAULTS_LOG_DIR=<dir>
// keeps each daemon's (debug) log there.
// Each row drives a real fuxi daemon (the bundle) over the plugin socket, injects one fault
// (wrong password, short-lived tokens, Cinder/Manila 5xx and timeouts through a fault proxy, a
// volume another host left "attaching", a failing mkfs, a full state_dir), and records the call
// that failed, the Err it answered, how long it took, what was left behind (compared with a look
// taken just before the fault: Cinder volumes and attachments, Manila access rules, mounts and
// loop devices, journal records in a non-idle phase, attachment records, stray files), and
// whether the next normal call works. Each daemon has its own volume_from, so nothing else is
// touched; every volume and share is deleted through the API at the end.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { hostConnectorProperties } from '../src/connectors/connector.ts'
import { CinderClient } from '../src/openstack/cinder.ts'
import { ManilaClient } from '../src/openstack/manila.ts'
import { GET_RETRY_DELAYS_MS } from '../src/openstack/transport.ts'
import { attachmentKey, holderValue } from '../src/providers/cinder/attach-state.ts'
import { Daemon } from '../test/support/daemon.ts'
import {
  cloudSession,
  demoAuthConf,
  devcloudAuth,
  SHORT_TOKEN_KEYSTONE,
  SHORT_TOKEN_TTL_MS,
  uniqueName,
} from '../test/support/devcloud.ts'
import { faultProxy } from '../test/support/fault-proxy.ts'
import { cleanupUnder, leaksUnder, loopsOf } from '../test/support/host-cleanup.ts'
import { STANDIN_PATH } from '../test/support/standins.ts'
import { now } from './stats.ts'

process.env.FUXI_USE_DIST = '1'
/** [cinder]/[manila] timeout of the proxied daemons (s), and how long an injected delay holds. */
const TIMEOUT_S = 3
const DELAY_MS = 5000
/** The full-disk row's tmpfs: room for the journal and three mkfs'd 1 GiB images (~33 MB each). */
const TMPFS_SIZE = '128m'
const WAIT = { timeoutMs: 60_000 }
/** FAULTS_LOG_DIR=<dir>: keep each daemon's log there (<dir>/<daemon>.log). */
const LOG_DIR = process.env.FAULTS_LOG_DIR

const T0 = now()
mkdirSync('/var/lib/fuxi-test', { recursive: true })
const base = await mkdtemp('/var/lib/fuxi-test/bench-faults-')
const auth = devcloudAuth('openrc-demo')
const cinder = new CinderClient(cloudSession(auth))
const manila = new ManilaClient(cloudSession(auth))
const WRONG_PASSWORD = `wrong-${randomBytes(6).toString('hex')}`
const SECRETS = [auth.password, WRONG_PASSWORD]
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const oneLine = (s: string, max = 140) => {
  const t = s.replace(/\s+/g, ' ').trim()
  return t.length > max ? `${t.slice(0, max - 1)}…` : t
}

// ---- daemons

interface Env {
  name: string
  kind: 'local' | 'cinder' | 'manila'
  dir: string
  volumeFrom: string
  d: Daemon
}
const envs: Env[] = []
const proxies: { close: () => Promise<void> }[] = []
const tmpfsMounts: string[] = []

async function daemon(
  name: string,
  kind: Env['kind'],
  lines: string[] = [],
  env: Record<string, string> = {},
): Promise<Env> {
  const dir = `${base}/${name}`
  mkdirSync(`${dir}/state`, { recursive: true })
  const volumeFrom = uniqueName(`faults-${name}`)
  const d = await Daemon.create(dir, {
    extra: [
      `docker_socket = ${dir}/none.sock`,
      // No periodic reconcile: what a failed call leaves is what the calls themselves leave.
      'reconcile_interval = 0',
      `volume_from = ${volumeFrom}`,
      ...(kind === 'local' ? [] : [`volume_providers = ${kind}`, 'my_ip = 127.0.0.1']),
      ...lines,
      '',
    ].join('\n'),
  })
  d.env = env
  const e = { name, kind, dir, volumeFrom, d }
  envs.push(e)
  return e
}

/** A proxy in front of a service, and the project endpoint through it (for endpoint_override). */
async function proxied(target: string, service: 'volumev3' | 'sharev2') {
  const proxy = await faultProxy(undefined, target)
  proxies.push(proxy)
  const real = await cloudSession(auth).endpoint(service)
  return { proxy, endpoint: real.replace(target, proxy.url) }
}

// ---- what is there (compared before and after a fault)

const files = (dir: string) => (existsSync(dir) ? readdirSync(dir) : [])

async function look(e: Env): Promise<Set<string>> {
  const items = new Set<string>()
  if (e.kind === 'cinder') {
    const vols = await cinder.listVolumes({ metadata: { volume_from: e.volumeFrom } })
    for (const v of vols) {
      if (!['available', 'in-use'].includes(v.status))
        items.add(`Cinder volume ${v.name} "${v.status}"`)
      for (const a of await cinder.listAttachments(v.id))
        items.add(`Cinder attachment ${a.id.slice(0, 8)} (${a.status}) of ${v.name}`)
    }
    for (const l of loopsOf(vols.map((v) => v.id))) items.add(`loop ${l} of a Cinder volume`)
    for (const v of vols) items.add(`Cinder volume ${v.name} exists`)
  }
  if (e.kind === 'manila') {
    for (const s of await manila.listShares({ metadata: { volume_from: e.volumeFrom } })) {
      items.add(`Manila share ${s.name} exists`)
      if (s.status !== 'available') items.add(`Manila share ${s.name} "${s.status}"`)
      for (const r of await manila.listAccessRules(s.id))
        items.add(`access rule ${r.access_type}:${r.access_to} (${r.state}) on ${s.name}`)
    }
  }
  const leaks = leaksUnder(e.dir)
  for (const m of leaks.mounts) items.add(`mount ${m.slice(e.dir.length + 1)}`)
  for (const l of leaks.loops) items.add(`loop ${l} of a local image`)
  const state = `${e.dir}/state`
  for (const f of files(`${state}/volumes`)) {
    if (!f.endsWith('.json')) {
      items.add(`stray file volumes/${f}`)
      continue
    }
    try {
      const { record: r } = JSON.parse(readFileSync(`${state}/volumes/${f}`, 'utf8')) as {
        record: {
          name: string
          device: string | null
          refs: Record<string, unknown>
          phase: { kind: string; step?: string }
        }
      }
      items.add(`journal ${r.name}`)
      if (r.phase.kind !== 'idle')
        items.add(
          `journal ${r.name} in phase ${r.phase.kind}${r.phase.step ? `/${r.phase.step}` : ''}`,
        )
      if (r.device !== null && Object.keys(r.refs).length === 0)
        items.add(`journal ${r.name}: device ${r.device} with no reference`)
    } catch {
      items.add(`unreadable journal file volumes/${f}`)
    }
  }
  for (const f of files(`${state}/cinder`))
    items.add(f.endsWith('.json') ? `attachment record cinder/${f}` : `stray file cinder/${f}`)
  for (const f of files(`${state}/local`).filter((x) => !/\.(img|json)$/.test(x)))
    items.add(`stray file local/${f}`)
  try {
    const r = await e.d.call('VolumeDriver.List', {})
    for (const v of (r.Volumes as { Name: string }[] | undefined) ?? [])
      items.add(`fuxi lists ${v.Name}`)
  } catch {
    items.add('the daemon does not answer')
  }
  return items
}

/** What `after` has that `before` did not (plain existence of a volume counts only if new). */
function leftBehind(before: Set<string>, after: Set<string>): string[] {
  return [...after].filter((x) => !before.has(x))
}

// ---- rows

interface Row {
  no: string
  fault: string
  op: string
  ms: number
  err: string
  left: string[]
  next: string
}
const rows: Row[] = []
const notes: string[] = []

const alive = (e: Env) => e.d.proc?.exitCode === null && e.d.proc?.signalCode === null

async function call(e: Env, method: string, body: object): Promise<{ err: string; ms: number }> {
  const t = now()
  try {
    const r = await e.d.call(method, body)
    return { err: r.Err ?? '', ms: now() - t }
  } catch (x) {
    return { err: `(no answer: ${(x as Error).message})`, ms: now() - t }
  }
}

/** Runs the next normal calls; "yes (...)" or "NO: <op>: <Err>". */
async function next(e: Env, steps: [string, object][], label?: string): Promise<string> {
  const done: string[] = []
  for (const [method, body] of steps) {
    const r = await call(e, method, body)
    const op = method.replace('VolumeDriver.', '')
    if (r.err) return `NO: ${op} after ${secs(r.ms)}: ${oneLine(r.err, 140)}`
    done.push(`${op} ${secs(r.ms)}`)
  }
  return `yes${label ? `, ${label}` : ''} (${done.join(', ')})`
}

/**
 * One row: `before` is looked at, `inject` arms the fault, `op` runs; what was left is looked at
 * `settleMs` after the call started (a held answer still reaches the service meanwhile).
 */
async function row(
  no: string,
  fault: string,
  e: Env,
  o: {
    op: string
    run: () => Promise<{ err: string; ms: number }>
    inject?: () => unknown
    settleMs?: number
  },
): Promise<Row> {
  const before = await look(e)
  await o.inject?.()
  const t = now()
  const r = await o.run()
  const rest = (o.settleMs ?? 0) - (now() - t)
  if (rest > 0) await sleep(rest)
  const after = await look(e)
  const out: Row = {
    no,
    fault,
    op: o.op,
    ms: r.ms,
    err: r.err ? oneLine(r.err) : '(none)',
    left: leftBehind(before, after),
    next: '',
  }
  if (!alive(e)) out.left.push('THE DAEMON EXITED')
  for (const s of SECRETS)
    if (s && r.err.includes(s)) notes.push(`row ${no}: the Err contains a password`)
  rows.push(out)
  console.log(
    `${no}. ${fault}\n   ${o.op}: ${secs(r.ms)}, Err: ${r.err ? oneLine(r.err, 600) : '(none)'}`,
  )
  console.log(`   left behind: ${out.left.length ? out.left.join('; ') : 'nothing'}`)
  return out
}
const done = (r: Row, next: string) => {
  r.next = next
  console.log(`   next call (${r.no}): ${next}`)
}

const keystoneLines = (e: Env) =>
  e.d.log
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as { msg?: string; service?: string }
      } catch {
        return {}
      }
    })
    .filter((l) => l.msg === 'keystone token issued' || l.msg?.startsWith('token refused'))

const cinderConf = (more: string[] = []) => [...demoAuthConf('cinder'), ...more]

// ---- the faults

async function keystoneRefuses() {
  const e = await daemon(
    'auth',
    'cinder',
    cinderConf().map((l) => (l.startsWith('password = ') ? `password = ${WRONG_PASSWORD}` : l)),
  )
  await e.d.start()
  const r = await row('1', 'Keystone refuses the credentials (401, wrong password)', e, {
    op: 'Create',
    run: () => call(e, 'VolumeDriver.Create', { Name: 'a1', Opts: { size: '1' } }),
  })
  // The fix is the operator's: the right password, and a restart.
  await e.d.stop()
  writeFileSync(
    e.d.configFile,
    readFileSync(e.d.configFile, 'utf8').replace(WRONG_PASSWORD, auth.password),
  )
  await e.d.start()
  done(
    r,
    await next(
      e,
      [
        ['VolumeDriver.Create', { Name: 'a1', Opts: { size: '1' } }],
        ['VolumeDriver.Remove', { Name: 'a1' }],
      ],
      'after fixing password + restart',
    ),
  )
}

async function tokenExpiry() {
  const e = await daemon(
    'token',
    'cinder',
    cinderConf().map((l) =>
      l.startsWith('auth_url = ') ? `auth_url = ${SHORT_TOKEN_KEYSTONE}` : l,
    ),
  )
  await e.d.start()
  const waitMs = SHORT_TOKEN_TTL_MS + 1500
  const r = await row('2', `token expiry mid-run (${SHORT_TOKEN_TTL_MS / 1000} s tokens)`, e, {
    op: `Create+Mount, wait ${secs(waitMs)}, Unmount+Remove`,
    run: async () => {
      let ms = 0
      const steps: [string, object][] = [
        ['VolumeDriver.Create', { Name: 't2', Opts: { size: '1' } }],
        ['VolumeDriver.Mount', { Name: 't2', ID: 'm1' }],
        ['wait', {}],
        ['VolumeDriver.Unmount', { Name: 't2', ID: 'm1' }],
        ['VolumeDriver.Remove', { Name: 't2' }],
      ]
      for (const [method, body] of steps) {
        if (method === 'wait') {
          await sleep(waitMs)
          continue
        }
        const c = await call(e, method, body)
        ms += c.ms
        if (c.err) return { err: `${method.replace('VolumeDriver.', '')}: ${c.err}`, ms }
      }
      return { err: '', ms }
    },
  })
  const lines = keystoneLines(e)
  const issued = lines.filter((l) => l.msg === 'keystone token issued').length
  const keystone = `${issued} Keystone token requests, ${lines.length - issued} refused (401) calls`
  r.err =
    r.err === '(none)'
      ? `(none); ${issued > 1 ? 'renewed' : 'NOT renewed'}: ${keystone}`
      : `${r.err}; ${keystone}`
  console.log(`   Keystone (debug log): ${keystone}; the time is the four calls, not the wait`)
  done(
    r,
    await next(e, [
      ['VolumeDriver.Create', { Name: 't2b', Opts: { size: '1' } }],
      ['VolumeDriver.Remove', { Name: 't2b' }],
    ]),
  )
}

async function cinderFaults() {
  const { proxy, endpoint } = await proxied('http://127.0.0.1:8776', 'volumev3')
  const e = await daemon(
    'cinder',
    'cinder',
    cinderConf([`endpoint_override = ${endpoint}`, `timeout = ${TIMEOUT_S}`]),
  )
  await e.d.start()
  const mount = (ID: string) => () => call(e, 'VolumeDriver.Mount', { Name: 'c3', ID })
  const cycle = (ID: string): [string, object][] => [
    ['VolumeDriver.Mount', { Name: 'c3', ID }],
    ['VolumeDriver.Unmount', { Name: 'c3', ID }],
  ]

  const r4 = await row('4', 'Cinder 503 on volume create (POST /volumes)', e, {
    op: 'Create',
    inject: () => proxy.inject('POST', { kind: 'status', status: 503 }, { path: /\/volumes$/ }),
    run: () => call(e, 'VolumeDriver.Create', { Name: 'c4', Opts: { size: '1' } }),
  })
  done(
    r4,
    await next(e, [
      ['VolumeDriver.Create', { Name: 'c4', Opts: { size: '1' } }],
      ['VolumeDriver.Remove', { Name: 'c4' }],
    ]),
  )

  const setup = await call(e, 'VolumeDriver.Create', { Name: 'c3', Opts: { size: '1' } })
  if (setup.err) throw new Error(`create c3: ${setup.err}`)
  const r3 = await row('3', 'Cinder 503 on attachment create (POST /attachments)', e, {
    op: 'Mount',
    inject: () => proxy.inject('POST', { kind: 'status', status: 503 }, { path: /\/attachments$/ }),
    run: mount('m3'),
  })
  done(r3, await next(e, cycle('m3b')))

  const r5a = await row(
    '5a',
    `Cinder slower than timeout=${TIMEOUT_S} on attachment complete (POST /attachments/ID/action)`,
    e,
    {
      op: 'Mount',
      inject: () =>
        proxy.inject(
          'POST',
          { kind: 'delay', ms: DELAY_MS },
          { path: /\/attachments\/[^/]+\/action$/ },
        ),
      run: mount('m5a'),
      settleMs: DELAY_MS + 1000,
    },
  )
  done(r5a, await next(e, cycle('m5ab')))

  const r5b = await row(
    '5b',
    `Cinder slower than timeout=${TIMEOUT_S} on attachment create (POST /attachments)`,
    e,
    {
      op: 'Mount',
      inject: () =>
        proxy.inject('POST', { kind: 'delay', ms: DELAY_MS }, { path: /\/attachments$/ }),
      run: mount('m5b'),
      settleMs: DELAY_MS + 1000,
    },
  )
  const n5b = await next(e, cycle('m5bb'))
  // Whatever the failed mount left in Cinder goes now (fuxi's own attachment is gone after the
  // Unmount above when the next call worked).
  const [v3] = await cinder.listVolumes({ name: 'c3', metadata: { volume_from: e.volumeFrom } })
  let cleaned = 0
  if (v3)
    for (const a of await cinder.listAttachments(v3.id)) {
      await cinder.deleteAttachment(a.id)
      cleaned++
    }
  if (v3 && cleaned) await cinder.waitForVolume(v3.id, ['available'], WAIT)
  done(r5b, cleaned ? `${n5b}; bench deleted ${cleaned} attachment(s) by hand` : n5b)

  // 8. Another host's attachment that never completes, as a fuxi there would leave it (its
  // holder key written, the attachment made with its connector, never completed).
  const setup8 = await call(e, 'VolumeDriver.Create', { Name: 'c8', Opts: { size: '1' } })
  if (setup8.err) throw new Error(`create c8: ${setup8.err}`)
  const [v8] = await cinder.listVolumes({ name: 'c8', metadata: { volume_from: e.volumeFrom } })
  if (!v8) throw new Error('no Cinder volume c8')
  const stuck = await cinder.createAttachment(v8.id, {
    connector: hostConnectorProperties('stuck-host', '127.0.0.1'),
  })
  await cinder.metadata.set(v8.id, {
    [attachmentKey(stuck.id)]: holderValue('stuck-host', 'rw', Date.now()),
  })
  const status8 = (await cinder.getVolume(v8.id))?.status
  const r8 = await row(
    '8',
    `Cinder volume stuck "${status8}" (stuck-host's attachment never completed)`,
    e,
    { op: 'Mount', run: () => call(e, 'VolumeDriver.Mount', { Name: 'c8', ID: 'm8' }) },
  )
  await cinder.deleteAttachment(stuck.id)
  await cinder.metadata.deleteKey(v8.id, attachmentKey(stuck.id))
  await cinder.waitForVolume(v8.id, ['available'], WAIT)
  done(
    r8,
    await next(
      e,
      [
        ['VolumeDriver.Mount', { Name: 'c8', ID: 'm8b' }],
        ['VolumeDriver.Unmount', { Name: 'c8', ID: 'm8b' }],
        ['VolumeDriver.Remove', { Name: 'c8' }],
        ['VolumeDriver.Remove', { Name: 'c3' }],
      ],
      'after deleting the stuck attachment',
    ),
  )
}

async function manilaFaults() {
  const { proxy, endpoint } = await proxied('http://127.0.0.1:8786', 'sharev2')
  const e = await daemon(
    'manila',
    'manila',
    [...demoAuthConf('manila'), `endpoint_override = ${endpoint}`, `timeout = ${TIMEOUT_S}`],
    { PATH: STANDIN_PATH },
  )
  await e.d.start()
  const setup = await call(e, 'VolumeDriver.Create', { Name: 's6', Opts: { size: '1' } })
  if (setup.err) throw new Error(`create s6: ${setup.err}`)
  const mount = (ID: string) => () => call(e, 'VolumeDriver.Mount', { Name: 's6', ID })
  const cycle = (ID: string): [string, object][] => [
    ['VolumeDriver.Mount', { Name: 's6', ID }],
    ['VolumeDriver.Unmount', { Name: 's6', ID }],
  ]
  const action = /\/shares\/[^/]+\/action$/

  const r6 = await row('6', 'Manila 503 on allow_access (POST /shares/ID/action)', e, {
    op: 'Mount (NFS)',
    inject: () => proxy.inject('POST', { kind: 'status', status: 503 }, { path: action }),
    run: mount('m6'),
  })
  done(r6, await next(e, cycle('m6b')))

  const tries = GET_RETRY_DELAYS_MS.length + 1
  const r7a = await row(
    '7a',
    `Manila slower than timeout=${TIMEOUT_S} on every try of the rules listing (GET, ${tries} tries)`,
    e,
    {
      op: 'Mount (NFS)',
      inject: () =>
        proxy.inject(
          'GET',
          { kind: 'delay', ms: DELAY_MS },
          { path: /\/share-access-rules/, times: tries },
        ),
      run: mount('m7a'),
      settleMs: 0,
    },
  )
  await sleep(DELAY_MS)
  done(r7a, await next(e, cycle('m7ab')))

  const r7b = await row(
    '7b',
    `Manila slower than timeout=${TIMEOUT_S} on allow_access (POST /shares/ID/action)`,
    e,
    {
      op: 'Mount (NFS)',
      inject: () => proxy.inject('POST', { kind: 'delay', ms: DELAY_MS }, { path: action }),
      run: mount('m7b'),
      settleMs: DELAY_MS + 1500,
    },
  )
  const n7b = await next(e, cycle('m7bb'))
  const [s6] = await manila.listShares({ name: 's6', metadata: { volume_from: e.volumeFrom } })
  const rules = s6 ? await manila.listAccessRules(s6.id) : []
  const removed = await next(e, [['VolumeDriver.Remove', { Name: 's6' }]])
  done(
    r7b,
    `${n7b}${rules.length ? `; ${rules.length} access rule(s) still there after it` : ''}${removed.startsWith('yes') ? '' : `; Remove: ${removed}`}`,
  )
}

async function mkfsFails() {
  const dir = `${base}/mkfs`
  mkdirSync(`${dir}/bin`, { recursive: true })
  const standin = `${dir}/bin/mkfs.ext4`
  writeFileSync(
    standin,
    '#!/bin/sh\necho "mkfs.ext4: injected failure (bench/faults.ts stand-in)" >&2\nexit 1\n',
    { mode: 0o755 },
  )
  const e = await daemon('mkfs', 'local', [], { PATH: `${dir}/bin:${process.env.PATH}` })
  await e.d.start()
  const setup = await call(e, 'VolumeDriver.Create', { Name: 'l9', Opts: { size: '1' } })
  if (setup.err) throw new Error(`create l9: ${setup.err}`)
  const r = await row('9', 'mkfs.ext4 exits 1 (stand-in first on PATH), local provider', e, {
    op: 'first Mount',
    run: () => call(e, 'VolumeDriver.Mount', { Name: 'l9', ID: 'm9' }),
  })
  rmSync(standin)
  done(
    r,
    await next(
      e,
      [
        ['VolumeDriver.Mount', { Name: 'l9', ID: 'm9b' }],
        ['VolumeDriver.Unmount', { Name: 'l9', ID: 'm9b' }],
        ['VolumeDriver.Remove', { Name: 'l9' }],
      ],
      'stand-in removed',
    ),
  )
}

async function diskFull() {
  const e = await daemon('full', 'local')
  const state = `${e.dir}/state`
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'tmpfs', state])
  tmpfsMounts.push(state)
  await e.d.start()
  for (const Name of ['f10b', 'f10c']) {
    const r = await call(e, 'VolumeDriver.Create', { Name, Opts: { size: '1' } })
    if (r.err) throw new Error(`create ${Name}: ${r.err}`)
  }
  // Fill it: 1 MiB writes, then 4 KiB ones, until ENOSPC.
  const filler = `${state}/filler`
  const fd = openSync(filler, 'w')
  for (const chunk of [Buffer.alloc(1 << 20, 1), Buffer.alloc(4096, 1)])
    for (;;) {
      try {
        if (writeSync(fd, chunk) < chunk.length) break
      } catch {
        break
      }
    }
  const full = `tmpfs ${TMPFS_SIZE} state_dir, 0 bytes free`
  const r10a = await row('10a', `full disk: ${full}`, e, {
    op: 'Create',
    run: () => call(e, 'VolumeDriver.Create', { Name: 'f10a', Opts: { size: '1' } }),
  })
  const r10b = await row('10b', `full disk: ${full}`, e, {
    op: 'first Mount',
    run: () => call(e, 'VolumeDriver.Mount', { Name: 'f10b', ID: 'm10b' }),
  })
  // Some room for fuxi's small files, none for mkfs's writes into the sparse image.
  ftruncateSync(fd, Math.max(0, fstatSync(fd).size - (512 << 10)))
  const r10c = await row('10c', `nearly full: ${TMPFS_SIZE} state_dir, 512 KiB free`, e, {
    op: 'first Mount',
    run: () => call(e, 'VolumeDriver.Mount', { Name: 'f10c', ID: 'm10c' }),
  })
  closeSync(fd)
  rmSync(filler)
  done(
    r10a,
    await next(
      e,
      [
        ['VolumeDriver.Create', { Name: 'f10a', Opts: { size: '1' } }],
        ['VolumeDriver.Mount', { Name: 'f10a', ID: 'm10a' }],
        ['VolumeDriver.Unmount', { Name: 'f10a', ID: 'm10a' }],
        ['VolumeDriver.Remove', { Name: 'f10a' }],
      ],
      'space freed',
    ),
  )
  for (const [r, Name] of [
    [r10b, 'f10b'],
    [r10c, 'f10c'],
  ] as const)
    done(
      r,
      await next(
        e,
        [
          ['VolumeDriver.Mount', { Name, ID: 'again' }],
          ['VolumeDriver.Unmount', { Name, ID: 'again' }],
          ['VolumeDriver.Remove', { Name }],
        ],
        'space freed',
      ),
    )
}

// ---- run, print, clean up

async function cleanup() {
  for (const e of envs) {
    if (e.kind === 'cinder')
      for (const v of await cinder.listVolumes({ metadata: { volume_from: e.volumeFrom } })) {
        for (const a of await cinder.listAttachments(v.id)) await cinder.deleteAttachment(a.id)
        await cinder.waitForVolume(v.id, ['available', 'error'], WAIT).catch(() => undefined)
        await cinder.deleteVolume(v.id)
        notes.push(`cleanup: deleted Cinder volume ${v.name} (${e.name}) by hand`)
      }
    if (e.kind === 'manila')
      for (const s of await manila.listShares({ metadata: { volume_from: e.volumeFrom } })) {
        for (const r of await manila.listAccessRules(s.id)) await manila.denyAccess(s.id, r.id)
        await manila.deleteShare(s.id)
        notes.push(`cleanup: deleted Manila share ${s.name} (${e.name}) by hand`)
      }
  }
  for (const e of envs) {
    await e.d.stop()
    if (LOG_DIR) writeFileSync(`${LOG_DIR}/${e.name}.log`, e.d.log)
    for (const s of SECRETS)
      if (s && e.d.log.includes(s)) notes.push(`daemon "${e.name}": its log contains a password`)
    const left = cleanupUnder(e.dir)
    const leaked = [...left.mounts.filter((m) => !tmpfsMounts.includes(m)), ...left.loops]
    if (leaked.length) notes.push(`cleanup under ${e.name}: ${leaked.join(', ')}`)
  }
  for (const p of proxies) await p.close()
  rmSync(base, { recursive: true, force: true })
}

const FAULTS = {
  auth: keystoneRefuses,
  token: tokenExpiry,
  cinder: cinderFaults,
  manila: manilaFaults,
  mkfs: mkfsFails,
  full: diskFull,
}
const ONLY = process.env.FAULTS_ONLY?.split(',')
console.log(`fuxi fault matrix (node ${process.version}, dev cloud as the non-admin user)\n`)
try {
  for (const [k, f] of Object.entries(FAULTS)) {
    if (ONLY && !ONLY.includes(k)) continue
    try {
      await f()
    } catch (x) {
      notes.push(`harness: ${f.name} stopped: ${(x as Error).stack ?? x}`)
      console.log(`   harness error in ${f.name}: ${(x as Error).message}`)
    }
  }
} finally {
  await cleanup()
}

rows.sort((a, b) => a.no.localeCompare(b.no, 'en', { numeric: true }))
const cell = (s: string) => s.replaceAll('|', '/')
console.log('\n| # | fault | op | time | Err | left behind | next call ok? |')
console.log('|---|---|---|---|---|---|---|')
for (const r of rows)
  console.log(
    `| ${[r.no, r.fault, r.op, secs(r.ms), r.err, r.left.length ? r.left.join('; ') : 'nothing', r.next].map(cell).join(' | ')} |`,
  )
if (notes.length) console.log(`\nnotes:\n${notes.map((n) => `  - ${n}`).join('\n')}`)
console.log(`\ntotal ${secs(now() - T0)}`)
