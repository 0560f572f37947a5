/** Shared by the provider benchmarks: one lifecycle over fuxi's plugin socket, as dockerd drives it. */
import type { Daemon } from '../test/support/daemon.ts'
import { type Call, describeCall } from './counting-proxy.ts'
import { median, now, pct, row } from './stats.ts'
import { pairedRatio, record } from './table.ts'

export type Op = 'Get' | 'Create' | 'Mount' | 'Unmount' | 'Remove'

/**
 * The plugin calls dockerd 20.10 (Debian 12 docker.io) makes for `docker volume create -d fuxi v`,
 * `docker run --rm -v v:/data …`, `docker volume rm v`, recorded through a logging socket in front
 * of fuxi: a Get before Create (answered "not found"), two Gets before Mount and one before
 * Unmount, two before Remove.
 */
export const DOCKERD_PATTERN: readonly { op: Op; cli: string; missing?: true }[] = [
  { op: 'Get', cli: 'volume create', missing: true },
  { op: 'Create', cli: 'volume create' },
  { op: 'Get', cli: 'run' },
  { op: 'Get', cli: 'run' },
  { op: 'Mount', cli: 'run' },
  { op: 'Get', cli: 'run' },
  { op: 'Unmount', cli: 'run' },
  { op: 'Get', cli: 'volume rm' },
  { op: 'Get', cli: 'volume rm' },
  { op: 'Remove', cli: 'volume rm' },
]

export interface StepResult {
  op: Op
  ms: number
  calls: Call[]
}

export interface LifecycleResult {
  ms: number
  steps: StepResult[]
  /** Calls that are not polls. */
  calls: number
  polls: number
  /** Time the service took over all calls, ms. */
  serviceMs: number
}

/** One lifecycle of volume `name` through fuxi in DOCKERD_PATTERN; `log` is the proxy's log. */
export async function lifecycle(
  fuxi: Daemon,
  log: readonly Call[],
  name: string,
  opts: Record<string, string> = { size: '1' },
): Promise<LifecycleResult> {
  const steps: StepResult[] = []
  const t0 = now()
  for (const s of DOCKERD_PATTERN) {
    const from = log.length
    const s0 = now()
    const r = await fuxi.call(`VolumeDriver.${s.op}`, {
      Name: name,
      ...(s.op === 'Create' ? { Opts: opts } : {}),
      ...(s.op === 'Mount' || s.op === 'Unmount' ? { ID: 'bench-container' } : {}),
    })
    const ms = now() - s0
    if (s.missing ? !/not found/.test(r.Err ?? '') : r.Err)
      throw new Error(`${s.op} of ${name}: ${r.Err || 'found, but it should not exist yet'}`)
    steps.push({ op: s.op, ms, calls: log.slice(from) })
  }
  const all = steps.flatMap((s) => s.calls)
  return {
    ms: now() - t0,
    steps,
    calls: all.filter((c) => !c.poll).length,
    polls: all.filter((c) => c.poll).length,
    serviceMs: all.reduce((a, c) => a + (c.ms ?? 0), 0),
  }
}

/** Per plugin call: median time, calls and polls over the rounds. */
export function printSteps(rounds: readonly LifecycleResult[]): void {
  const first = rounds[0]
  if (!first) return
  for (const [i, s] of first.steps.entries()) {
    const at = rounds.map((r) => r.steps[i] as StepResult)
    const calls = at.map((x) => x.calls.filter((c) => !c.poll).length)
    const polls = at.map((x) => x.calls.filter((c) => c.poll).length)
    console.log(
      `  ${`${i + 1}. ${s.op}`.padEnd(12)} median ${pct(
        at.map((x) => x.ms),
        50,
      )
        .toFixed(1)
        .padStart(7)} ms   calls ${pct(calls, 50)} (+${pct(polls, 50)} polls)`,
    )
  }
}

/** The ordered API calls of one lifecycle: which plugin call made each, poll or not, and by whom. */
export function printTrace(r: LifecycleResult): void {
  let n = 0
  for (const [i, s] of r.steps.entries()) {
    let polls: Call[] = []
    const flush = () => {
      if (polls[0])
        console.log(`        ${''.padEnd(10)} ${polls.length} × ${describeCall(polls[0])} (poll)`)
      polls = []
    }
    for (const c of s.calls) {
      if (c.poll && (!polls[0] || describeCall(polls[0]) === describeCall(c))) {
        polls.push(c)
        continue
      }
      flush()
      if (c.poll) polls.push(c)
      else
        console.log(
          `    ${String(++n).padStart(2)}. ${`${s.op}#${i + 1}`.padEnd(10)} ${describeCall(c)}   [${c.via}]`,
        )
    }
    flush()
  }
}

/** The by-hand side of a provider bench: each step's time, each round's total and API calls. */
export function handRounds<S extends string>(steps: readonly S[], log: readonly Call[]) {
  const laps = Object.fromEntries(steps.map((k) => [k, [] as number[]])) as Record<S, number[]>
  const total: number[] = []
  const calls: number[] = []
  return {
    laps,
    total,
    calls,
    /** Starts a round: `lap(step)` after each step, `done()` after the last. */
    start() {
      const from = log.length
      const t0 = now()
      let step = t0
      return {
        lap(k: S) {
          laps[k].push(now() - step)
          step = now()
        },
        done() {
          total.push(now() - t0)
          calls.push(log.slice(from).filter((c) => !c.poll).length)
        },
      }
    },
  }
}

/**
 * A provider bench's report: the by-hand steps, fuxi's steps and lifecycle (with `split`, where
 * the time went), the calls of the last round, then whatever `more` prints; and its two goal rows.
 */
export function reportLifecycles(o: {
  service: 'Cinder' | 'Manila'
  /** "1 GiB ext4", "1 GiB NFS share". */
  what: string
  hand: ReturnType<typeof handRounds<string>>
  rounds: readonly LifecycleResult[]
  split: (serviceMs: number) => string
  maxCalls: number
  more?: () => void
}): void {
  const { hand, rounds, service } = o
  const n = rounds.length
  console.log(`${service} lifecycle by hand (${n} rounds, ${o.what}, non-admin user)`)
  for (const [k, xs] of Object.entries(hand.laps)) row(k, xs)
  row('lifecycle', hand.total, `   calls ${median(hand.calls)} (polls apart)`)
  console.log(`\nThrough fuxi's plugin socket, as dockerd calls it (${n} rounds, interleaved)`)
  printSteps(rounds)
  const fuxiMs = rounds.map((r) => r.ms)
  const fuxiCalls = rounds.map((r) => r.calls)
  const serviceMs = median(rounds.map((r) => r.serviceMs))
  row(
    'lifecycle',
    fuxiMs,
    `   calls ${median(fuxiCalls)} (+${median(rounds.map((r) => r.polls))} polls), in ${service} ${serviceMs.toFixed(0)} ms`,
  )
  console.log(`  split (medians): ${o.split(serviceMs)}`)
  const last = rounds[n - 1]
  if (last) {
    console.log(`\nThe API calls of round ${n} through fuxi, in order (polls grouped):`)
    printTrace(last)
  }
  o.more?.()
  const id = service === 'Cinder' ? 'cinder' : 'manila'
  const life = pairedRatio(hand.total, fuxiMs)
  record({ id: `${id}-lifecycle`, measured: life.text, pass: life.median <= 1.25 })
  const c = pct(fuxiCalls, 50)
  record({
    id: `${id}-calls`,
    measured: `${c} (min–max ${Math.min(...fuxiCalls)}–${Math.max(...fuxiCalls)}; by hand ${median(hand.calls)})`,
    pass: c <= o.maxCalls,
  })
}
