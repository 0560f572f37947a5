import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CommandFailedError, VolumeStateError } from '../../errors.ts'
import type { Exec } from '../../host/exec.ts'
import { removeIfExists } from '../../host/files.ts'
import type { AccessRule, ExportLocation, ManilaShare } from '../../openstack/manila.ts'
import { MOUNT_FLAGS_KEY, mountOptions } from '../../volumes/filesystem.ts'
import { cephfsExport, chooseExport } from './access.ts'

/** How this host mounts a share, chosen by its protocol. */
export type ShareMount = (
  | { readonly proto: 'NFS'; readonly export: string }
  | {
      readonly proto: 'CEPHFS'
      readonly export: string
      readonly cephxId: string
      /** The access key Manila gave the cephx rule. */
      readonly key: string
    }
) & {
  /** The share's own mount options (nosuid, nodev unless it opted out), before the config's. */
  readonly options?: readonly string[]
}

/** The export location to mount, before any access is granted for it. */
export function exportFor(
  share: ManilaShare,
  exports: readonly ExportLocation[],
  exportCidr: string,
): ExportLocation {
  const location = chooseExport(exports, exportCidr)
  if (!location)
    throw new VolumeStateError(
      `Manila share ${share.id} has no export location this host may use${exportCidr ? ` inside [manila] export_cidr = ${exportCidr}` : ''} (${exports.length} in all)`,
    )
  return location
}

/** How to mount `share` at `location` with access `rule`. */
export function shareMountSpec(
  share: ManilaShare,
  location: ExportLocation,
  rule: AccessRule,
): ShareMount {
  const options = mountOptions('nfs', 'rw', share.metadata[MOUNT_FLAGS_KEY])
  if (share.share_proto.toUpperCase() !== 'CEPHFS')
    return { proto: 'NFS', export: location.path, options }
  if (!rule.access_key)
    throw new VolumeStateError(
      `Manila gave no access key for cephx rule ${rule.id} of share ${share.id}; check the share's access rules`,
    )
  return {
    proto: 'CEPHFS',
    export: location.path,
    cephxId: rule.access_to,
    key: rule.access_key,
    options,
  }
}

export interface ShareMountConfig {
  /** Extra `-o` options for mount.nfs (e.g. vers=4.1). */
  readonly nfsOptions: readonly string[]
  /** Extra `-o` options for the CephFS client. */
  readonly cephfsOptions: readonly string[]
  /** kernel: mount.ceph with a secret file; fuse: ceph-fuse with a keyring file. */
  readonly cephfsClient: 'kernel' | 'fuse'
  /** Where per-share credential files live (0600, removed on unmount). */
  readonly secretsDir: string
}

const PACKAGE: Record<string, string> = {
  'mount.nfs': 'nfs-common (Debian/Ubuntu) or nfs-utils (RHEL)',
  'mount.ceph': 'ceph-common',
  'ceph-fuse': 'ceph-fuse',
}

/**
 * Mounts shares with the protocol's own mount helper (mount.nfs, mount.ceph, ceph-fuse), called
 * directly rather than through mount(8). A CephFS key goes into a 0600 file named on the command
 * line, never onto the command line itself.
 */
export function shareMounter(exec: Exec, cfg: ShareMountConfig) {
  const secretFile = (name: string) => join(cfg.secretsDir, `${name}.secret`)
  const keyringFile = (name: string) => join(cfg.secretsDir, `${name}.keyring`)

  async function run(helper: string, args: string[]) {
    try {
      await exec.run(helper, args, { timeoutMs: 60_000 })
    } catch (e) {
      if (e instanceof CommandFailedError && e.notFound)
        throw new VolumeStateError(
          `${helper} is not installed on this host; install ${PACKAGE[helper] ?? helper}`,
        )
      throw e
    }
  }

  async function writeSecret(file: string, text: string) {
    await mkdir(cfg.secretsDir, { recursive: true, mode: 0o700 })
    await writeFile(file, text, { mode: 0o600 })
  }

  return {
    async mount(name: string, m: ShareMount, mountpoint: string): Promise<void> {
      await mkdir(mountpoint, { recursive: true, mode: 0o755 })
      const own = m.options ?? []
      if (m.proto === 'NFS') {
        const all = [...own, ...cfg.nfsOptions]
        const o = all.length ? ['-o', all.join(',')] : []
        return run('mount.nfs', [m.export, mountpoint, ...o])
      }
      const where = cephfsExport(m.export)
      if (!where)
        throw new VolumeStateError(
          `CephFS export location "${m.export}" is not "<monitors>:<path>"; check the share's export locations`,
        )
      if (cfg.cephfsClient === 'fuse') {
        await writeSecret(keyringFile(name), `[client.${m.cephxId}]\n\tkey = ${m.key}\n`)
        const all = [...own, ...cfg.cephfsOptions]
        const o = all.length ? ['-o', all.join(',')] : []
        return run('ceph-fuse', [
          mountpoint,
          '--id',
          m.cephxId,
          '--keyring',
          keyringFile(name),
          '-m',
          where.monitors,
          '-r',
          where.path,
          ...o,
        ])
      }
      await writeSecret(secretFile(name), m.key)
      return run('mount.ceph', [
        m.export,
        mountpoint,
        '-o',
        [`name=${m.cephxId}`, `secretfile=${secretFile(name)}`, ...own, ...cfg.cephfsOptions].join(
          ',',
        ),
      ])
    },

    /** Removes the credential files of a share (after its unmount). */
    async forget(name: string): Promise<void> {
      await Promise.all([removeIfExists(secretFile(name)), removeIfExists(keyringFile(name))])
    },
  }
}
