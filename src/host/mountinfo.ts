import { readFile } from 'node:fs/promises'

/** One line of /proc/self/mountinfo, the fields fuxi uses. */
export interface MountEntry {
  mountPoint: string
  fsType: string
  source: string
  /** The device number of the mounted filesystem, "major:minor". */
  dev?: string
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040 ...). */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) =>
    String.fromCharCode(Number.parseInt(oct, 8)),
  )
}

/** Parses /proc/self/mountinfo text (see proc(5)); malformed lines are skipped. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = []
  for (const line of text.split('\n')) {
    if (!line) continue
    const sep = line.indexOf(' - ')
    if (sep < 0) continue
    const left = line.slice(0, sep).split(' ')
    const right = line.slice(sep + 3).split(' ')
    const mountPoint = left[4]
    const fsType = right[0]
    const source = right[1]
    if (mountPoint === undefined || fsType === undefined || source === undefined) continue
    out.push({
      mountPoint: unescapeOctal(mountPoint),
      fsType,
      source: unescapeOctal(source),
      ...(left[2] ? { dev: left[2] } : {}),
    })
  }
  return out
}

export async function readMountInfo(path = '/proc/self/mountinfo'): Promise<MountEntry[]> {
  return parseMountInfo(await readFile(path, 'utf8'))
}
