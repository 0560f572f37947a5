/**
 * The goals table `npm run bench` ends with: one row per goal with the figure measured and PASS or
 * MISS. Each bench records its rows (printed at its end, and appended to $BENCH_TABLE when
 * scripts/bench.sh runs them all); `node --import tsx bench/table.ts FILE` prints them together.
 */
import { appendFileSync, readFileSync } from 'node:fs'
import { pct } from './stats.ts'

export interface Row {
  /** Key of the row in ROWS (its place in the table). */
  id: RowId
  measured: string
  pass: boolean
}

/** Every row of the table, in order: what is measured and its goal. */
export const ROWS = {
  'local-up': {
    what: 'local: Create+first Mount / the same by hand',
    goal: '≤ 1.5×',
  },
  'local-down': {
    what: 'local: last Unmount+Remove / the same by hand',
    goal: '≤ 1.5×',
  },
  'cinder-lifecycle': {
    what: 'Cinder lifecycle through fuxi (dockerd calls) / by hand',
    goal: '≤ 1.25×',
  },
  'cinder-calls': {
    what: 'Cinder API calls per lifecycle, polls excluded',
    goal: '≤ 6',
  },
  'manila-lifecycle': {
    what: 'Manila lifecycle through fuxi (dockerd calls) / by hand',
    goal: '≤ 1.25×',
  },
  'manila-calls': {
    what: 'Manila API calls per lifecycle, polls excluded',
    goal: '≤ 5',
  },
  'cinder-list': {
    what: "cold List of 200 Cinder volumes / Cinder's detail list",
    goal: '≤ 1.1×',
  },
  rss: {
    what: 'daemon RSS after 3,000 ops (local), at 1k/2k/3k',
    goal: '≤ 100 MB, flat',
  },
  'cold-start': {
    what: 'cold start to first Activate / node -e 0',
    goal: '≤ 2.5×',
  },
} as const
export type RowId = keyof typeof ROWS

/** Paired ratios (fuxi_i / hand_i): median with min–max and interquartile range. */
export function pairedRatio(hand: readonly number[], fuxi: readonly number[]) {
  const r = hand.map((h, i) => (fuxi[i] ?? Number.NaN) / h)
  const median = pct(r, 50)
  return {
    median,
    text: `${median.toFixed(2)}× (min–max ${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}, IQR ${pct(r, 25).toFixed(2)}–${pct(r, 75).toFixed(2)}, n=${r.length})`,
  }
}

/** Records a row: kept for this bench's own table, and appended to $BENCH_TABLE when set. */
const mine: Row[] = []
export function record(row: Row): void {
  mine.push(row)
  if (process.env.BENCH_TABLE) appendFileSync(process.env.BENCH_TABLE, `${JSON.stringify(row)}\n`)
}

export function printTable(rows: readonly Row[], o: { all?: boolean } = {}): number {
  const by = new Map(rows.map((r) => [r.id, r]))
  const ids = (Object.keys(ROWS) as RowId[]).filter((id) => o.all || by.has(id))
  const w = Math.max(...ids.map((id) => ROWS[id].what.length))
  const g = Math.max(...ids.map((id) => ROWS[id].goal.length))
  console.log(`\n  ${'what'.padEnd(w)}  ${'goal'.padEnd(g)}  result  measured`)
  let misses = 0
  for (const id of ids) {
    const r = by.get(id)
    const verdict = r ? (r.pass ? 'PASS' : 'MISS') : '----'
    if (!r?.pass) misses++
    console.log(
      `  ${ROWS[id].what.padEnd(w)}  ${ROWS[id].goal.padEnd(g)}  ${verdict.padEnd(6)}  ${r?.measured ?? 'not measured (that bench did not run or failed)'}`,
    )
  }
  return misses
}

/** This bench's rows. */
export const printMine = () => printTable(mine)

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2]
  const rows = file
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Row)
    : []
  console.log(
    `\nfuxi bench: goals (${new Date().toISOString().slice(0, 10)}, node ${process.version})`,
  )
  const misses = printTable(rows, { all: true })
  console.log(`\n  ${Object.keys(ROWS).length - misses} PASS, ${misses} MISS or not measured`)
  if (process.env.BENCH_STRICT === '1' && misses) process.exitCode = 1
}
