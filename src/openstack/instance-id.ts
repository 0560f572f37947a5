import { ConfigError } from '../errors.ts'
import type { HttpTransport } from './transport.ts'

/** Nova's metadata service, as seen from inside an instance. */
export const METADATA_URL = 'http://169.254.169.254/openstack/latest/meta_data.json'

/**
 * This instance's Nova server id: the configured one, else the metadata service's `uuid`.
 * (Reading it from a config drive is not supported yet.)
 */
export async function instanceId(o: {
  configured: string
  transport: HttpTransport
  metadataUrl?: string
}): Promise<string> {
  if (o.configured) return o.configured
  const url = o.metadataUrl ?? METADATA_URL
  try {
    const res = await o.transport.request({ service: 'metadata', method: 'GET', url })
    const uuid = (res.json as { uuid?: unknown } | null)?.uuid
    if (typeof uuid === 'string' && uuid) return uuid
    throw new Error('the answer has no uuid')
  } catch (e) {
    throw new ConfigError('fuxi.conf', [
      `[cinder] volume_connector = openstack needs this instance's Nova id, and the metadata service did not give it (${(e as Error).message}); set [cinder] instance_id`,
    ])
  }
}
