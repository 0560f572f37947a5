import { InvalidRequestError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { VolumeRecord } from './record.ts'
import { mountpointOf, msSince, type VolumeDeps } from './volume-deps.ts'

/** The largest size `fuxi resize` asks for, as Create's options allow. */
const MAX_GIB = 65536

/** `fuxi resize NAME SIZE`: a whole number of GiB. */
export function parseResizeSize(raw: unknown): number {
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : ''
  const gib = text.replace(/G(iB)?$/i, '')
  if (!/^\d+$/.test(gib) || Number(gib) < 1 || Number(gib) > MAX_GIB)
    throw new InvalidRequestError(
      `invalid size ${JSON.stringify(raw)}: give the new size as a whole number of GiB from 1 to ${MAX_GIB} (e.g. fuxi resize pgdata 20)`,
      'INVALID_OPTION',
    )
  return Number(gib)
}

/**
 * Grows a volume under its lock (the caller holds it): the provider grows the storage, and the
 * filesystem online when this host has it mounted; the record keeps the new size.
 */
export async function resizeRecord(
  d: VolumeDeps,
  rec: VolumeRecord,
  size: number,
  log: Logger,
): Promise<string> {
  const provider = d.providers.of(rec)
  if (!provider.resize)
    throw new InvalidRequestError(
      `volume "${rec.name}" is a ${rec.provider} volume: fuxi cannot resize those yet (local volumes it can)`,
    )
  const t0 = performance.now()
  const mounted = rec.device !== null
  const options = await provider.resize(
    rec.name,
    size,
    mounted ? mountpointOf(d, rec) : undefined,
    log,
  )
  const now = options.size ?? String(size)
  await d.store.save({ ...d.store.require(rec.name), options: { ...rec.options, size: now } })
  log.info({ size: now, mounted, ms: msSince(t0), outcome: 'ok' }, 'volume resized')
  return now
}
