import { VolumeStateError } from '../errors.ts'
import type { Exec } from '../host/exec.ts'
import type { Host } from '../host/host.ts'
import type { Logger } from '../log.ts'
import type { ConnectionInfo } from '../openstack/cinder.ts'
import { connectionData, type VolumeConnector, waitForDevice } from './connector.ts'

/** iscsiadm exit codes that mean "already so": 15 session exists, 21 no session (logout). */
const ISCSI_ALREADY = 15
const ISCSI_NO_SESSION = 21

interface Target {
  portal: string
  iqn: string
  lun: number
  chap?: { username: string; password: string }
}

function targetOf(info: ConnectionInfo): Target {
  const d = connectionData(info)
  const first = <T>(one: unknown, many: unknown): T | undefined =>
    (one as T | undefined) ?? (Array.isArray(many) ? (many[0] as T) : undefined)
  const portal = first<string>(d.target_portal, d.target_portals)
  const iqn = first<string>(d.target_iqn, d.target_iqns)
  const lun = first<number>(d.target_lun, d.target_luns) ?? 0
  if (!portal || !iqn)
    throw new VolumeStateError(
      `Cinder's iSCSI connection info lacks target_portal/target_iqn (got keys: ${Object.keys(d).join(', ')})`,
    )
  const chap =
    String(d.auth_method ?? '').toUpperCase() === 'CHAP'
      ? { username: String(d.auth_username ?? ''), password: String(d.auth_password ?? '') }
      : undefined
  return { portal, iqn, lun: Number(lun), chap }
}

/**
 * `iscsi`: log in to the target with iscsiadm (CHAP when Cinder asks for it), find the LUN under
 * /dev/disk/by-path, and log out on disconnect. The CHAP secret never appears in errors or logs.
 */
export function iscsiConnector(
  exec: Exec,
  host: Host,
  o: { byPathDir?: string; delays?: readonly number[] } = {},
): VolumeConnector {
  const byPath = o.byPathDir ?? '/dev/disk/by-path'
  const node = (t: Target) => ['-m', 'node', '-T', t.iqn, '-p', t.portal]
  const update = (t: Target, key: string, value: string, secret = false) =>
    exec.run('iscsiadm', [...node(t), '--op', 'update', '-n', key, '-v', value], {
      secrets: secret ? [value] : [],
    })
  return {
    type: 'iscsi',
    async connect(info, log: Logger) {
      const t = targetOf(info)
      await exec.run('iscsiadm', [...node(t), '--op', 'new'], { okExitCodes: [ISCSI_ALREADY] })
      if (t.chap) {
        await update(t, 'node.session.auth.authmethod', 'CHAP')
        await update(t, 'node.session.auth.username', t.chap.username)
        await update(t, 'node.session.auth.password', t.chap.password, true)
      }
      await exec.run('iscsiadm', [...node(t), '--login'], { okExitCodes: [ISCSI_ALREADY] })
      await update(t, 'node.startup', 'automatic')
      const link = `${byPath}/ip-${t.portal}-iscsi-${t.iqn}-lun-${t.lun}`
      await waitForDevice(() => host.isBlockDevice(link), `iSCSI LUN ${link}`, o.delays)
      const device = await host.resolveDevice(link)
      log.info({ portal: t.portal, iqn: t.iqn, lun: t.lun, device }, 'iSCSI target logged in')
      return device
    },
    async disconnect(info, log: Logger) {
      const t = targetOf(info)
      await exec.run('iscsiadm', [...node(t), '--logout'], { okExitCodes: [ISCSI_NO_SESSION] })
      await exec.run('iscsiadm', [...node(t), '--op', 'delete'], {
        okExitCodes: [ISCSI_NO_SESSION],
      })
      log.info({ portal: t.portal, iqn: t.iqn }, 'iSCSI target logged out')
    },
  }
}
