import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OpenStackWaitError } from '../../src/errors.ts'
import { WAIT_BACKOFF_MS, waitForStatus } from '../../src/openstack/wait.ts'

/** A resource whose status follows `states` (one per poll), on a fake clock. */
function scripted(states: (string | undefined)[]) {
  let clock = 0
  const slept: number[] = []
  let i = 0
  return {
    slept,
    opts: {
      what: 'Cinder volume v1',
      poll: async () => {
        const s = states[Math.min(i++, states.length - 1)]
        return s === undefined ? undefined : { status: s }
      },
      status: (r: { status: string }) => r.status,
      sleep: async (ms: number) => {
        slept.push(ms)
        clock += ms
      },
      now: () => clock,
    },
  }
}

describe('waiting for a status', () => {
  it('polls with the named backoff until the wanted status', async () => {
    const s = scripted(['creating', 'creating', 'creating', 'downloading', 'available'])
    const seen: string[] = []
    const r = await waitForStatus({
      ...s.opts,
      want: ['available'],
      errorStates: ['error'],
      timeoutMs: 60_000,
      onProgress: (st) => seen.push(st),
    })
    assert.deepEqual(r, { status: 'available' })
    assert.deepEqual(s.slept, WAIT_BACKOFF_MS.slice(0, 4))
    assert.deepEqual(seen, ['creating', 'downloading', 'available'])
  })

  it('an error state ends the wait at once, with the fault message', async () => {
    const s = scripted(['creating', 'error', 'available'])
    await assert.rejects(
      waitForStatus({
        ...s.opts,
        want: ['available'],
        errorStates: ['error'],
        fault: async () => 'No valid backend was found. No weighed backends available',
        timeoutMs: 60_000,
      }),
      (e: unknown) => {
        assert.ok(e instanceof OpenStackWaitError)
        assert.equal(e.code, 'OPENSTACK')
        assert.equal(e.lastStatus, 'error')
        assert.equal(
          e.message,
          'Cinder volume v1 went to "error" instead of available: No valid backend was found. No weighed backends available',
        )
        return true
      },
    )
    assert.equal(s.slept.length, 1)
  })

  it('gives up at the deadline with a TIMEOUT naming the last status', async () => {
    const s = scripted(['attaching'])
    await assert.rejects(
      waitForStatus({ ...s.opts, want: ['in-use'], errorStates: ['error'], timeoutMs: 10_000 }),
      (e: unknown) => {
        assert.ok(e instanceof OpenStackWaitError)
        assert.equal(e.code, 'TIMEOUT')
        assert.match(
          e.message,
          /^Cinder volume v1 is still "attaching" after 10 s \(waited for in-use\)/,
        )
        return true
      },
    )
    assert.equal(
      s.slept.reduce((a, b) => a + b, 0),
      10_000,
      'the last sleep is cut to the deadline',
    )
  })

  it('a resource that disappears is a success only when waiting for a delete', async () => {
    const gone = scripted(['deleting', undefined])
    assert.equal(
      await waitForStatus({
        ...gone.opts,
        want: [],
        errorStates: ['error_deleting'],
        goneIsSuccess: true,
        timeoutMs: 60_000,
      }),
      undefined,
    )
    const vanished = scripted(['creating', undefined])
    await assert.rejects(
      waitForStatus({ ...vanished.opts, want: ['available'], errorStates: [], timeoutMs: 60_000 }),
      /Cinder volume v1 disappeared while waiting for available \(it was creating\)/,
    )
  })
})
