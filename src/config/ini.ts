/** One `key = value` of an INI file, with where it came from. */
export interface IniEntry {
  section: string
  key: string
  value: string
  line: number
}

export interface IniParse {
  entries: IniEntry[]
  sections: { name: string; line: number }[]
  problems: string[]
}

/**
 * oslo.config-style INI: `[section]`, `key = value` or `key: value`, `#`/`;` comment lines,
 * indented continuation lines, matching surrounding quotes stripped. Keys before any section
 * belong to DEFAULT. Line numbers are kept so errors can point at the file.
 */
export function parseIni(text: string, file: string): IniParse {
  const entries: IniEntry[] = []
  const sections: { name: string; line: number }[] = []
  const problems: string[] = []
  let section = 'DEFAULT'
  let last: IniEntry | undefined
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1
    if (/^\s*([#;].*)?$/.test(raw)) return
    if (/^\s/.test(raw) && last) {
      last.value = `${last.value}\n${raw.trim()}`
      return
    }
    const header = /^\[([^\]]*)\]\s*$/.exec(raw)
    if (header) {
      section = (header[1] ?? '').trim()
      sections.push({ name: section, line })
      last = undefined
      return
    }
    const kv = /^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/.exec(raw)
    if (!kv) {
      problems.push(
        `${file}:${line}: cannot read "${raw.trim()}": expected "key = value" or "[section]"`,
      )
      return
    }
    last = { section, key: (kv[1] ?? '').trim(), value: unquote((kv[2] ?? '').trim()), line }
    entries.push(last)
  })
  return { entries, sections, problems }
}

function unquote(v: string): string {
  const q = v[0]
  return (q === '"' || q === "'") && v.length >= 2 && v.endsWith(q) ? v.slice(1, -1) : v
}
