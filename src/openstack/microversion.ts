/** Microversions ("3.44") and the version documents services answer at their root URL. */

export type Microversion = readonly [major: number, minor: number]

export function parseMicroversion(v: string): Microversion | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim())
  return m ? [Number(m[1]), Number(m[2])] : undefined
}

export function compareMicroversions(a: Microversion, b: Microversion): number {
  return a[0] - b[0] || a[1] - b[1]
}

export const formatMicroversion = (v: Microversion): string => `${v[0]}.${v[1]}`

/** What a service supports for one major API version; `undefined` range: no microversions. */
export interface VersionRange {
  min: Microversion
  max: Microversion
}

/**
 * The root URL serving the version document, and the major version, of a versioned endpoint:
 * `https://cloud/volume/v3/<project>` → `https://cloud/volume/`, 3.
 */
export function versionRoot(endpoint: string): { root: string; major: number } | undefined {
  const url = new URL(endpoint)
  const m = /^(.*?\/)v(\d+)(?:\.\d+)?(?:\/.*)?$/.exec(url.pathname)
  if (!m) return undefined
  url.pathname = m[1] as string
  url.search = ''
  return { root: url.toString(), major: Number(m[2]) }
}

interface VersionEntry {
  id?: string
  status?: string
  version?: string
  min_version?: string
}

/**
 * From `{"versions": [{"id": "v3.0", "version": "3.70", "min_version": "3.0"}, ...]}` (or
 * `{"version": {...}}`), the microversion range of the given major version. `null`: the major
 * version is listed without microversions (everything is its base version); `undefined`: not listed.
 */
export function rangeFromVersionDocument(
  doc: unknown,
  major: number,
): VersionRange | null | undefined {
  const d = doc as {
    versions?: VersionEntry[] | { values?: VersionEntry[] }
    version?: VersionEntry
  }
  const list: VersionEntry[] = Array.isArray(d?.versions)
    ? d.versions
    : Array.isArray(d?.versions?.values)
      ? d.versions.values
      : d?.version
        ? [d.version]
        : []
  const entries = list.filter((v) => {
    const m = /^v(\d+)(?:\.\d+)?$/.exec(v.id ?? '')
    return m && Number(m[1]) === major
  })
  if (!entries.length) return undefined
  // Nova lists v2.0 (no microversions) and v2.1 (microversions) under one major: take the latter.
  for (const entry of entries) {
    const max = parseMicroversion(entry.version ?? '')
    const min = parseMicroversion(entry.min_version ?? '')
    if (max && min) return { min, max }
  }
  return null
}
