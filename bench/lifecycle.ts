/** Shared by the provider benchmarks: one lifecycle over fuxi's plugin socket, measured per step. */
import type { Daemon } from '../test/support/daemon.ts'
import type { ProxyEntry } from '../test/support/fault-proxy.ts'
import { median, now, row } from './stats.ts'

export const STEPS = ['Create', 'Mount', 'Unmount', 'Remove'] as const
export type Step = (typeof STEPS)[number]

export interface StepFigures {
  ms: number[]
  /** OpenStack calls that are not polls. */
  calls: number[]
  polls: number[]
  /** Time the service itself took, as the counting proxy saw it. */
  serviceMs: number[]
}

/**
 * Runs `rounds` lifecycles (create → mount → unmount → remove of volume b<i>) through the plugin
 * socket, attributing the calls the proxy in front of the service saw to each step. `polls` says
 * which of a step's calls were polls.
 */
export async function lifecycles(
  fuxi: Daemon,
  proxyLog: ProxyEntry[],
  rounds: number,
  polls: (entries: ProxyEntry[]) => number,
): Promise<Record<Step, StepFigures>> {
  const by = Object.fromEntries(
    STEPS.map((s) => [s, { ms: [], calls: [], polls: [], serviceMs: [] } as StepFigures]),
  ) as Record<Step, StepFigures>
  for (let i = 0; i < rounds; i++) {
    for (const step of STEPS) {
      const from = proxyLog.length
      const t0 = now()
      const r = await fuxi.call(`VolumeDriver.${step}`, {
        Name: `b${i}`,
        ID: 'bench',
        Opts: { size: '1' },
      })
      const ms = now() - t0
      if (r.Err) throw new Error(`${step}: ${r.Err}`)
      const entries = proxyLog.slice(from)
      const p = polls(entries)
      by[step].ms.push(ms)
      by[step].polls.push(p)
      by[step].calls.push(entries.length - p)
      by[step].serviceMs.push(entries.reduce((a, e) => a + (e.ms ?? 0), 0))
    }
  }
  return by
}

/** Prints the per-step rows and the lifecycle line; returns the medians summed. */
export function report(
  by: Record<Step, StepFigures>,
  o: { rounds: number; service: string; handMs: number; handCalls: number },
) {
  console.log(`\nThe same through fuxi's plugin socket (${o.rounds} rounds)`)
  let calls = 0
  let total = 0
  let service = 0
  for (const step of STEPS) {
    const st = by[step]
    calls += median(st.calls)
    total += median(st.ms)
    service += median(st.serviceMs)
    row(
      step,
      st.ms,
      `   calls ${median(st.calls)} (+${median(st.polls)} polls), in ${o.service} ${median(st.serviceMs).toFixed(0)} ms`,
    )
  }
  console.log(
    `  lifecycle: ${total.toFixed(0)} ms vs ${o.handMs.toFixed(0)} ms by hand (${(total / o.handMs).toFixed(2)}x, target ≤ 1.25x); ${calls} non-poll ${o.service} calls (by hand: ${o.handCalls})`,
  )
  return { total, service }
}
