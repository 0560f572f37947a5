import { AsyncLocalStorage } from 'node:async_hooks'
import { randomUUID } from 'node:crypto'

/**
 * One request id per operation, carried through every await of it (as deadline.ts carries the
 * budget): each Docker plugin request gets one, and so does each operation fuxi starts itself (a
 * reconcile pass, a round of heartbeats, building the providers at start). It is on every log
 * line the operation causes (`reqId`, through the logger's mixin) and goes to OpenStack on every
 * call it causes as `X-OpenStack-Request-ID`, the global request id Keystone, Cinder, Manila and
 * Nova log next to their own: `grep req-<uuid>` finds one Docker call in fuxi's log and in the
 * cloud's.
 */
const current = new AsyncLocalStorage<string>()

/**
 * `req-` + a UUID: the only form OpenStack services accept as a caller's global request id
 * (oslo.middleware drops any other).
 */
export function newRequestId(): string {
  return `req-${randomUUID()}`
}

/** Runs `fn` (and everything it awaits or starts) under request id `id`. */
export function withRequestId<T>(id: string, fn: () => T): T {
  return current.run(id, fn)
}

/** Runs `fn` under the current request id, or under a new one when there is none. */
export function inOperation<T>(fn: () => T): T {
  return current.getStore() === undefined ? current.run(newRequestId(), fn) : fn()
}

/** The id of the operation this code runs for; undefined outside one. */
export function currentRequestId(): string | undefined {
  return current.getStore()
}
