import { ConfigError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { HttpTransport } from './transport.ts'

/** Nova's metadata service, as seen from inside an instance. */
export const METADATA_URL = 'http://169.254.169.254/openstack/latest/meta_data.json'

/**
 * This instance's Nova server id: the configured one, else its config drive's `uuid`, else the
 * metadata service's (the order cloud-init and cinder-csi use: a config drive needs no network).
 */
export async function instanceId(o: {
  configured: string
  transport: HttpTransport
  /** Reads the config drive: its uuid, or undefined when there is none. */
  configDrive?: () => Promise<string | undefined>
  metadataUrl?: string
  log?: Logger
}): Promise<string> {
  if (o.configured) return o.configured
  let drive = 'no config drive'
  try {
    const fromDrive = await o.configDrive?.()
    if (fromDrive) return fromDrive
  } catch (e) {
    drive = `the config drive could not be read: ${(e as Error).message}`
    o.log?.warn({ err: e }, 'config drive not readable; asking the metadata service')
  }
  const url = o.metadataUrl ?? METADATA_URL
  let why = 'the answer has no uuid'
  try {
    const res = await o.transport.request({ service: 'metadata', method: 'GET', url })
    const uuid = (res.json as { uuid?: unknown } | null)?.uuid
    if (typeof uuid === 'string' && uuid) return uuid
  } catch (e) {
    why = (e as Error).message
  }
  throw new ConfigError('fuxi.conf', [
    `[cinder] volume_connector = openstack needs this instance's Nova id: ${drive}, and the metadata service did not give it (${why}); set [cinder] instance_id`,
  ])
}
