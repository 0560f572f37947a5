import { capToDeadline, deadlineNote } from '../deadline.ts'
import { OpenStackWaitError } from '../errors.ts'

/** Polling delays while waiting for a status: every 50 ms at first (Cinder answers in ~200 ms), then every 2 s. */
export const WAIT_BACKOFF_MS = [50, 50, 100, 100, 200, 400, 800, 1500, 2000] as const

export interface WaitOptions<T> {
  /** For messages: 'Cinder volume 73eb…'. */
  what: string
  /** Fetches the resource; `undefined` means it is gone. */
  poll: () => Promise<T | undefined>
  status: (r: T) => string
  /** The statuses that end the wait successfully. */
  want: readonly string[]
  /** Statuses that end the wait early, as failures. */
  errorStates: readonly string[]
  /** The resource's own account of a failure (a fault message, a user message), if it has one. */
  fault?: (r: T) => Promise<string | undefined> | string | undefined
  /** `true`: the resource disappearing is the success (waiting for a delete). */
  goneIsSuccess?: boolean
  timeoutMs: number
  delays?: readonly number[]
  sleep?: (ms: number) => Promise<void>
  now?: () => number
  onProgress?: (status: string, elapsedMs: number) => void
}

/**
 * Polls until the resource reaches one of `want`, fails (error state, or gone), or the deadline
 * passes. Returns the last state read (`undefined` when it is gone and that was wanted).
 */
export async function waitForStatus<T>(o: WaitOptions<T>): Promise<T | undefined> {
  const now = o.now ?? Date.now
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const delays = o.delays ?? WAIT_BACKOFF_MS
  const start = now()
  const timeoutMs = capToDeadline(o.timeoutMs)
  let last: string | undefined
  for (let i = 0; ; i++) {
    const r = await o.poll()
    if (r === undefined) {
      if (o.goneIsSuccess) return undefined
      throw new OpenStackWaitError(
        'OPENSTACK',
        `${o.what} disappeared while waiting for ${o.want.join(' or ')}${last ? ` (it was ${last})` : ''}`,
        last,
      )
    }
    const status = o.status(r)
    if (status !== last) o.onProgress?.(status, now() - start)
    last = status
    if (o.want.includes(status)) return r
    if (o.errorStates.includes(status)) {
      const fault = await o.fault?.(r)
      throw new OpenStackWaitError(
        'OPENSTACK',
        `${o.what} went to "${status}" instead of ${o.want.join(' or ')}${fault ? `: ${fault}` : ' (the service gave no reason; its logs will have one)'}`,
        status,
      )
    }
    const elapsed = now() - start
    if (elapsed >= timeoutMs) {
      const spent = timeoutMs < o.timeoutMs ? deadlineNote() : undefined
      throw new OpenStackWaitError(
        'TIMEOUT',
        `${o.what} is still "${status}" after ${Math.round(elapsed / 1000)} s (waited for ${o.want.join(' or ')}); ${spent ?? 'the service may be overloaded or its backend down'}`,
        status,
      )
    }
    const delay = delays[Math.min(i, delays.length - 1)] as number
    await sleep(Math.min(delay, Math.max(0, timeoutMs - elapsed)))
  }
}

/** Options a caller of a resource wait may set (the rest comes from the resource kind). */
export type ResourceWaitOptions<T> = Pick<
  WaitOptions<T>,
  'timeoutMs' | 'goneIsSuccess' | 'onProgress' | 'fault' | 'delays'
>

/**
 * A wait for one kind of resource read with `get` ("Cinder volume", its error states): shared by
 * a client and the test fake of it, so both end a wait the same way.
 */
export function resourceWait<T extends { status: string }>(
  kind: string,
  errorStates: readonly string[],
) {
  return (
    get: (id: string) => Promise<T | undefined>,
    id: string,
    want: readonly string[],
    o: ResourceWaitOptions<T>,
  ): Promise<T | undefined> =>
    waitForStatus({
      what: `${kind} ${id}`,
      poll: () => get(id),
      status: (r) => r.status,
      want,
      errorStates,
      ...o,
    })
}
