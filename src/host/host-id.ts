import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '../log.ts'
import { writeFileAtomic } from './files.ts'

/** What a host id may look like: it goes into Cinder attachments and metadata keys. */
export const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/

const FILE = 'host-id'

/** The file's content: the id, and the machine it was made on. */
interface Stored {
  id: string
  machineId: string
}

/**
 * This host's stable identity in the cloud: every attachment, access-rule marker and create
 * marker fuxi writes names it, so hosts that share a hostname (VMs cloned from one image) never
 * take each other's volumes for their own. `[DEFAULT] host_id` sets it; otherwise it is made once
 * (`<hostname>-<8 hex>`) and kept in `<state_dir>/host-id`. A state directory copied to another
 * machine (a different /etc/machine-id) gets a new one.
 */
export async function hostIdentity(o: {
  stateDir: string
  configured: string
  log: Logger
  /** Tests: the machine id and host name to use. */
  machineId?: string
  hostname?: string
}): Promise<string> {
  if (o.configured) return o.configured // checked against HOST_ID by the config schema
  const machineId = o.machineId ?? (await readMachineId())
  const file = join(o.stateDir, FILE)
  const stored = await readStored(file)
  if (stored && HOST_ID.test(stored.id) && (stored.machineId === machineId || !machineId))
    return stored.id
  const id = makeHostId(o.hostname ?? hostname())
  if (stored)
    o.log.warn(
      { old: stored.id, id, file },
      'the state directory was made on another machine (its machine id differs): this host gets a new host id',
    )
  await writeFileAtomic(file, `${JSON.stringify({ id, machineId } satisfies Stored)}\n`)
  o.log.info({ hostId: id, file }, 'made this host an id')
  return id
}

/** `<hostname>-<8 hex>`, the host name cut and cleaned to fit HOST_ID. */
export function makeHostId(host: string): string {
  const base = host
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 40)
  return `${base || 'host'}-${randomBytes(4).toString('hex')}`
}

async function readStored(file: string): Promise<Stored | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<Stored>
    return typeof parsed.id === 'string'
      ? { id: parsed.id, machineId: String(parsed.machineId ?? '') }
      : undefined
  } catch {
    return undefined
  }
}

async function readMachineId(): Promise<string> {
  for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    const id = await readFile(f, 'utf8').then(
      (t) => t.trim(),
      () => '',
    )
    if (id) return id
  }
  return ''
}

/** The id kept in `<stateDir>/host-id`, if fuxi has made one there (nothing is made here). */
export async function storedHostId(stateDir: string): Promise<string | undefined> {
  const stored = await readStored(join(stateDir, FILE))
  return stored && HOST_ID.test(stored.id) ? stored.id : undefined
}
