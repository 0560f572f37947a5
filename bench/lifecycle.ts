/** Shared by the provider benchmarks: one lifecycle over fuxi's plugin socket, as dockerd drives it. */
import type { Daemon } from '../test/support/daemon.ts'
import { type Call, describeCall } from './counting-proxy.ts'
import { now, pct } from './stats.ts'

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
    serviceMs: all.reduce((a, c) => a + c.ms, 0),
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
