import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BUDGET_MS, remainingMs, withDeadline } from '../../src/deadline.ts'
import { OpenStackHttpError, OpenStackWaitError } from '../../src/errors.ts'
import { createTransport } from '../../src/openstack/transport.ts'
import { waitForStatus } from '../../src/openstack/wait.ts'
import { callPlugin } from '../../src/protocol/client.ts'
import { createLocalProvider } from '../../src/providers/local/local-provider.ts'
import { buildApp } from '../support/build.ts'
import { sampleServer } from '../support/sample-server.ts'
import { memoryLogger } from '../support/tmp.ts'

describe('per-operation deadline', () => {
  it('cuts an OpenStack call short when the operation must answer sooner, and says so', async (t) => {
    const srv = await sampleServer(t, () => {}) // never answers
    const transport = createTransport({ timeoutMs: 30_000, log: memoryLogger().log })
    const t0 = Date.now()
    const err = await withDeadline(300, 'Mount of pgdata', () =>
      transport.request({ service: 'volumev3', method: 'GET', url: `${srv.base}/x` }),
    ).catch((e: unknown) => e)
    const took = Date.now() - t0
    assert.ok(err instanceof OpenStackHttpError, String(err))
    assert.match(err.message, /no answer in time: Mount of pgdata has used its 300 ms budget/)
    assert.ok(took < 2000, `took ${took} ms (its own timeout is 30 s)`)
    assert.equal(srv.seen.length, 1, 'no retry that cannot finish in time')
  })

  it('ends a wait at the budget, naming it, and leaves waits outside an operation alone', async () => {
    const poll = async () => ({ status: 'attaching' })
    const base = {
      what: 'Cinder volume v1',
      poll,
      status: (r: { status: string }) => r.status,
      want: ['in-use'],
      errorStates: ['error'],
      delays: [20],
    }
    const t0 = Date.now()
    const err = await withDeadline(250, 'Create of db', () =>
      waitForStatus({ ...base, timeoutMs: 60_000 }),
    ).catch((e: unknown) => e)
    assert.ok(err instanceof OpenStackWaitError)
    assert.equal(err.code, 'TIMEOUT')
    assert.match(err.message, /still "attaching".*Create of db has used its 250 ms budget/)
    assert.ok(Date.now() - t0 < 1500)
    const own = await waitForStatus({ ...base, timeoutMs: 100 }).catch((e: unknown) => e)
    assert.match(String(own), /the service may be overloaded/, 'its own timeout: no budget note')
    assert.equal(remainingMs(), Number.POSITIVE_INFINITY)
  })

  it("gives each of dockerd's calls its budget: Create and Mount 120 s less margins, the rest 60 s", async (t) => {
    const seen: Record<string, number> = {}
    const { app, dir } = await buildApp(t, {
      providers: (host) => {
        const local = createLocalProvider(
          { dir: '/nonexistent-fuxi-test', defaults: { size: 1, maxSize: 1, fstype: 'ext4' } },
          { host, log: memoryLogger().log },
        )
        return [
          {
            ...local,
            parseOptions: (o) => o,
            create: async (name) => {
              seen.Create = remainingMs()
              return { name, createdAt: new Date().toISOString(), options: {} }
            },
            remove: async () => {
              seen.Remove = remainingMs()
            },
            inspect: async (targets) => {
              seen.Reconcile = remainingMs()
              return local.inspect(targets)
            },
          },
        ]
      },
    })
    await app.listen()
    const sock = `${dir}/fuxi.sock`
    assert.equal((await callPlugin(sock, 'VolumeDriver.Create', { Name: 'd1', Opts: {} })).Err, '')
    assert.equal((await callPlugin(sock, 'VolumeDriver.Remove', { Name: 'd1' })).Err, '')
    await callPlugin(sock, 'VolumeDriver.Create', { Name: 'd2', Opts: {} })
    assert.equal((await callPlugin(sock, 'Fuxi.Reconcile')).Err, '')
    assert.equal(
      seen.Reconcile,
      Number.POSITIVE_INFINITY,
      "an admin reconcile is not dockerd's call: no budget",
    )
    const within = (v: number | undefined, budget: number) =>
      v !== undefined && v <= budget && v > budget - 2000
    assert.ok(within(seen.Create, BUDGET_MS.create), `Create: ${seen.Create}`)
    assert.ok(within(seen.Remove, BUDGET_MS.other), `Remove: ${seen.Remove}`)
    assert.ok(BUDGET_MS.mount + BUDGET_MS.rollback <= 120_000 - 5_000)
  })
})
