/** One volume as `fuxi ls` shows it. */
export interface LsVolume {
  readonly name: string
  readonly status: Readonly<Record<string, unknown>>
}

/** `fuxi ls`: a table, one row per volume, columns as wide as their widest cell. */
export function lsTable(volumes: readonly LsVolume[]): string {
  const rows = [['NAME', 'PROVIDER', 'SIZE', 'FSTYPE', 'MOUNTED', 'REFS', 'PHASE']]
  for (const { name, status: s } of volumes)
    rows.push([
      name,
      String(s.provider ?? ''),
      s.size ? `${s.size}G` : '',
      String(s.fstype ?? ''),
      s.mounted ? 'yes' : 'no',
      String(s.refs ?? ''),
      String(s.phase ?? ''),
    ])
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows
    .map(
      (r) =>
        `${r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('')
}
