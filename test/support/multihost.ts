import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { CinderClient } from '../../src/openstack/cinder.ts'
import { ManilaClient } from '../../src/openstack/manila.ts'
import { Daemon } from './daemon.ts'
import { cloudSession, demoAuthConf, devcloudAuth } from './devcloud.ts'
import { Dockerd, type DockerResult, TEST_IMAGE } from './dockerd.ts'
import { STANDIN_PATH } from './standins.ts'

/**
 * Docker hosts simulated on one machine, against the one dev cloud: each is a mount namespace
 * (its own /run/docker/plugins, so each dockerd finds its own `fuxi` plugin), a UTS namespace
 * (its host name: shared by both when they stand for VMs cloned from one image), a dockerd with
 * its own data and exec roots, and a fuxi with its own state, data root and host id. They share
 * the network namespace (127.0.0.x addresses) and the kernel (loop devices): the dev cloud's
 * Cinder gives each host its own loop device of a volume, as two machines see their own disk.
 */
export interface SimHost {
  readonly label: string
  readonly hostname: string
  /** This host's address (my_ip, the NFS client address). */
  readonly ip: string
  readonly dir: string
  readonly dockerd: Dockerd
  readonly fuxi: Daemon
  /** The namespaces' holder process. */
  readonly holder: ChildProcess
  docker(args: string[], timeoutMs?: number): Promise<DockerResult>
  ok(args: string[]): Promise<string>
  /** `docker run --rm` of the test image with `volume` at /data. */
  run(volume: string, ...cmd: string[]): Promise<DockerResult>
  /** `docker run -d`; returns the container id. */
  runDetached(volume: string, ...cmd: string[]): Promise<string>
  /** Mount points of this host's namespace under its data root. */
  mounts(): string[]
  /** fuxi's id for this host (from its state directory). */
  hostId(): string
  /** kill -9 fuxi and dockerd (containers keep running under their shims). */
  killHard(): Promise<void>
  /** Start fuxi and dockerd again after killHard (fuxi first: dockerd restores with it). */
  restart(env?: Record<string, string>): Promise<void>
  /** Restart fuxi alone with these more [cinder] keys (e.g. takeover). */
  reconfigure(cinder: string): Promise<void>
  close(): Promise<void>
}

export interface Cluster {
  readonly a: SimHost
  readonly b: SimHost
  readonly volumeFrom: string
  readonly cinder: CinderClient
  readonly manila: ManilaClient
  close(): Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * The fuxi.conf lines of a simulated host (after the [DEFAULT] keys Daemon.create writes);
 * `cinder`: more [cinder] keys (e.g. takeover).
 */
export function hostConf(o: {
  volumeFrom: string
  ip: string
  dockerSocket: string
  cinder?: string
}) {
  return [
    `docker_socket = ${o.dockerSocket}`,
    'volume_providers = cinder,manila',
    `volume_from = ${o.volumeFrom}`,
    `my_ip = ${o.ip}`,
    'reconcile_interval = 3',
    ...demoAuthConf('cinder'),
    'heartbeat_interval = 2',
    o.cinder ?? '',
    ...demoAuthConf('manila'),
    '',
  ].join('\n')
}

async function startHost(o: {
  label: string
  hostname: string
  ip: string
  root: string
  volumeFrom: string
}): Promise<SimHost> {
  const dir = join(o.root, o.label)
  const plugins = join(dir, 'plugins')
  mkdirSync(plugins, { recursive: true })
  mkdirSync('/run/docker/plugins', { recursive: true })
  // The holder: a process that keeps the host's namespaces; everything else enters them.
  const holder = spawn(
    'unshare',
    ['--mount', '--uts', '--propagation', 'slave', 'sleep', 'infinity'],
    {
      stdio: 'ignore',
    },
  )
  const pid = String(holder.pid)
  const enter = ['nsenter', '-t', pid, '-m', '-u', '--']
  for (
    let i = 0;
    i < 100 && readlinkSync(`/proc/${pid}/ns/mnt`) === readlinkSync('/proc/self/ns/mnt');
    i++
  )
    await sleep(10)
  execFileSync('nsenter', [
    '-t',
    pid,
    '-m',
    '--',
    'mount',
    '--bind',
    plugins,
    '/run/docker/plugins',
  ])
  execFileSync('nsenter', ['-t', pid, '-u', '--', 'hostname', o.hostname])
  const dockerd = await Dockerd.start({
    root: join(dir, 'docker'),
    socket: join(dir, 'docker.sock'),
    prefix: enter,
  })
  const fuxi = await Daemon.create(dir, {
    socket: '/run/docker/plugins/fuxi.sock',
    extra: hostConf({ volumeFrom: o.volumeFrom, ip: o.ip, dockerSocket: dockerd.socket }),
  })
  fuxi.prefix = enter
  fuxi.probeSocket = join(plugins, 'fuxi.sock')
  fuxi.env = { PATH: STANDIN_PATH, FUXI_STANDIN_NFS_CLIENT: o.ip }
  await fuxi.start()
  await dockerd.ensureImage()
  const docker = (args: string[], timeoutMs?: number) => dockerd.docker(args, timeoutMs)
  return {
    label: o.label,
    hostname: o.hostname,
    ip: o.ip,
    dir,
    dockerd,
    fuxi,
    holder,
    docker,
    ok: (args) => dockerd.ok(args),
    run: (volume, ...cmd) =>
      docker(['run', '--rm', '--network', 'none', '-v', `${volume}:/data`, TEST_IMAGE, ...cmd]),
    runDetached: (volume, ...cmd) =>
      dockerd.ok(['run', '-d', '--network', 'none', '-v', `${volume}:/data`, TEST_IMAGE, ...cmd]),
    mounts() {
      const text = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      return text
        .split('\n')
        .map((l) => l.split(' ')[4] ?? '')
        .filter((m) => m.startsWith(`${dir}/data/`))
    },
    hostId() {
      return (JSON.parse(readFileSync(join(dir, 'state', 'host-id'), 'utf8')) as { id: string }).id
    },
    async killHard() {
      await fuxi.kill()
      await dockerd.kill()
    },
    async restart(env = {}) {
      await fuxi.start(env)
      await dockerd.respawn()
    },
    async reconfigure(cinder) {
      await fuxi.stop()
      const base = readFileSync(fuxi.configFile, 'utf8').split('docker_socket =')[0] ?? ''
      const conf = hostConf({
        volumeFrom: o.volumeFrom,
        ip: o.ip,
        dockerSocket: dockerd.socket,
        cinder,
      })
      writeFileSync(fuxi.configFile, `${base}${conf}`)
      await fuxi.start()
    },
    async close() {
      await dockerd.stop().catch(() => undefined)
      await fuxi.stop().catch(() => undefined)
      killNamespace(pid)
      holder.kill('SIGKILL')
    },
  }
}

/**
 * A host's mount namespace starts as a copy of this one. Where `/` is private (no systemd), a
 * copy of another test's mount under /var/lib/fuxi-test would outlive that test's unmount and
 * keep its loop device busy: made a shared mount, the tree's unmounts reach the (slave) copies.
 */
function shareTestRoot() {
  const root = '/var/lib/fuxi-test'
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === root)
  if (!mounted) execFileSync('mount', ['--bind', root, root])
  execFileSync('mount', ['--make-shared', root])
}

/**
 * Clusters whose test process died (a test file cut off by its timeout leaves its dockerds and
 * fuxis running): every process in their namespaces is killed and their directory removed.
 */
async function reapAbandoned() {
  for (const d of readdirSync('/var/lib/fuxi-test').filter((x) => x.startsWith('mh-'))) {
    const root = join('/var/lib/fuxi-test', d)
    let owner = 0
    try {
      owner = Number(readFileSync(join(root, 'owner'), 'utf8').trim()) || 0
    } catch {
      // no owner yet: another test file is making it, unless it is old
      if (Date.now() - statSync(root).mtimeMs < 600_000) continue
    }
    if (owner > 0 && isAlive(owner)) continue
    const holders = (() => {
      try {
        return readFileSync(join(root, 'holders'), 'utf8').trim().split(/\s+/).filter(Boolean)
      } catch {
        return []
      }
    })()
    for (const h of holders) {
      killNamespace(h)
      try {
        process.kill(Number(h), 'SIGKILL')
      } catch {
        // gone
      }
    }
    try {
      await purgeCloud(readFileSync(join(root, 'volume_from'), 'utf8').trim())
    } catch {
      // no record of it, or the cloud is down: its volumes stay for an operator
    }
    await rm(root, { recursive: true, force: true }).catch(() => undefined)
  }
}

/** Deletes every volume and share of a test volume_from (attachments and rules first). */
async function purgeCloud(volumeFrom: string) {
  if (!volumeFrom.startsWith('fuxi-mh-')) return
  const session = cloudSession(devcloudAuth('openrc-demo'))
  const cinder = new CinderClient(session)
  const manila = new ManilaClient(session)
  for (const v of await cinder.listVolumes({ metadata: { volume_from: volumeFrom } })) {
    for (const x of v.attachments) await cinder.deleteAttachment(x.attachment_id).catch(() => false)
    await cinder
      .waitForVolume(v.id, ['available', 'error'], { timeoutMs: 20_000 })
      .catch(() => undefined)
    await cinder.deleteVolume(v.id).catch(() => false)
  }
  for (const s of await manila.listShares({ metadata: { volume_from: volumeFrom } })) {
    for (const r of await manila.listAccessRules(s.id).catch(() => []))
      await manila.denyAccess(s.id, r.id).catch(() => undefined)
    await manila.deleteShare(s.id).catch(() => false)
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** SIGKILL every process left in the holder's mount namespace (shims, containers, containerd). */
function killNamespace(pid: string) {
  let ns: string
  try {
    ns = readlinkSync(`/proc/${pid}/ns/mnt`)
  } catch {
    return
  }
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    if (p === pid) continue
    try {
      if (readlinkSync(`/proc/${p}/ns/mnt`) === ns) process.kill(Number(p), 'SIGKILL')
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Two hosts A and B on the dev cloud, with one `volume_from` of their own. `sameHostname`: both
 * are called `docker-node` and share one address (VMs cloned from one image, config included);
 * otherwise `docker-a`/`docker-b` at 127.0.0.2/127.0.0.3.
 */
export async function startCluster(o: { sameHostname: boolean }): Promise<Cluster> {
  mkdirSync('/var/lib/fuxi-test', { recursive: true })
  shareTestRoot()
  await reapAbandoned()
  const root = await mkdtemp('/var/lib/fuxi-test/mh-')
  const volumeFrom = `fuxi-mh-${randomBytes(3).toString('hex')}`
  writeFileSync(join(root, 'owner'), String(process.pid))
  writeFileSync(join(root, 'volume_from'), volumeFrom)
  const spec = (label: string, n: number) => ({
    label,
    hostname: o.sameHostname ? 'docker-node' : `docker-${label}`,
    ip: o.sameHostname ? '127.0.0.1' : `127.0.0.${n}`,
    root,
    volumeFrom,
  })
  const [a, b] = await Promise.all([startHost(spec('a', 2)), startHost(spec('b', 3))])
  writeFileSync(join(root, 'holders'), `${a.holder.pid} ${b.holder.pid}`)
  const session = cloudSession(devcloudAuth('openrc-demo'))
  const cinder = new CinderClient(session)
  const manila = new ManilaClient(session)
  return {
    a,
    b,
    volumeFrom,
    cinder,
    manila,
    async close() {
      await Promise.all([a.close(), b.close()])
      await purgeCloud(volumeFrom)
      await rm(root, { recursive: true, force: true }).catch(() => undefined)
    },
  }
}
