import { httpGet } from './net.ts'

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** The samples of a Prometheus text exposition (comments skipped). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c))
    out.push({ name: m[1] as string, labels, value: Number(m[3]) })
  }
  return out
}

/** A scrape of a daemon's /metrics, and a reader of one series (0 when it is absent). */
export async function scrape(address: { host: string; port: number } | undefined) {
  if (!address) throw new Error('metrics are off')
  const res = await httpGet(`http://${address.host}:${address.port}/metrics`)
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${res.body}`)
  const samples = parseExposition(res.body)
  return {
    text: res.body,
    contentType: res.contentType,
    samples,
    /** The sum of the samples named `name` whose labels include `labels`. */
    value(name: string, labels: Record<string, string> = {}): number {
      return samples
        .filter(
          (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
        )
        .reduce((n, s) => n + s.value, 0)
    },
  }
}
