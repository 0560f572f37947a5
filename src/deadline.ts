import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * One deadline per plugin request, carried through every await of its handling (no parameter
 * threading): OpenStack calls and waits take the smaller of their own timeout and what is left, so
 * an operation answers dockerd before dockerd gives up (120 s for Create and Mount, 60 s for the
 * others). Work cut short leaves a state the next call finishes (the journal and records say where
 * it stopped).
 */
interface Deadline {
  readonly at: number
  /** For messages: "Mount of pgdata". */
  readonly what: string
  readonly budgetMs: number
}

const current = new AsyncLocalStorage<Deadline>()

/** dockerd's own timeouts for plugin calls, less a margin for the answer to reach it. */
export const BUDGET_MS = {
  /** Create and Mount: dockerd waits 120 s. Mount keeps 20 s of those for a rollback. */
  create: 110_000,
  mount: 95_000,
  /** Every other call: dockerd waits 60 s. */
  other: 55_000,
  /** Undoing a failed mount's steps, after its budget ran out. */
  rollback: 20_000,
} as const

export function withDeadline<T>(budgetMs: number, what: string, fn: () => Promise<T>): Promise<T> {
  return current.run({ at: Date.now() + budgetMs, what, budgetMs }, fn)
}

/** Milliseconds left of the current operation's budget (Infinity outside one). */
export function remainingMs(): number {
  const d = current.getStore()
  return d ? d.at - Date.now() : Number.POSITIVE_INFINITY
}

/** `ms`, or less when the current operation's budget ends sooner (never below 0). */
export function capToDeadline(ms: number): number {
  return Math.max(0, Math.min(ms, remainingMs()))
}

/**
 * For an error when a timeout was cut short by the budget: "Mount of pgdata has used its 95 s
 * budget …". Undefined outside an operation.
 */
export function deadlineNote(): string | undefined {
  const d = current.getStore()
  if (!d) return undefined
  const budget = d.budgetMs >= 1000 ? `${Math.round(d.budgetMs / 1000)} s` : `${d.budgetMs} ms`
  return `${d.what} has used its ${budget} budget (dockerd stops waiting soon after); the next call finishes the job`
}
