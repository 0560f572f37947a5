// fuxi plugin-API fuzz: prints figures, asserts nothing (exits 0 unless the harness itself breaks).
// Needs root (loop devices, mount). Run: `node scripts/build.mjs && node --import tsx bench/fuzz.ts`
// FUZZ_N inputs (default 10,000) from a seeded PRNG (FUZZ_SEED, default random; printed first, so
// a run can be replayed) go to a real daemon (the bundle, embedded local provider) over its unix
// socket, 8 at a time: malformed JSON, JSON of the wrong types, odd names, IDs and Opts, bodies
// over the 64 KiB limit (a few of several MiB), unknown endpoints, odd methods and headers, and
// raw broken HTTP on a net.Socket; a small share is a real lifecycle (Create/Mount/Unmount/Remove
// of valid names, 1 GiB) so that the state the odd inputs meet is not empty. Figures: requests
// sent, answers by HTTP status, answers that are not JSON with `Err` (or the endpoint's keys),
// daemon crashes (restarted and counted), requests that hung past 10 s, paths outside the data
// root (Mountpoints not under volume_dir, names of the state and volume trees, a `find` over the
// filesystems for the fuzzed traversal names, mounts of our loop devices elsewhere), mounts and
// loop devices left after the cleanup, and the daemon's RSS at the end. The daemon runs with the
// old-space cap of bin/fuxi-server (64 MB; FUZZ_HEAP_MB sets another, 0 none).
import { execFileSync, spawnSync } from 'node:child_process'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { type ClientRequest, type IncomingHttpHeaders, request } from 'node:http'
import { connect } from 'node:net'
import { join, normalize } from 'node:path'
import { parseMountInfo } from '../src/host/mountinfo.ts'
import { Daemon } from '../test/support/daemon.ts'
import { cleanupUnder, leaksUnder } from '../test/support/host-cleanup.ts'
import { now, row, seedFrom } from './stats.ts'

process.env.FUXI_USE_DIST = '1'
const N = Number(process.env.FUZZ_N ?? 10_000)
const SEED = seedFrom('FUZZ_SEED')
const CONCURRENCY = 8
const HEAP_MB = Number(process.env.FUZZ_HEAP_MB ?? 64)
const HANG_MS = 10_000

// ---- seeded PRNG (mulberry32) and helpers
let state = SEED
const rnd = () => {
  state = (state + 0x6d2b79f5) | 0
  let t = Math.imul(state ^ (state >>> 15), 1 | state)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const int = (n: number) => Math.floor(rnd() * n)
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T
const chance = (p: number) => rnd() < p
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)))
const ascii = (n: number) =>
  Array.from({ length: n }, () => String.fromCharCode(32 + int(95))).join('')

// ---- what is fuzzed
/** In every traversal name, so that `find` can look for them anywhere afterwards. */
const T = `fzz${SEED.toString(36)}`
/** The only names a Create or Mount is meant to succeed with (valid, 1 GiB). */
const POOL = ['fz0', 'fz1', 'fz2', 'fz3', 'fz4', 'fz5', 'A', 'a.b-c_d', `L${'x'.repeat(127)}`]
const ODD_NAMES = [
  '',
  ' ',
  '.',
  '..',
  '...',
  '../x',
  `../${T}-esc`,
  `../../${T}-esc`,
  `../../../../../../../tmp/${T}-esc`,
  `../../state/volumes/${T}-esc`,
  `/tmp/${T}-abs`,
  `/${T}-abs`,
  `/var/lib/fuxi-test/${T}-abs`,
  'a/b',
  `${T}-sub/x`,
  `fz0/../../${T}-esc`,
  `fz0/../${T}-esc`,
  `./${T}-dot`,
  'a\u0000b',
  `${T}-nul\u0000`,
  `fz0\u0000/../../${T}-esc`,
  'x'.repeat(129),
  'x'.repeat(300),
  `${T}-${'y'.repeat(5000)}`,
  'ünïcødé',
  '名前',
  '😀',
  '\ud800',
  'a\u202eb',
  '\u00a0',
  'fz0\n',
  'fz0 ',
  ' fz0',
  'FZ0/.',
  '$(id)',
  `$(touch /tmp/${T}-cmd)`,
  '`id`',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, sent verbatim
  '${IFS}',
  '-rf',
  '--help',
  '-',
  'a b',
  `${T} sp`,
  'a\tb',
  'a\nb',
  '.hidden',
  '_x',
  'x..y',
  'x/..',
  'C:\\x',
  '%2e%2e%2fx',
  '~root',
  '*',
  '?',
  'fz0;rm -rf /',
  'fz0|id',
  'fz0&&id',
  "fz0'",
  'fz0"',
  '\\',
  '\u0000',
]
const TRAVERSAL = ODD_NAMES.filter((n) => n.includes(T))
const ODD_IDS: unknown[] = [
  '',
  'x'.repeat(257),
  'x'.repeat(100_000),
  0,
  -1,
  1e308,
  true,
  null,
  [],
  ['a'],
  {},
  { ID: 'a' },
  'a/b',
  '../../x',
  `/tmp/${T}-id`,
  '\u0000',
  'ünï',
]
/** IDs a successful Mount may carry (each gets a unique suffix, so no fuzzed Unmount matches). */
const MOUNT_IDS = [
  'c',
  'a/b/',
  `../../${T}-id`,
  `/tmp/${T}-id`,
  'i'.repeat(240),
  'ünï-',
  '$(id)',
  '-rf',
  'x y ',
  '\u0000',
]
const BAD_SIZES = [
  '-1',
  '1e99',
  '0x10',
  '0',
  '1.5',
  '',
  ' ',
  '１',
  '99999999999999999999999',
  '1025',
  '65537',
  'NaN',
  'Infinity',
  '+1',
  '1e1',
  '0b1',
  '1G',
  '1GiB',
  '10%',
  '١',
  '\u0000',
  '2147483648',
  '-0',
  '1\u00001',
]
const UNKNOWN_KEYS = [
  'foo',
  'Size',
  'SIZE',
  'size ',
  'mountpoint',
  'volume_dir',
  'state_dir',
  'device',
  'o',
  '',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'volume_type',
  'snapshot_id',
  'share_proto',
  '../x',
]
const VALID_OPTS: (Record<string, string> | null)[] = [
  null,
  {},
  { size: '1' },
  { size: '1', fstype: 'ext4' },
  { fstype: 'xfs' },
  { size: ' 1 ' },
  { size: '01' },
  { volume_provider: 'local' },
]
/** Opts that must be refused (each carries at least one bad key or value). */
function oddOpts(): unknown {
  switch (int(10)) {
    case 0:
      return { size: pick(BAD_SIZES) }
    case 1:
      return {
        size: '1',
        fstype: pick(['ntfs', 'vfat', 'ext2', 'btrfs', '', 'EXT4', 'xfs;id', '../../bin/sh']),
      }
    case 2:
      return { size: '1', [pick(UNKNOWN_KEYS.slice(0, 3))]: 'x' }
    case 3:
      return { volume_provider: pick(['cinder', 'manila', '', 'LOCAL', '../local', 'local\u0000']) }
    case 4:
      return { size: 'x'.repeat(40_000 + int(20_000)) }
    case 5:
      return { ['k'.repeat(10_000)]: 'v' }
    case 6:
      return Object.fromEntries(Array.from({ length: 500 + int(2000) }, (_, i) => [`k${i}`, 'v']))
    case 7:
      return pick<unknown>([{ size: 1 }, { size: null }, { size: ['1'] }, { size: {} }, []])
    case 8:
      return { size: '1', fstype: 'ext4', [pick(UNKNOWN_KEYS)]: 'x'.repeat(int(3000)) }
    default:
      return pick<unknown>(['size=1', 1, true, [['size', '1']], { size: { $gt: 0 } }])
  }
}

const REAL = [
  'Plugin.Activate',
  'VolumeDriver.Create',
  'VolumeDriver.Remove',
  'VolumeDriver.Mount',
  'VolumeDriver.Unmount',
  'VolumeDriver.Path',
  'VolumeDriver.Get',
  'VolumeDriver.List',
  'VolumeDriver.Capabilities',
] as const
const ODD_PATHS = [
  '/',
  '/VolumeDriver.Foo',
  '/VolumeDriver.',
  '/VolumeDriver',
  '/volumedriver.mount',
  '/VOLUMEDRIVER.GET',
  '/VolumeDriver.Mount/',
  '//VolumeDriver.Mount',
  '/VolumeDriver.Get?Name=fz0',
  '/VolumeDriver.List?x=../../etc',
  '/../VolumeDriver.Get',
  '/%2e%2e/etc/passwd',
  '/VolumeDriver.Mount%00',
  '/VolumeDriver.Get%2f..',
  `/${'x/'.repeat(2000)}`,
  `/${'A'.repeat(8000)}`,
  '/Plugin.Activate/../VolumeDriver.Remove',
  '/VolumeDriver.Remove;x',
  '/VolumeDriver.Get%20',
  '/%C3%BC',
  '/Plugin.Deactivate',
  '/NetworkDriver.GetCapabilities',
  '/IpamDriver.GetCapabilities',
  '/Fuxi.Stats',
  '/Fuxi.Nope',
  '/favicon.ico',
]
const METHODS = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'POST', 'TRACE']

// ---- inputs
type Body = string | Buffer
interface HttpInput {
  kind: 'http'
  cat: string
  method: string
  path: string
  body: () => Body
  headers?: Record<string, string>
  chunked?: boolean
  noHost?: boolean
  /** What the answer means for our bookkeeping. */
  expect?: 'create-ok' | 'create-refused' | 'mount-ok' | 'mount-refused'
  name?: string
  id?: string
}
interface RawInput {
  kind: 'raw'
  cat: 'raw'
  /** Index in RAW. */
  variant: number
  destroy?: boolean
}
interface LifeInput {
  kind: 'life'
  cat: 'lifecycle'
  op: 'Create' | 'Mount' | 'Unmount' | 'Get' | 'Path' | 'Remove'
  name: string
  id?: string
  opts?: Record<string, string> | null
}
type Input = HttpInput | RawInput | LifeInput

const json = (o: unknown) => `${JSON.stringify(o)}\n`
const post = (method: string, body: () => Body, cat: string): HttpInput => ({
  kind: 'http',
  cat,
  method: 'POST',
  path: `/${method}`,
  body,
})

function fieldsInput(): HttpInput {
  const ep = pick(REAL)
  const o: Record<string, unknown> = {}
  let expect: HttpInput['expect']
  const nameKind = int(10)
  // Valid names only where the call must still be refused (bad Opts or a bad ID) or is harmless.
  const name = nameKind < 7 ? pick(ODD_NAMES) : nameKind < 9 ? pick<unknown>(ODD_IDS) : pick(POOL)
  if (chance(0.95)) o.Name = name
  if (ep === 'VolumeDriver.Create') {
    o.Opts = POOL.includes(name as string) || chance(0.6) ? oddOpts() : pick(VALID_OPTS)
    expect = POOL.includes(name as string) ? 'create-refused' : undefined
  } else if (ep === 'VolumeDriver.Mount' || ep === 'VolumeDriver.Unmount') {
    o.ID = POOL.includes(name as string)
      ? pick(ODD_IDS.filter((x) => typeof x !== 'string' || x === '' || x.length > 256))
      : pick<unknown>([...ODD_IDS, ...MOUNT_IDS])
    if (ep === 'VolumeDriver.Mount' && POOL.includes(name as string)) expect = 'mount-refused'
  } else if (ep === 'VolumeDriver.Remove' && POOL.includes(name as string)) {
    o.Name = pick(ODD_NAMES) // a real remove belongs to the lifecycle share
  }
  if (chance(0.2)) o[pick(UNKNOWN_KEYS)] = pick<unknown>(['x', 1, null, { a: [1] }, ODD_NAMES])
  if (chance(0.1)) o.Opts = oddOpts()
  return { ...post(ep, () => json(o), 'fields'), expect }
}

function wrongTypeInput(): HttpInput {
  const ep = pick(REAL)
  const deep = (n: number) => `{"Name":${'['.repeat(n)}${']'.repeat(n)}}`
  const texts = [
    '[]',
    '[{"Name":"fz0","ID":"w"}]',
    '0',
    '-1',
    '1e999',
    'null',
    'true',
    'false',
    '"fz0"',
    '""',
    '{"Name":null}',
    '{"Name":123}',
    '{"Name":1e308}',
    '{"Name":["fz0"]}',
    '{"Name":{"Name":"fz0"}}',
    '{"Name":true}',
    '{"Name":"fz0","ID":123}',
    '{"Name":"fz0","ID":["a"]}',
    '{"Name":"fz0","ID":{"a":1}}',
    '{"Name":"fz0","ID":null}',
    '{"Name":"../x","Opts":[]}',
    '{"Name":"../x","Opts":"size=1"}',
    '{"Name":"../x","Opts":123}',
    '{"Name":"../x","Opts":{"size":{"$gt":0}}}',
    '{"name":"fz0","id":"w"}',
    '{"NAME":"fz0","ID":"w"}',
    '{"Name":"fz0","Name":"../x","ID":"w"}',
    '{"__proto__":{"Name":"fz0","ID":"w"}}',
    '{"constructor":{"prototype":{"Name":"fz0"}}}',
    '{"Name":"../x","__proto__":{"polluted":true}}',
    deep(1000),
    deep(25_000),
    `[${'{},'.repeat(5000)}{}]`,
    '{"Name":"\\ud800\\udc00x"}',
    '{"Name":"\\u0000"}',
  ]
  const text = pick(texts)
  // Mount/Create of fz0 through a wrong-typed ID would succeed untracked: those go elsewhere.
  const harmless =
    (ep === 'VolumeDriver.Mount' || ep === 'VolumeDriver.Create') &&
    /^\{"Name":"fz0","ID":\d/.test(text)
  return post(harmless ? 'VolumeDriver.Get' : ep, () => text, 'wrong types')
}

function malformedInput(): HttpInput {
  const ep = pick(REAL)
  const valid = json({ Name: pick(POOL), ID: 'm', Opts: { size: '1' } })
  const variants: (() => Body)[] = [
    () => pick(['{', '}', '{"Name":', '{"Name":"fz0"', '{Name:"fz0"}', "{'Name':'fz0'}"]),
    () => pick(['{"Name":"fz0",}', '{"Name":"fz0"}}', '{"Name":"fz0"} {"Name":"fz1"}']),
    () => pick(['{"Name":"\\u00"}', '{"Name":"\\x41"}', 'NaN', 'undefined', '{"Name":NaN}']),
    () => `{"Name":"a${'\u0000'}b"}`,
    () => pick(['<xml/>', 'Name=fz0&ID=x', '{"Name":"../x"}\n\ngarbage', '\u0000\u0000', '\\']),
    () => bytes(1 + int(2000)),
    () => ascii(1 + int(500)),
    () => valid.slice(0, int(valid.length)), // truncated
    () => {
      const b = Buffer.from(valid)
      for (let k = 0; k < 1 + int(4); k++) b[int(b.length)] = int(256)
      return b
    },
    () => Buffer.from([0xff, 0xfe, ...Buffer.from('{"Name":"fz0"}', 'utf16le')]),
    () => Buffer.concat([Buffer.from('{"Name":"'), bytes(20), Buffer.from('"}')]),
  ]
  const body = pick(variants)
  // A random byte flip of a valid Create/Mount can still be valid: keep those to read-only calls.
  const safe = ep === 'VolumeDriver.Create' || ep === 'VolumeDriver.Mount' ? 'VolumeDriver.Get' : ep
  return post(safe, body, 'malformed JSON')
}

function hugeInput(): HttpInput {
  const ep = pick(REAL)
  const big = chance(0.04)
  const size = big ? 2 * 1048576 + int(2 * 1048576) : 65_536 + int(400_000)
  const variants: (() => Body)[] = [
    () => json({ Name: 'x'.repeat(size) }),
    () => `{"Name":"fz0"}${' '.repeat(size)}`,
    () => json({ Name: `../${T}-huge`, Opts: { size: '1', pad: 'p'.repeat(size) } }),
    () => `[${'1,'.repeat(size / 2)}1]`,
    () => bytes(Math.min(size, 1_000_000)),
    () => json({ Name: 'fz0', ID: 'i'.repeat(size) }),
  ]
  const inp = post(ep, pick(variants), big ? 'huge (MiB)' : 'huge (> 64 KiB)')
  // Right at the limit: 65,536 bytes must be accepted, 65,537 refused.
  if (chance(0.1)) {
    const n = 65_535 + int(3)
    const head = '{"Name":"'
    inp.body = () => `${head}${'z'.repeat(n - head.length - 2)}"}`
  }
  if (chance(0.2)) inp.chunked = true
  return inp
}

function pathInput(): HttpInput {
  const path = chance(0.5) ? pick(ODD_PATHS) : `/${pick(REAL)}`
  const method = path.startsWith('/Fuxi.') || chance(0.3) ? 'POST' : pick(METHODS)
  const body = pick<() => Body>([() => '', () => '{}', () => json({ Name: 'fz0' })])
  return { kind: 'http', cat: 'endpoints, methods', method, path, body }
}

function headerInput(): HttpInput {
  const ep = pick(['Plugin.Activate', 'VolumeDriver.Get', 'VolumeDriver.List', 'VolumeDriver.Path'])
  const inp = post(ep, () => json({ Name: pick([...POOL, ...ODD_NAMES]) }), 'headers')
  switch (int(8)) {
    case 0:
      inp.chunked = true
      break
    case 1:
      inp.headers = {
        'Content-Type': pick([
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=utf-16',
          'application/vnd.docker.plugins.v1.2+json',
        ]),
      }
      break
    case 2:
      inp.noHost = true
      break
    case 3:
      inp.headers = { 'Content-Encoding': pick(['gzip', 'deflate', 'br', 'x']) }
      break
    case 4:
      inp.headers = { Expect: '100-continue' }
      break
    case 5:
      inp.headers = { Connection: 'Upgrade', Upgrade: 'websocket' }
      break
    case 6:
      inp.headers = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`X-F${i}`, `${i}`]))
      break
    default:
      inp.headers = { Accept: ascii(50), 'User-Agent': ascii(200) }
  }
  return inp
}

const RAW: (() => Buffer)[] = [
  () => Buffer.from('GARBAGE\r\n\r\n'),
  () =>
    Buffer.from('POST /VolumeDriver.Get HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{"Name":'),
  () => Buffer.from('POST /VolumeDriver.Get HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'),
  () =>
    Buffer.from(
      'POST /VolumeDriver.Get HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    ),
  () =>
    Buffer.from(
      'POST /VolumeDriver.Get HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
    ),
  () => Buffer.from('POST /VolumeDriver.Get HTTP/1.1\r\nHo\u0000st: x\r\n\r\n'),
  () => Buffer.from('POST /VolumeDriver.Get HTTP/9.9\r\nHost: x\r\n\r\n'),
  () =>
    Buffer.from(`POST /VolumeDriver.Get HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`),
  () =>
    Buffer.from(
      'POST /Plugin.Activate HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nPOST /VolumeDriver.Get HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\n{"Name":"fz0"}\nGARBAGE\r\n\r\n',
    ),
  () => Buffer.from('\r\n\r\n\r\n'),
  () => Buffer.from('POST /VolumeDriver.Get HTTP/1.0\r\n\r\n{"Name":"fz0"}'),
  () => Buffer.from('POST /VolumeDriver.Get HTTP/1.1\nHost: x\nContent-Length: 2\n\n{}'),
  () => Buffer.from('POST  /VolumeDriver.Get  HTTP/1.1\r\nHost: x\r\n\r\n'),
  () =>
    Buffer.from(
      'POST /VolumeDriver.Get HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}',
    ),
  () => Buffer.from(`POST /a b ${T} HTTP/1.1\r\nHost: x\r\n\r\n`),
  () =>
    Buffer.from(
      `POST /VolumeDriver.Get HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X${i}: y\r\n`).join('')}\r\n`,
    ),
  () =>
    Buffer.from(
      'POST /VolumeDriver.Create HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n',
    ),
  () => bytes(1 + int(4096)),
  () => Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
  () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n'),
  () => Buffer.from(`POST /VolumeDriver.Mount HTTP/1.1\r\nHost: x\r\nContent-Length: 9`),
]

function lifeInput(): LifeInput {
  const name = pick(POOL)
  const r = rnd()
  if (r < 0.2) return { kind: 'life', cat: 'lifecycle', op: 'Create', name, opts: pick(VALID_OPTS) }
  if (r < 0.5)
    return { kind: 'life', cat: 'lifecycle', op: 'Mount', name, id: `${pick(MOUNT_IDS)}#` }
  if (r < 0.8) return { kind: 'life', cat: 'lifecycle', op: 'Unmount', name }
  if (r < 0.95) return { kind: 'life', cat: 'lifecycle', op: pick(['Get', 'Path'] as const), name }
  return { kind: 'life', cat: 'lifecycle', op: 'Remove', name }
}

function gen(i: number): Input {
  const r = rnd()
  let inp: Input
  if (r < 0.08) inp = lifeInput()
  else if (r < 0.46) inp = fieldsInput()
  else if (r < 0.58) inp = wrongTypeInput()
  else if (r < 0.73) inp = malformedInput()
  else if (r < 0.78) inp = hugeInput()
  else if (r < 0.88) inp = pathInput()
  else if (r < 0.935) inp = headerInput()
  else if (r < 0.95)
    inp = { kind: 'raw', cat: 'raw', variant: int(RAW.length), destroy: chance(0.15) || undefined }
  else inp = fieldsInput()
  if (inp.kind === 'life' && inp.id) inp.id += String(i)
  return inp
}

// ---- the daemon
mkdirSync('/var/lib/fuxi-test', { recursive: true })
const dir = await mkdtemp('/var/lib/fuxi-test/fuzz-')
// A shared mount, as / is on a systemd host: a mount namespace another process makes meanwhile
// (`unshare --propagation slave`) then gets our unmounts instead of pinning our loop devices.
execFileSync('mount', ['--bind', dir, dir])
execFileSync('mount', ['--make-shared', dir])

/** Other mount namespaces that hold mounts under `dir` (they keep its loop devices busy). */
function foreignHolders(): string[] {
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
const dataRoot = `${dir}/data`
const stateDir = `${dir}/state`
const marker = `${dir}/marker`
const line = (label: string, value: string | number) =>
  console.log(`  ${label.padEnd(48)} ${value}`)
const rssMb = (pid: number | undefined) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024
  } catch {
    return Number.NaN
  }
}

const count = new Map<string, number>()
const bump = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by)
const byCat = new Map<string, Map<string, number>>()
const life = new Map<string, number>() // lifecycle calls by endpoint and outcome
const latency = new Map<string, number[]>()
const samples = new Map<string, string[]>()
const sample = (k: string, s: string) => {
  const xs = samples.get(k) ?? []
  if (xs.length < 6 && !xs.some((x) => x.startsWith(s.slice(0, 300))))
    xs.push(s.length > 300 ? `${s.slice(0, 300)}…(${s.length} chars)` : s)
  samples.set(k, xs)
}
let sent = 0
let hung = 0
let notPlugin = 0 // answers from fuxi that are not JSON with Err / the endpoint's keys
let fastifyClientErrors = 0 // broken HTTP answered by Fastify's clientError handler (no Err)
let coreAnswers = 0 // answers to broken HTTP written by Node's HTTP parser, not by fuxi
let biggestAnswer = 0
let biggestLabel = ''
let mountpointsSeen = 0
let mountpointsOutside = 0
let unexpectedAccepts = 0
let crashes = 0
let restartFailures = 0
const crashLogs: string[] = []
const mounted = new Map<string, string[]>() // name -> acknowledged mount IDs
let stopping = false

writeFileSync(marker, '')
await new Promise((r) => setTimeout(r, 20)) // files made from now on are -newer than the marker
const d = await Daemon.create(dir, {
  extra: `docker_socket = ${dir}/none.sock\nlog_level = warn\n`,
})
// The old-space cap bin/fuxi-server runs the daemon with (Daemon runs the bundle directly);
// FUZZ_HEAP_MB=0 runs it uncapped.
if (HEAP_MB > 0) d.env = { NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` }
let restarting: Promise<void> | undefined
const watch = () => {
  const p = d.proc
  p?.once('exit', (code, signal) => {
    if (stopping) return
    crashes++
    crashLogs.push(
      `exit code ${code} signal ${signal}; last log lines:\n${d.log.trim().split('\n').slice(-8).join('\n')}`,
    )
    restarting = d
      .start()
      .then(watch)
      .catch((e: unknown) => {
        restartFailures++
        crashLogs.push(`restart failed: ${String(e).slice(0, 2000)}`)
      })
      .finally(() => {
        restarting = undefined
      })
  })
}
await d.start()
watch()
const startRss = rssMb(d.proc?.pid)

// ---- sending
interface Answer {
  status?: number
  body: string
  type?: string
  error?: string
  ms: number
}

function sendHttp(inp: HttpInput): Promise<Answer> {
  return new Promise((resolve) => {
    const t0 = now()
    let status: number | undefined
    let headers: IncomingHttpHeaders = {}
    const chunks: Buffer[] = []
    let done = false
    let timer: NodeJS.Timeout | undefined
    const finish = (error?: string) => {
      if (done) return
      done = true
      clearTimeout(timer)
      resolve({
        status,
        body: Buffer.concat(chunks).toString('utf8'),
        type: headers['content-type'],
        error: status === undefined ? error : undefined,
        ms: now() - t0,
      })
    }
    const body = inp.body()
    let req: ClientRequest
    try {
      req = request(
        {
          socketPath: d.socket,
          path: inp.path,
          method: inp.method,
          agent: false,
          setHost: !inp.noHost,
          headers: {
            ...(inp.chunked ? {} : { 'Content-Length': Buffer.byteLength(body) }),
            ...inp.headers,
          },
        },
        (res) => {
          status = res.statusCode
          headers = res.headers
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => finish())
          res.on('error', () => finish())
        },
      )
    } catch (e) {
      resolve({ body: '', error: `client refused: ${(e as Error).message}`, ms: 0 })
      return
    }
    timer = setTimeout(() => {
      finish('hung')
      req.destroy()
    }, HANG_MS)
    req.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message))
    if (inp.chunked && body.length > 1) {
      const half = Math.floor(body.length / 2)
      req.write(body.slice(0, half))
      req.end(body.slice(half))
    } else req.end(body)
  })
}

function sendRaw(inp: RawInput): Promise<Answer> {
  return new Promise((resolve) => {
    const t0 = now()
    const chunks: Buffer[] = []
    let done = false
    const s = connect(d.socket)
    const finish = (error?: string) => {
      if (done) return
      done = true
      clearTimeout(timer)
      s.destroy()
      const text = Buffer.concat(chunks).toString('latin1')
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text)
      // The first answer only (a pipelined request gets several).
      const split = text.indexOf('\r\n\r\n')
      const head = split >= 0 ? text.slice(0, split) : text
      const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1]
      const rest = split >= 0 ? text.slice(split + 4) : ''
      resolve({
        status: m ? Number(m[1]) : undefined,
        body: length === undefined ? rest : rest.slice(0, Number(length)),
        type: /\r\ncontent-type: *([^\r]*)/i.exec(head)?.[1],
        error: m ? undefined : (error ?? 'closed without an answer'),
        ms: now() - t0,
      })
    }
    const timer = setTimeout(() => finish('hung'), HANG_MS)
    s.on('data', (c: Buffer) => chunks.push(c))
    s.on('close', () => finish())
    s.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message))
    s.on('connect', () => {
      s.write((RAW[inp.variant] as () => Buffer)())
      if (inp.destroy) finish('client hung up')
      else s.end()
    })
  })
}

/** Keys an answer of fuxi's must have; undefined when the shape is right. */
function shapeProblem(path: string, method: string, a: Answer): string | undefined {
  if (method === 'HEAD') return undefined
  let o: unknown
  try {
    o = JSON.parse(a.body)
  } catch {
    return 'not JSON'
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return 'not a JSON object'
  const r = o as Record<string, unknown>
  const hasErr = typeof r.Err === 'string'
  if (a.status !== 200) return hasErr && r.Err !== '' ? undefined : `HTTP ${a.status} without Err`
  if (hasErr && r.Err !== '') return undefined
  if (path === '') return undefined // a raw request's answer: any JSON object will do
  const ep = path.slice(1)
  const ok =
    ep === 'Plugin.Activate'
      ? Array.isArray(r.Implements)
      : ep === 'VolumeDriver.Capabilities'
        ? typeof (r.Capabilities as { Scope?: unknown } | undefined)?.Scope === 'string'
        : ep === 'VolumeDriver.Mount' || ep === 'VolumeDriver.Path'
          ? hasErr && typeof r.Mountpoint === 'string'
          : ep === 'VolumeDriver.Get'
            ? hasErr && typeof (r.Volume as { Name?: unknown } | undefined)?.Name === 'string'
            : ep === 'VolumeDriver.List'
              ? hasErr && Array.isArray(r.Volumes)
              : hasErr
  return ok ? undefined : `200 without the keys of ${ep}`
}

function checkMountpoints(path: string, body: string, label: string) {
  let r: Record<string, unknown>
  try {
    r = JSON.parse(body) as Record<string, unknown>
  } catch {
    return
  }
  const mps: unknown[] = []
  if (path === '/VolumeDriver.Mount' || path === '/VolumeDriver.Path') mps.push(r.Mountpoint)
  if (path === '/VolumeDriver.Get') mps.push((r.Volume as { Mountpoint?: unknown })?.Mountpoint)
  if (path === '/VolumeDriver.List' && Array.isArray(r.Volumes))
    for (const v of r.Volumes) mps.push((v as { Mountpoint?: unknown })?.Mountpoint)
  for (const mp of mps) {
    if (mp === undefined || mp === '') continue
    mountpointsSeen++
    let bad = typeof mp !== 'string' || !mp.startsWith(`${dataRoot}/`) || mp.includes('\u0000')
    if (!bad && normalize(mp as string) !== mp) bad = true
    if (!bad && existsSync(mp as string) && !realpathSync(mp as string).startsWith(`${dataRoot}/`))
      bad = true
    if (bad) {
      mountpointsOutside++
      sample('Mountpoint outside the data root', `${label} → ${JSON.stringify(mp)}`)
    }
  }
}

const describe = (inp: HttpInput) => {
  const b = inp.body()
  const text = typeof b === 'string' ? b : `<${b.length} bytes> ${b.toString('latin1', 0, 120)}`
  return `${inp.method} ${inp.path.slice(0, 80)} ${JSON.stringify(text.slice(0, 200))}`
}

function toHttp(inp: LifeInput): HttpInput {
  let body: unknown
  let expect: HttpInput['expect']
  let id = inp.id
  if (inp.op === 'Unmount') {
    const held = [...mounted.entries()].filter(([, ids]) => ids.length)
    const [name, ids] = held.length ? pick(held) : [inp.name, []]
    id = ids.length ? ids.splice(int(ids.length), 1)[0] : 'never-mounted'
    body = { Name: name, ID: id }
    return { ...post('VolumeDriver.Unmount', () => json(body), inp.cat), name, id }
  }
  if (inp.op === 'Create') {
    body = { Name: inp.name, Opts: inp.opts ?? null }
    expect = 'create-ok'
  } else if (inp.op === 'Mount') {
    body = { Name: inp.name, ID: id }
    expect = 'mount-ok'
  } else body = { Name: inp.name }
  return {
    ...post(`VolumeDriver.${inp.op}`, () => json(body), inp.cat),
    expect,
    name: inp.name,
    id,
  }
}

async function runOne(inp0: Input): Promise<void> {
  await restarting
  const inp = inp0.kind === 'life' ? toHttp(inp0) : inp0
  sent++
  const a = inp.kind === 'raw' ? await sendRaw(inp) : await sendHttp(inp)
  const label =
    inp.kind === 'raw'
      ? `raw #${inp.variant}${inp.destroy ? ' (then hung up)' : ''} ${JSON.stringify((RAW[inp.variant] as () => Buffer)().toString('latin1', 0, 90))}`
      : describe(inp)
  const outcome = a.status !== undefined ? String(a.status) : (a.error ?? '?')
  bump(count, outcome)
  const cat = byCat.get(inp.cat) ?? new Map<string, number>()
  bump(cat, outcome)
  byCat.set(inp.cat, cat)
  const lat = latency.get(inp.cat) ?? []
  lat.push(a.ms)
  latency.set(inp.cat, lat)
  if (a.body.length > biggestAnswer) {
    biggestAnswer = a.body.length
    biggestLabel = `${label.slice(0, 120)} → ${a.body.slice(0, 160)}…`
  }
  if (a.error === 'hung') {
    hung++
    sample('hung', label)
  }
  if (a.status === 500) sample('HTTP 500', `${label} → ${a.body.slice(0, 300)}`)
  if (a.status === undefined) {
    if (a.error !== 'client hung up') sample(`no answer: ${a.error}`, label)
    if (inp.kind === 'http' && inp.name && inp.id && inp.path === '/VolumeDriver.Unmount')
      mounted.set(inp.name, [...(mounted.get(inp.name) ?? []), inp.id]) // may still be held
    return
  }
  // Node's parser answers broken HTTP itself with an empty body (and no content type).
  if (a.body === '' && !a.type && a.status !== 200) {
    coreAnswers++
    return
  }
  const path = inp.kind === 'raw' ? '' : inp.path
  const method = inp.kind === 'raw' ? 'POST' : inp.method
  const problem = shapeProblem(path, method, a)
  if (problem && inp.kind === 'raw') {
    fastifyClientErrors++
    sample(
      `answer to broken HTTP: ${problem}`,
      `${label} → HTTP ${a.status} ${a.body.slice(0, 200)}`,
    )
    return
  }
  if (problem) {
    notPlugin++
    sample(`answer ${problem}`, `${label} → HTTP ${a.status} ${a.body.slice(0, 200)}`)
    return
  }
  if (inp.kind === 'raw' || inp.method === 'HEAD') return
  checkMountpoints(inp.path, a.body, label)
  const err = (JSON.parse(a.body) as { Err?: string }).Err
  if (inp.cat === 'lifecycle') {
    bump(life, `${inp.path.slice(14)} ${err === '' ? 'ok' : 'Err'}`)
    if (err) sample('lifecycle calls refused', `${inp.path.slice(14)} ${inp.name}: ${err}`)
  }
  if (inp.expect === 'mount-ok' && err === '' && inp.name && inp.id)
    mounted.set(inp.name, [...(mounted.get(inp.name) ?? []), inp.id])
  if (inp.path === '/VolumeDriver.Unmount' && err !== '' && inp.name && inp.id)
    mounted.set(inp.name, [...(mounted.get(inp.name) ?? []), inp.id])
  if ((inp.expect === 'create-refused' || inp.expect === 'mount-refused') && err === '') {
    unexpectedAccepts++
    sample('accepted although it should be refused', label)
  }
  // Any other Create or Mount that succeeded with a name outside the pool is a finding too.
  if (
    err === '' &&
    (inp.path === '/VolumeDriver.Create' || inp.path === '/VolumeDriver.Mount') &&
    inp.kind === 'http' &&
    inp.cat !== 'lifecycle'
  ) {
    let name: unknown
    try {
      name = (JSON.parse(String(inp.body())) as { Name?: unknown }).Name
    } catch {
      name = undefined
    }
    if (!POOL.includes(name as string)) {
      unexpectedAccepts++
      sample('accepted although it should be refused', label)
    }
  }
}

/** Mounts of loop devices backed by files under dir whose mountpoint is not under the data root. */
function mountsElsewhere(): string[] {
  const ours = new Set(leaksUnder(dir).loops)
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    .filter(
      (m) =>
        (ours.has(m.source) || m.mountPoint.includes(T)) &&
        !m.mountPoint.startsWith(`${dataRoot}/local/`),
    )
    .map((m) => `${m.source} on ${m.mountPoint}`)
}

// ---- the run
console.log(
  `fuxi plugin-API fuzz: seed ${SEED} (FUZZ_SEED=${SEED} replays the inputs), ${N} inputs, ${CONCURRENCY} at a time, node ${process.version}, ${HEAP_MB > 0 ? `daemon old space capped at ${HEAP_MB} MB as by bin/fuxi-server` : 'daemon heap not capped'}`,
)
console.log(`  daemon dir ${dir}, data root ${dataRoot}\n`)
const inputs = Array.from({ length: N }, (_, i) => gen(i))
const t0 = now()
let elsewhere: string[] = []
const unexpectedEntries: string[] = []
let leftVolumes: string[] = []
let found: string[] = []
let endRss = Number.NaN
let heap = ''
let statsRss = Number.NaN
let leaks = { mounts: [] as string[], loops: [] as string[] }
const cleanupErrs: string[] = []
let pinned: string[] = []
try {
  let next = 0
  const worker = async () => {
    for (;;) {
      const i = next++
      if (i >= inputs.length) return
      await runOne(inputs[i] as Input)
      if ((i + 1) % 2000 === 0) {
        elsewhere.push(...mountsElsewhere())
        console.log(
          `  … ${i + 1} inputs, ${((now() - t0) / 1000).toFixed(1)} s, daemon RSS ${rssMb(d.proc?.pid).toFixed(1)} MB, crashes ${crashes}`,
        )
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  await restarting
  const fuzzMs = now() - t0
  elsewhere.push(...mountsElsewhere())

  // The state and volume trees hold only names fuxi may make for the pool's names.
  const FIXED = new Set(['volumes', 'local', 'locks', 'fuxi.pid', 'host-id'])
  const allowed = (e: string) => {
    const stem = e.replace(/\.[0-9a-f]{8}\.tmp$/, '').replace(/\.(json|img|lock)$/, '')
    return FIXED.has(e) || POOL.includes(stem)
  }
  const walk = (p: string, depth: number): void => {
    for (const e of readdirSync(p)) {
      const full = join(p, e)
      if (!allowed(e)) unexpectedEntries.push(full)
      const st = lstatSync(full)
      if (st.isSymbolicLink()) unexpectedEntries.push(`${full} (symlink)`)
      else if (st.isDirectory() && depth > 0) walk(full, depth - 1)
    }
  }
  if (existsSync(stateDir)) walk(stateDir, 3)
  if (existsSync(dataRoot)) walk(dataRoot, 1) // data/local/<name>, not inside the volumes
  for (const e of readdirSync(dir))
    if (!['fuxi.conf', 'fuxi.sock', 'state', 'data', 'marker'].includes(e))
      unexpectedEntries.push(join(dir, e))

  // Release what the lifecycle share left mounted, then remove every volume.
  const mem = (await d.call('Fuxi.Stats', {})).MemoryMB as Record<string, number>
  statsRss = mem.rss ?? Number.NaN
  heap = `heap used ${mem.heapUsed} of ${mem.heapTotal} MB (limit ${mem.heapLimit}), external ${mem.external} MB`
  endRss = rssMb(d.proc?.pid)
  for (const [Name, ids] of mounted)
    for (const ID of ids) {
      const r = await d.call('VolumeDriver.Unmount', { Name, ID })
      if (r.Err) cleanupErrs.push(`Unmount ${Name} ${ID}: ${r.Err}`)
    }
  const listed = ((await d.call('VolumeDriver.List', {})).Volumes ?? []) as { Name: string }[]
  for (const v of listed) {
    const r = await d.call('VolumeDriver.Remove', { Name: v.Name })
    if (r.Err) cleanupErrs.push(`Remove ${v.Name}: ${r.Err}`)
  }
  leftVolumes = (((await d.call('VolumeDriver.List', {})).Volumes ?? []) as { Name: string }[]).map(
    (v) => v.Name,
  )
  stopping = true
  await d.stop()
  leaks = leaksUnder(dir)
  pinned = foreignHolders()
  for (const sub of ['local', 'volumes'])
    if (existsSync(`${stateDir}/${sub}`))
      for (const e of readdirSync(`${stateDir}/${sub}`))
        unexpectedEntries.push(`${stateDir}/${sub}/${e} (left after removing every volume)`)
  if (existsSync(`${dataRoot}/local`))
    for (const e of readdirSync(`${dataRoot}/local`))
      unexpectedEntries.push(`${dataRoot}/local/${e} (left after removing every volume)`)

  // Anything named like a fuzzed traversal name, anywhere on the local filesystems.
  const roots = ['/', '/tmp', '/run', '/var/lib/fuxi-test', '/dev/shm', '/etc'].filter(existsSync)
  const names = [`*${T}*`, '$(id)*', '`id`*', '-rf*', 'a b', 'ünïcødé*', '名前*', '%2e%2e%2fx']
  const nameArgs = names.flatMap((n, i) => (i ? ['-o', '-name', n] : ['-name', n]))
  const f = spawnSync('find', [...roots, '-xdev', '-newer', marker, '(', ...nameArgs, ')'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1048576,
  })
  found = [...new Set(f.stdout.split('\n').filter(Boolean))]
  // Names with the run's token can only come from this run; the generic ones may be anyone's.
  const outside = found.filter((p) => !p.startsWith(`${dir}/`) && p.includes(T))
  const generic = found.filter((p) => !p.startsWith(`${dir}/`) && !p.includes(T))
  const inside = found.filter((p) => p.startsWith(`${dir}/`))
  elsewhere = [...new Set(elsewhere)]

  // ---- figures
  const total = now() - t0
  console.log(`\nanswers by outcome (all ${sent} requests):`)
  console.log(
    `  ${[...count.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
  )
  console.log('\nby kind of input (count, outcomes, answer time):')
  for (const [c, m] of byCat) {
    const n = [...m.values()].reduce((a, b) => a + b, 0)
    const outs = [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}×${v}`)
      .join(' ')
    row(`${c} (${n})`, latency.get(c) ?? [], `  ${outs}`)
  }
  for (const [k, xs] of samples) {
    console.log(`\nsamples: ${k}`)
    for (const s of xs) console.log(`    ${s}`)
  }
  if (crashLogs.length) console.log(`\ndaemon crashes:\n${crashLogs.join('\n---\n')}`)
  const internal = d.log.split('\n').filter((l) => l.includes('"level":50')).length
  const fatal = d.log.split('\n').filter((l) => l.includes('"level":60')).length
  if (unexpectedEntries.length)
    console.log(`\nunexpected entries:\n    ${unexpectedEntries.slice(0, 20).join('\n    ')}`)
  if (outside.length)
    console.log(`\nfuzzed names found outside ${dir}:\n    ${outside.join('\n    ')}`)
  if (generic.length)
    console.log(
      `\ngeneric fuzzed names (not only ours) found outside:\n    ${generic.join('\n    ')}`,
    )
  if (inside.length)
    console.log(`\nfuzzed names found inside ${dir}:\n    ${inside.join('\n    ')}`)
  if (elsewhere.length)
    console.log(`\nmounts outside the data root:\n    ${elsewhere.join('\n    ')}`)
  if (cleanupErrs.length) console.log(`\ncleanup errors:\n    ${cleanupErrs.join('\n    ')}`)

  console.log(
    `\nsummary (seed ${SEED}; ${(fuzzMs / 1000).toFixed(1)} s of fuzzing, ${(total / 1000).toFixed(1)} s in all):`,
  )
  line('requests sent', `${sent} (${((sent / fuzzMs) * 1000).toFixed(0)}/s)`)
  line(
    'answers by HTTP status',
    [...count.entries()]
      .filter(([k]) => /^\d+$/.test(k))
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(', '),
  )
  line(
    'no answer (reset, refused, client hung up)',
    [...count.entries()]
      .filter(([k]) => !/^\d+$/.test(k) && k !== 'hung')
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ') || '0',
  )
  line(
    'lifecycle share (valid names, 1 GiB)',
    [...life.entries()]
      .sort()
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  )
  line("answers not JSON with Err or the call's keys", notPlugin)
  line("broken HTTP answered by Node's parser", `${coreAnswers} (empty body)`)
  line(
    'raw broken HTTP answered without Err',
    `${fastifyClientErrors} (Fastify's clientError JSON)`,
  )
  line('largest answer', `${biggestAnswer} bytes: ${biggestLabel}`)
  line('HTTP 500 (internal error) answers', count.get('500') ?? 0)
  line('error / fatal lines in the daemon log', `${internal} / ${fatal}`)
  line('daemon crashes (exited; restarted)', `${crashes} (restart failures ${restartFailures})`)
  line('requests hung past 10 s', hung)
  line('calls accepted that should be refused', unexpectedAccepts)
  line('Mountpoints checked / outside the data root', `${mountpointsSeen} / ${mountpointsOutside}`)
  line(
    'fuzzed traversal names found outside the dir',
    `${outside.length} (of ${TRAVERSAL.length} names looked for, find over ${roots.join(' ')})`,
  )
  line('fuzzed names found inside the dir', inside.length)
  line('unexpected names in state and volume trees', unexpectedEntries.length)
  line('mounts of our loop devices outside the root', elsewhere.length)
  line(
    'PATHS OUTSIDE THE DATA ROOT (all of the above)',
    mountpointsOutside + outside.length + elsewhere.length,
  )
  line('volumes left after cleanup', leftVolumes.length ? leftVolumes.join(', ') : 0)
  line('mounts / loop devices left (leaksUnder)', `${leaks.mounts.length} / ${leaks.loops.length}`)
  line('our mounts held by other mount namespaces', pinned.length ? pinned.join('; ') : 0)
  line(
    'daemon RSS at start / end',
    `${startRss.toFixed(1)} MB / ${endRss.toFixed(1)} MB (Fuxi.Stats ${statsRss} MB; ${heap})`,
  )
} finally {
  stopping = true
  await d.stop()
  const left = cleanupUnder(dir)
  if (left.mounts.length || left.loops.length)
    console.log(`  (cleanup unmounted ${left.mounts.length}, detached ${left.loops.length})`)
  execFileSync('umount', ['-l', dir])
  rmSync(dir, { recursive: true, force: true })
}
