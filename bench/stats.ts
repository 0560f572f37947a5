import { randomBytes } from 'node:crypto'
/** Shared by the benchmarks: timing and one printed row per measurement. */
export const now = () => performance.now()
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? Number.NaN
}
export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? Number.NaN
}
export const fmt = (x: number) => `${x.toFixed(2)} ms`
export const row = (label: string, xs: number[], extra = '') =>
  console.log(
    `  ${label.padEnd(38)} median ${fmt(median(xs)).padStart(10)}   p90 ${fmt(pct(xs, 90)).padStart(10)}   (n=${xs.length})${extra}`,
  )
/** Runs `f`, adding how long it took to `xs`. */
export const timed = async <T>(xs: number[], f: () => Promise<T> | T): Promise<T> => {
  const t0 = now()
  const r = await f()
  xs.push(now() - t0)
  return r
}

/** A bench's seed: from the environment variable `name` (to replay a run), else a random one. */
export function seedFrom(name: string): number {
  const v = process.env[name]
  return v !== undefined ? Number(v) >>> 0 : randomBytes(4).readUInt32LE(0)
}
