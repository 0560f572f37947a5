import { dirname, join } from 'node:path'
import { messageOf } from '../errors.ts'
import type { CredentialSources } from './sources.ts'

/** A cloud's entry in clouds.yaml: its keys as written (every scalar a string). */
export type CloudEntry = Readonly<Record<string, unknown>>

/** clouds.yaml (and secure.yaml) as found on the search path. */
export interface CloudsFiles {
  /** Where clouds.yaml was looked for, in order. */
  readonly searched: readonly string[]
  /** The clouds.yaml read: the first on the search path that exists. */
  readonly file: string | undefined
  /** The secure.yaml merged over it, when there is one. */
  readonly secureFile: string | undefined
  /** Each cloud's entry, secure.yaml merged over clouds.yaml. */
  readonly clouds: Readonly<Record<string, CloudEntry>>
  /** The keys (dotted: `auth.password`) of each cloud that secure.yaml gave. */
  readonly fromSecure: Readonly<Record<string, readonly string[]>>
  /** Why the files cannot be used (unreadable, or not YAML: with file and line). */
  readonly error?: string
}

/**
 * The OpenStack clients' search path: $OS_CLIENT_CONFIG_FILE, ./clouds.yaml,
 * ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml.
 */
export function cloudsSearchPath(s: CredentialSources): string[] {
  return [
    ...(s.env.OS_CLIENT_CONFIG_FILE ? [s.env.OS_CLIENT_CONFIG_FILE] : []),
    join(s.cwd, 'clouds.yaml'),
    join(s.home, '.config/openstack/clouds.yaml'),
    '/etc/openstack/clouds.yaml',
  ]
}

/**
 * Reads the first clouds.yaml on the search path and merges secure.yaml over it: the one next to
 * it, or $OS_CLIENT_SECURE_FILE. Never throws: a problem is in `error`, and is reported only by
 * a section that uses a cloud. A message never quotes the file's text (it holds passwords).
 */
export async function loadClouds(s: CredentialSources): Promise<CloudsFiles> {
  const searched = cloudsSearchPath(s)
  const none = { searched, file: undefined, secureFile: undefined, clouds: {}, fromSecure: {} }
  let file: string | undefined
  try {
    let text: string | undefined
    for (const f of searched) {
      text = readOrThrow(s, f)
      if (text !== undefined) {
        file = f
        break
      }
    }
    if (file === undefined || text === undefined) return none
    const clouds = await parseCloudsYaml(text, file, true)
    const secureFile = s.env.OS_CLIENT_SECURE_FILE || join(dirname(file), 'secure.yaml')
    const secureText = readOrThrow(s, secureFile)
    if (secureText === undefined) return { ...none, file, clouds, fromSecure: {} }
    const secure = await parseCloudsYaml(secureText, secureFile, false)
    const merged: Record<string, CloudEntry> = { ...clouds }
    const fromSecure: Record<string, string[]> = {}
    for (const [name, entry] of Object.entries(secure)) {
      merged[name] = mergeOver(clouds[name] ?? {}, entry)
      fromSecure[name] = leafKeys(entry)
    }
    return { searched, file, secureFile, clouds: merged, fromSecure }
  } catch (e) {
    return { ...none, file, error: messageOf(e) }
  }
}

function readOrThrow(s: CredentialSources, f: string): string | undefined {
  try {
    return s.readFile(f)
  } catch (e) {
    throw new Error(`cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? messageOf(e)}`)
  }
}

/** The `clouds:` mapping of a clouds.yaml/secure.yaml text; errors name the file and line. */
export async function parseCloudsYaml(
  text: string,
  file: string,
  required: boolean,
): Promise<Record<string, CloudEntry>> {
  const { LineCounter, parseDocument } = await import('./yaml.ts')
  const lines = new LineCounter()
  // failsafe: every scalar stays the string written (ids keep leading zeros; booleans are
  // read by fuxi's own strict rules).
  const doc = parseDocument(text, {
    schema: 'failsafe',
    prettyErrors: false,
    uniqueKeys: true,
    lineCounter: lines,
  })
  const at = (offset: number | undefined) => {
    const p = lines.linePos(offset ?? 0)
    return `${file}:${p.line}:${p.col}`
  }
  const err = doc.errors[0]
  // The parser's message may end by quoting the token it stopped at: a password, maybe.
  if (err) throw new Error(`${at(err.pos[0])}: ${err.message.replace(/:\s*".*"$/s, '')}`)
  let top: unknown
  try {
    top = doc.toJS({ maxAliasCount: 50 })
  } catch (e) {
    throw new Error(`${file}: ${messageOf(e)}`)
  }
  const clouds = isMap(top) ? top.clouds : undefined
  if (clouds === undefined && !required) return {}
  if (!isMap(clouds))
    throw new Error(`${file}: no "clouds:" mapping at the top (see README "Credentials")`)
  for (const [name, entry] of Object.entries(clouds))
    if (!isMap(entry)) {
      const node = doc.getIn(['clouds', name], true) as { range?: [number] } | undefined
      throw new Error(`${at(node?.range?.[0])}: clouds.${name} is not a mapping`)
    }
  return clouds as Record<string, CloudEntry>
}

export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function mergeOver(base: CloudEntry, over: CloudEntry): CloudEntry {
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(over)) {
    const b = out[k]
    out[k] = isMap(b) && isMap(v) ? mergeOver(b, v) : v
  }
  return out
}

function leafKeys(o: CloudEntry, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    isMap(v) ? leafKeys(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  )
}
