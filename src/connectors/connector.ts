import { VolumeStateError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { ConnectionInfo, ConnectorProperties } from '../openstack/cinder.ts'

/**
 * Makes a Cinder volume's block device appear on (and disappear from) this host, for one
 * `driver_volume_type` of connection info — what os-brick's connectors do.
 */
export interface VolumeConnector {
  readonly type: string
  /**
   * Returns the device path once it exists. The device is this connector's own making (a LUN it
   * logged in to, an image it mapped) or, where the cloud names a path, checked to be
   * `volumeId`'s.
   */
  connect(info: ConnectionInfo, log: Logger, volumeId: string): Promise<string>
  disconnect(info: ConnectionInfo, log: Logger, volumeId: string): Promise<void>
}

/** The attachments API flattens connection info; the legacy actions nest it under `data`. */
export function connectionData(info: ConnectionInfo): Record<string, unknown> {
  const data = (info as { data?: unknown }).data
  return data && typeof data === 'object' ? (data as Record<string, unknown>) : info
}

export function connectorFor(
  info: ConnectionInfo,
  connectors: readonly VolumeConnector[],
): VolumeConnector {
  const type = String(info.driver_volume_type ?? '').toLowerCase()
  const found = connectors.find((c) => c.type === type)
  if (!found)
    throw new VolumeStateError(
      type === 'local'
        ? 'Cinder exports this volume as "local" (a device path on this host), which fuxi trusts only when [cinder] local_connection = true: set it if the Cinder volume service runs on this host'
        : `Cinder exports this volume as "${type || 'unknown'}", which this fuxi cannot connect (it can: ${connectors.map((c) => c.type).join(', ')}); use a volume type whose backend exports one of those`,
    )
  return found
}

/**
 * This host as Cinder's connector properties describe it (no instance_uuid: a host attach). The
 * host is this host's id, not its name: hosts cloned from one image share a name.
 */
export function hostConnectorProperties(
  hostId: string,
  myIp: string,
  initiator?: string,
): ConnectorProperties {
  return {
    host: hostId,
    ip: myIp || '127.0.0.1',
    platform: process.arch === 'x64' ? 'x86_64' : process.arch,
    os_type: 'linux',
    multipath: false,
    do_local_attach: false,
    ...(initiator ? { initiator } : {}),
  }
}

/** Device discovery: bounded backoff, about 10 s in all. */
export const DEVICE_WAIT_DELAYS_MS = [20, 50, 100, 200, 400, 800, 1500, 2000, 2000, 2000] as const

/** Polls `found` with DEVICE_WAIT_DELAYS_MS until it is true; throws `what` when it never is. */
export async function waitForDevice(
  found: () => Promise<boolean>,
  what: string,
  delays: readonly number[] = DEVICE_WAIT_DELAYS_MS,
): Promise<void> {
  for (let i = 0; ; i++) {
    if (await found()) return
    const d = delays[i]
    if (d === undefined)
      throw new VolumeStateError(
        `${what} did not appear within ${delays.reduce((a, b) => a + b, 0)} ms`,
      )
    await new Promise((r) => setTimeout(r, d))
  }
}
