import { basename } from 'node:path'
import type { Credentials } from '../config/credential-types.ts'
import { INFERRED } from '../config/credentials.ts'
import type { FuxiConfig } from '../config/schema.ts'
import { exposure, secretFiles } from '../config/secret-files.ts'
import { keystoneSections } from '../providers/registry.ts'

/** One line of `fuxi doctor`: what was checked, how it went, and the fix when it did not. */
export interface Check {
  readonly name: string
  readonly status: 'ok' | 'warn' | 'fail'
  readonly detail: string
  readonly fix?: string
  /** `credentials <section>` lines: each option that is set and where it came from (no values). */
  readonly origins?: Readonly<Record<string, string>>
}

/** What the checks read of the world: narrow, so that tests hand in their own. */
export interface DoctorDeps {
  findTool(name: string): Promise<string | undefined>
  fileMode(file: string): Promise<{ mode: number; socket: boolean; uid: number } | undefined>
  kernelHasFilesystem(fstype: string): Promise<boolean>
  loopControl(): Promise<boolean>
  readHostId(stateDir: string): Promise<string | undefined>
  /** Activate over the plugin socket: the daemon answers. */
  activate(socket: string): Promise<boolean>
  /**
   * The volume drivers dockerd lists after it was asked for `driver`'s volumes (it finds a plugin
   * socket on first use); undefined when no Engine API answers on `socket`.
   */
  dockerVolumeDrivers(socket: string, driver: string): Promise<readonly string[] | undefined>
  /** Whether a kernel module is loaded or built in (/sys/module/<name>). */
  kernelModule(name: string): Promise<boolean>
  /** Keystone's clock minus this host's, in ms (a token's issued_at); undefined if unknown. */
  keystoneClockSkewMs(
    config: FuxiConfig,
    section: 'cinder' | 'manila' | 'nova',
  ): Promise<number | undefined>
  /** Authenticates for a service section and reads its version: the negotiated microversion. */
  cloud(config: FuxiConfig, section: 'cinder' | 'manila' | 'nova'): Promise<string>
}

const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail })
const warn = (name: string, detail: string, fix: string): Check => ({
  name,
  status: 'warn',
  detail,
  fix,
})
const fail = (name: string, detail: string, fix: string): Check => ({
  name,
  status: 'fail',
  detail,
  fix,
})

/** The commands each enabled provider runs (required), and those only some back ends need. */
function toolsFor(c: FuxiConfig): { need: Set<string>; maybe: Map<string, string> } {
  const need = new Set<string>()
  const maybe = new Map<string, string>()
  for (const p of c.DEFAULT.volume_providers) {
    if (p === 'local')
      for (const t of ['losetup', 'blkid', 'mount', 'umount', `mkfs.${c.local.fstype}`]) need.add(t)
    if (p === 'cinder') {
      for (const t of ['blkid', 'mount', 'umount', `mkfs.${c.cinder.fstype}`]) need.add(t)
      maybe.set('iscsiadm', 'Cinder back ends that export iSCSI (apt-get install open-iscsi)')
      maybe.set('rbd', 'Cinder back ends on Ceph RBD (apt-get install ceph-common)')
    }
    if (p === 'manila') {
      need.add('mount')
      need.add('umount')
      if (c.manila.share_proto === 'NFS') need.add('mount.nfs')
      else if (c.manila.cephfs_client === 'fuse') need.add('ceph-fuse')
      else need.add('mount.ceph')
    }
  }
  return { need, maybe }
}

const PACKAGE: Record<string, string> = {
  losetup: 'mount',
  blkid: 'util-linux',
  mount: 'mount',
  umount: 'mount',
  'mkfs.ext4': 'e2fsprogs',
  'mkfs.xfs': 'xfsprogs',
  'mount.nfs': 'nfs-common',
  'mount.ceph': 'ceph-common',
  'ceph-fuse': 'ceph-fuse',
}

/**
 * Everything fuxi needs, one check each: the configuration, this host's tools and kernel, the
 * daemon and Docker, and each configured cloud. Nothing is changed.
 */
export async function runChecks(
  o: { file: string | undefined; config?: FuxiConfig; configError?: string },
  d: DoctorDeps,
): Promise<Check[]> {
  const out: Check[] = []
  const where = o.file ?? '(embedded default)'
  if (!o.config) {
    out.push(fail('config', `${where}: ${o.configError ?? 'not loaded'}`, 'fix the lines named'))
    return out
  }
  const c = o.config
  out.push(ok('config', `${where} parses; providers: ${c.DEFAULT.volume_providers.join(', ')}`))
  for (const f of secretFiles(o.file, c)) {
    const m = await d.fileMode(f)
    const bad = m && exposure(f, m)
    if (bad) out.push(warn('config permissions', bad.problem, bad.fix))
  }
  const id = c.DEFAULT.host_id || (await d.readHostId(c.DEFAULT.state_dir))
  out.push(
    id
      ? ok('host id', id)
      : warn(
          'host id',
          `none yet: made at the first start in ${c.DEFAULT.state_dir}/host-id`,
          'start fuxi once, or set [DEFAULT] host_id',
        ),
  )
  const { need, maybe } = toolsFor(c)
  for (const t of need) {
    const at = await d.findTool(t)
    out.push(
      at
        ? ok(`tool ${t}`, at)
        : fail(`tool ${t}`, 'not found', `apt-get install ${PACKAGE[t] ?? t}`),
    )
  }
  for (const [t, why] of maybe) {
    const at = await d.findTool(t)
    out.push(at ? ok(`tool ${t}`, at) : warn(`tool ${t}`, 'not found', `needed for ${why}`))
  }
  if (c.DEFAULT.volume_providers.includes('local') && !(await d.loopControl()))
    out.push(fail('kernel loop', '/dev/loop-control is missing', 'modprobe loop'))
  if (c.DEFAULT.volume_providers.includes('manila')) {
    const fs = c.manila.share_proto === 'NFS' ? 'nfs' : 'ceph'
    out.push(
      (await d.kernelHasFilesystem(fs))
        ? ok(`kernel ${fs}`, `${fs} filesystems can be mounted`)
        : warn(`kernel ${fs}`, `${fs} is not in /proc/filesystems`, `modprobe ${fs}`),
    )
  }
  const sock = c.DEFAULT.socket_path
  const sm = await d.fileMode(sock)
  if (!sm?.socket)
    out.push(
      fail(
        'daemon',
        `no socket at ${sock}`,
        'start fuxi (scripts/install.sh, or systemctl start fuxi)',
      ),
    )
  else if (!(await d.activate(sock)))
    out.push(fail('daemon', `${sock} does not answer`, 'restart fuxi; see its log'))
  else if (sm.mode & 0o007)
    out.push(warn('daemon', `${sock} is open to everyone`, `chmod 660 ${sock}`))
  else out.push(ok('daemon', `answers on ${sock}`))
  out.push(...(await dockerChecks(c, d)))
  if (!sock.startsWith('/run/docker/plugins/') && !sock.startsWith('/var/run/docker/plugins/'))
    out.push(
      warn(
        'docker plugin',
        `dockerd looks for plugin sockets in /run/docker/plugins; fuxi listens on ${sock}`,
        'set [DEFAULT] socket_path = /run/docker/plugins/fuxi.sock',
      ),
    )
  if (c.DEFAULT.volume_providers.includes('cinder'))
    for (const [mod, why] of [
      ['iscsi_tcp', 'iSCSI back ends'],
      ['rbd', 'Ceph RBD back ends'],
    ] as const)
      out.push(
        (await d.kernelModule(mod))
          ? ok(`kernel ${mod}`, 'loaded')
          : warn(`kernel ${mod}`, 'not loaded', `modprobe ${mod} (needed for ${why})`),
      )
  const clocks = new Set<string>()
  for (const s of keystoneSections(c)) {
    const creds = c.credentials[s]
    if (!('problems' in creds)) out.push(credentialsLine(s, creds))
    try {
      const version = await d.cloud(c, s)
      out.push(ok(`cloud ${s}`, `authenticated; API ${version}`))
      const keystone = 'auth' in creds ? creds.auth.auth_url : ''
      if (keystone && !clocks.has(keystone)) {
        clocks.add(keystone)
        out.push(clockCheck(keystone, await d.keystoneClockSkewMs(c, s)))
      }
    } catch (e) {
      out.push(
        fail(
          `cloud ${s}`,
          e instanceof Error ? e.message : String(e),
          `check the auth options and endpoint of ${'where' in creds ? creds.where : `[${s}]`}`,
        ),
      )
    }
  }
  return out
}

/** Skew this large makes tokens look expired or not yet valid; fuxi refreshes by expires_at. */
export const CLOCK_WARN_MS = 60_000
export const CLOCK_FAIL_MS = 300_000

function clockCheck(keystone: string, skewMs: number | undefined): Check {
  const name = 'clock'
  if (skewMs === undefined)
    return warn(
      name,
      `${keystone} gave no issued_at with its token`,
      'compare the clocks by hand (date -u)',
    )
  const s = Math.round(Math.abs(skewMs) / 1000)
  const detail = `this host is ${s} s ${skewMs > 0 ? 'behind' : 'ahead of'} ${keystone}`
  const fix = 'synchronise the clock (chrony or systemd-timesyncd)'
  if (Math.abs(skewMs) >= CLOCK_FAIL_MS) return fail(name, detail, fix)
  if (Math.abs(skewMs) >= CLOCK_WARN_MS) return warn(name, detail, fix)
  return ok(name, `within ${s < 2 ? '2' : s} s of ${keystone}`)
}

/** The Engine API answers, and dockerd finds fuxi among its volume drivers. */
async function dockerChecks(c: FuxiConfig, d: DoctorDeps): Promise<Check[]> {
  const api = c.DEFAULT.docker_socket
  const driver = basename(c.DEFAULT.socket_path).replace(/\.sock$/, '')
  const drivers = await d.dockerVolumeDrivers(api, driver)
  if (!drivers)
    return [
      warn(
        'docker',
        `no Docker Engine API on ${api}`,
        'start dockerd, or set [DEFAULT] docker_socket',
      ),
    ]
  return [
    ok('docker', `the Engine API answers on ${api}`),
    drivers.includes(driver)
      ? ok('docker plugin', `dockerd finds volume driver "${driver}"`)
      : warn(
          'docker plugin',
          `dockerd does not find volume driver "${driver}" (it has: ${drivers.join(', ') || 'none'})`,
          `fuxi must listen in dockerd's /run/docker/plugins (socket_path), in dockerd's mount namespace`,
        ),
  ]
}

/** Where each credential of a section came from, grouped by place; never a value. */
function credentialsLine(s: string, c: Credentials): Check {
  const by = new Map<string, string[]>()
  for (const [key, from] of Object.entries(c.origins)) by.set(from, [...(by.get(from) ?? []), key])
  const env = Object.values(c.origins).some((o) => o.startsWith('the environment'))
  return {
    ...ok(
      `credentials ${s}`,
      [...by]
        .map(([from, keys]) => `${keys.join(', ')}${from === INFERRED ? '' : ' from'} ${from}`)
        .join('; ') + (env ? " (this command's environment; the daemon reads its own)" : ''),
    ),
    origins: c.origins,
  }
}

/** The report: one line per check, or JSON; and the exit status (0 only when nothing failed). */
export function report(checks: readonly Check[], json: boolean): { text: string; code: number } {
  const code = checks.some((x) => x.status === 'fail') ? 1 : 0
  if (json) return { text: `${JSON.stringify({ ok: code === 0, checks }, null, 1)}\n`, code }
  const w = Math.max(...checks.map((x) => x.name.length))
  const lines = checks.map(
    (x) =>
      `${x.status.padEnd(4)}  ${x.name.padEnd(w)}  ${x.detail}${x.fix ? `  (fix: ${x.fix})` : ''}`,
  )
  return { text: `${lines.join('\n')}\n`, code }
}
