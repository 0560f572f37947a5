import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import type { OpContext, VolumeProvider } from '../../src/volumes/provider.ts'
import type { MountStep } from '../../src/volumes/record.ts'
import { memoryLogger } from '../support/tmp.ts'

export interface ProviderUnderTest {
  provider: VolumeProvider
  /** Where the contract may put mountpoints. */
  mountRoot: string
  /** Create options valid for this provider. */
  createOptions: Record<string, string>
}

export interface ContractOptions {
  /** False for providers of filesystems (shares) that fuxi never formats. */
  formats?: boolean
  /** Extra cases for this implementation (run in the same describe). */
  additionalTests?: (make: (t: TestContext) => Promise<ProviderUnderTest>) => void
}

export function testContext(): OpContext & { steps: MountStep[] } {
  const steps: MountStep[] = []
  return { log: memoryLogger().log, steps, step: async (s) => void steps.push(s) }
}

/** Behaviour every VolumeProvider must show; run by each provider's tests. */
export function providerContract(
  label: string,
  make: (t: TestContext) => Promise<ProviderUnderTest>,
  opts: ContractOptions = {},
) {
  describe(`provider contract: ${label}`, () => {
    it('rejects unknown options, naming the valid ones, without side effects', async (t) => {
      const { provider } = await make(t)
      assert.throws(
        () => provider.parseOptions({ bogus: '1' }),
        (e: Error) => /unknown option "bogus"/.test(e.message) && /valid options: /.test(e.message),
      )
      assert.deepEqual(await provider.list(), [])
    })

    it('creates idempotently and lists what it created', async (t) => {
      const { provider, createOptions } = await make(t)
      const options = provider.parseOptions(createOptions)
      const a = await provider.create('c1', options)
      const b = await provider.create('c1', options)
      assert.deepEqual(a, b)
      assert.match(a.createdAt, /Z$/)
      assert.deepEqual(
        (await provider.list()).map((v) => v.name),
        ['c1'],
      )
      assert.equal((await provider.get('c1'))?.name, 'c1')
      assert.equal(await provider.get('other'), undefined)
    })

    it('mounts idempotently, unmounts idempotently, and detaches fully', async (t) => {
      const { provider, mountRoot, createOptions } = await make(t)
      await provider.create('m1', provider.parseOptions(createOptions))
      const mp = `${mountRoot}/m1`
      const dev1 = await provider.mount('m1', mp, testContext())
      const dev2 = await provider.mount('m1', mp, testContext())
      assert.equal(dev1, dev2)
      const st = (await provider.inspect([{ name: 'm1', mountpoint: mp }])).get('m1')
      assert.equal(st?.mounted, true)
      await provider.unmount('m1', mp, testContext())
      await provider.unmount('m1', mp, testContext())
      assert.deepEqual((await provider.inspect([{ name: 'm1', mountpoint: mp }])).get('m1'), {
        mounted: false,
        held: [],
      })
    })

    it(
      opts.formats === false
        ? 'never formats'
        : 'records the formatting step before formatting, and formats only once',
      async (t) => {
        const { provider, mountRoot, createOptions } = await make(t)
        await provider.create('f1', provider.parseOptions(createOptions))
        const first = testContext()
        await provider.mount('f1', `${mountRoot}/f1`, first)
        await provider.unmount('f1', `${mountRoot}/f1`, first)
        const second = testContext()
        await provider.mount('f1', `${mountRoot}/f1`, second)
        await provider.unmount('f1', `${mountRoot}/f1`, second)
        assert.equal(
          first.steps.includes('formatting'),
          opts.formats !== false,
          `steps: ${first.steps}`,
        )
        assert.ok(!second.steps.includes('formatting'), `steps: ${second.steps}`)
      },
    )

    it('removes idempotently', async (t) => {
      const { provider, createOptions } = await make(t)
      await provider.create('r1', provider.parseOptions(createOptions))
      await provider.remove('r1')
      await provider.remove('r1')
      assert.equal(await provider.get('r1'), undefined)
      assert.deepEqual(await provider.list(), [])
    })

    opts.additionalTests?.(make)
  })
}
