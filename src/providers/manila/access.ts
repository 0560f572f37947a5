import { BlockList, isIP } from 'node:net'
import type { AccessRule, ExportLocation } from '../../openstack/manila.ts'
import type { ShareProto } from './options.ts'

/** The access rule this host needs on a share: `ip` for NFS, `cephx` for CephFS. */
export interface AccessSpec {
  readonly type: 'ip' | 'cephx'
  readonly to: string
}

/** Rule metadata: the rule was made by fuxi (so fuxi may deny it). */
export const CREATED_KEY = 'fuxi_created'
/** Rule metadata: this host uses the rule (one key per host). */
export const HOST_KEY_PREFIX = 'fuxi_host_'
export const hostKey = (me: string) => `${HOST_KEY_PREFIX}${me}`

export function accessFor(
  proto: ShareProto,
  cfg: { accessTo: string; cephxId: string },
): AccessSpec {
  return proto === 'CEPHFS' ? { type: 'cephx', to: cfg.cephxId } : { type: 'ip', to: cfg.accessTo }
}

/** 10.0.0.5 and 10.0.0.5/32 are the same client. */
const normal = (to: string) => to.replace(/\/(32|128)$/, '')

function cidrContains(cidr: string, addr: string): boolean {
  const [net, bits] = cidr.split('/')
  const family = isIP(net ?? '')
  if (!family || bits === undefined || isIP(addr) !== family) return false
  const list = new BlockList()
  try {
    list.addSubnet(net as string, Number(bits), family === 4 ? 'ipv4' : 'ipv6')
  } catch {
    return false
  }
  return list.check(addr, family === 4 ? 'ipv4' : 'ipv6')
}

/**
 * This host's rule among a share's rules: the one fuxi gave this host, else one naming exactly
 * this client, else (NFS) a read-write rule whose network contains this host's address.
 */
export function findAccess(
  rules: readonly AccessRule[],
  want: AccessSpec,
  me: string,
): AccessRule | undefined {
  const same = rules.filter((r) => r.access_type === want.type)
  return (
    same.find((r) => r.metadata?.[hostKey(me)] !== undefined) ??
    same.find((r) => normal(r.access_to) === normal(want.to)) ??
    (want.type === 'ip'
      ? same.find((r) => r.access_level === 'rw' && cidrContains(r.access_to, want.to))
      : undefined)
  )
}

/** Hosts (other than `me`) fuxi recorded as users of a rule. */
export function otherUsers(rule: AccessRule, me: string): string[] {
  return Object.keys(rule.metadata ?? {})
    .filter((k) => k.startsWith(HOST_KEY_PREFIX) && k !== hostKey(me))
    .map((k) => k.slice(HOST_KEY_PREFIX.length))
}

/** What the last Unmount on this host does with its rule. */
export type Release =
  | { kind: 'DENY' }
  | { kind: 'LEAVE'; why: 'not made by fuxi' | 'other hosts use it' | 'keep_access' }

export function releaseOf(rule: AccessRule, me: string, keepAccess: boolean): Release {
  if (rule.metadata?.[CREATED_KEY] !== 'true') return { kind: 'LEAVE', why: 'not made by fuxi' }
  if (otherUsers(rule, me).length) return { kind: 'LEAVE', why: 'other hosts use it' }
  if (keepAccess) return { kind: 'LEAVE', why: 'keep_access' }
  return { kind: 'DENY' }
}

/**
 * Rules that belong to other hosts: what Remove refuses to cut off. A rule is this host's when
 * fuxi recorded only this host on it, or when it names this host's client and nobody else.
 */
export function foreignRules(
  rules: readonly AccessRule[],
  want: AccessSpec,
  me: string,
): AccessRule[] {
  return rules.filter((r) => {
    if (otherUsers(r, me).length) return true
    if (r.metadata?.[hostKey(me)] !== undefined) return false
    return !(r.access_type === want.type && normal(r.access_to) === normal(want.to))
  })
}

/** The address part of an export location (`host:/path`, `[v6]:/path`, `mon:port,mon:port:/path`). */
function exportHost(path: string): string {
  const v6 = /^\[([^\]]+)\]/.exec(path)
  if (v6) return v6[1] as string
  return (path.split(',')[0] ?? '').split(':')[0] ?? ''
}

/**
 * The export location to mount: visible to non-admins, inside `cidr` when one is configured,
 * the preferred one first. Undefined when none qualifies.
 */
export function chooseExport(
  locations: readonly ExportLocation[],
  cidr: string,
): ExportLocation | undefined {
  const usable = locations.filter(
    (l) => l.is_admin_only !== true && (!cidr || cidrContains(cidr, exportHost(l.path))),
  )
  return usable.find((l) => l.preferred) ?? usable[0]
}

/** Splits a CephFS export (`mon1:6789,mon2:6789:/volumes/x`) into monitors and path. */
export function cephfsExport(path: string): { monitors: string; path: string } | undefined {
  const i = path.indexOf(':/')
  if (i <= 0) return undefined
  return { monitors: path.slice(0, i), path: path.slice(i + 1) }
}
