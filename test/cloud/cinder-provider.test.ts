import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { it, type TestContext } from 'node:test'
import { hostConnectorProperties } from '../../src/connectors/connector.ts'
import { localConnector } from '../../src/connectors/local.ts'
import { VolumeInUseError } from '../../src/errors.ts'
import { createExec } from '../../src/host/exec.ts'
import { createLinuxHost } from '../../src/host/linux-host.ts'
import { CinderClient } from '../../src/openstack/cinder.ts'
import { createCinderProvider } from '../../src/providers/cinder/cinder-provider.ts'
import { providerContract, testContext } from '../contract/provider-contract.ts'
import { cloudSession, devcloudAuth, uniqueName } from '../support/devcloud.ts'
import { cleanupUnder, leaksUnder, loopsOf } from '../support/host-cleanup.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

const DEFAULTS = {
  size: 1,
  fstype: 'ext4',
  volumeType: '',
  availabilityZone: '',
  multiattach: false,
}

/**
 * The Cinder provider on this host against the dev cloud, as the non-admin user, with its own
 * `volume_from` (so tests running at once do not see each other's volumes). `hostName` stands for
 * another Docker host attaching the same volumes.
 */
async function make(
  t: TestContext,
  o: { volumeFrom?: string; hostName?: string; dir?: string } = {},
) {
  const host = createLinuxHost(createExec())
  const api = new CinderClient(cloudSession(devcloudAuth('openrc-demo')))
  const volumeFrom = o.volumeFrom ?? uniqueName('from')
  const side = o.hostName ?? 'here'
  let cleanup = async () => {}
  const dir =
    o.dir ??
    (await tmpDir(t, 'fuxi-cinder-', async () => {
      try {
        await cleanup()
      } finally {
        cleanupUnder(dir)
      }
    }))
  const connector = {
    ...hostConnectorProperties('test-host', '127.0.0.1'),
    ...(o.hostName ? { host: o.hostName } : {}),
  }
  const provider = createCinderProvider(
    {
      volumeFrom,
      allTenants: false,
      defaults: DEFAULTS,
      connector,
      stateDir: `${dir}/state-${side}`,
    },
    { api, host, connectors: [localConnector(host)], log: memoryLogger().log },
  )
  const mountRoot = `${dir}/mnt-${side}`
  // Runs before the temp dir goes (a live mount inside it would be emptied by rm -r): unmount,
  // detach and delete every volume of this volume_from, then prove nothing is left.
  cleanup = async () => {
    const ids = (await api.listVolumes({ metadata: { volume_from: volumeFrom } })).map((v) => v.id)
    for (const v of await provider.list()) {
      await provider.unmount(v.name, `${mountRoot}/${v.name}`, testContext()).catch(() => {})
      await provider.remove(v.name)
    }
    assert.deepEqual(leaksUnder(dir), { mounts: [], loops: [] })
    assert.deepEqual(loopsOf(ids), [], 'no loop device of a deleted volume is left')
  }
  return {
    provider,
    api,
    host,
    dir,
    volumeFrom,
    mountRoot,
    hostId: connector.host,
    createOptions: { size: '1' },
  }
}

providerContract('cinder (dev cloud, real host)', (t) => make(t), {
  additionalTests: () => {
    it('keeps data across unmount and remount; Status shows the Cinder side', async (t) => {
      const { provider, mountRoot } = await make(t)
      await provider.create('data', provider.parseOptions({ size: '1' }))
      const mp = `${mountRoot}/data`
      await provider.mount('data', mp, testContext())
      await writeFile(`${mp}/hello`, 'from fuxi')
      const status = provider.describe('data')
      assert.equal(status.cinder_status, 'in-use')
      assert.equal(status.formatted, true)
      assert.ok(Array.isArray(status.attached_to) && status.attached_to.length === 1)
      await provider.unmount('data', mp, testContext())
      await provider.get('data')
      assert.equal(provider.describe('data').cinder_status, 'available')
      await provider.mount('data', mp, testContext())
      assert.equal(await readFile(`${mp}/hello`, 'utf8'), 'from fuxi')
      await provider.unmount('data', mp, testContext())
    })

    it('a volume attached to another host: mount and remove refused; multiattach: one writer, readers with readonly-many', async (t) => {
      const here = await make(t)
      const there = await make(t, {
        volumeFrom: here.volumeFrom,
        hostName: 'other-docker-host',
        dir: here.dir,
      })
      await here.provider.create('single', here.provider.parseOptions({}))
      await there.provider.mount('single', `${there.mountRoot}/single`, testContext())
      await assert.rejects(
        here.provider.mount('single', `${here.mountRoot}/single`, testContext()),
        (e: unknown) => {
          assert.ok(e instanceof VolumeInUseError)
          assert.match(
            e.message,
            /attached to other-docker-host \(attachment [0-9a-f-]{36}, read-write, last heard from \d+ s ago\)/,
          )
          return true
        },
      )
      await assert.rejects(
        here.provider.remove('single'),
        /attached to other-docker-host \(attachment [0-9a-f-]{36}, read-write\); stop its containers there first/,
      )
      await there.provider.unmount('single', `${there.mountRoot}/single`, testContext())

      // multiattach, single writer (the default): a second writer is refused, nothing is left
      await here.provider.create(
        'shared',
        here.provider.parseOptions({ volume_type: 'multiattach', multiattach: 'true' }),
      )
      await there.provider.mount('shared', `${there.mountRoot}/shared`, testContext())
      await assert.rejects(
        here.provider.mount('shared', `${here.mountRoot}/shared`, testContext()),
        /attached to other-docker-host .*read-write.*a multiattach volume is written by one host at a time/,
      )
      await here.provider.get('shared')
      assert.deepEqual(here.provider.describe('shared').attached_to, ['other-docker-host'])
      await there.provider.unmount('shared', `${there.mountRoot}/shared`, testContext())

      // readonly-many: the writer writes, another host reads what it wrote
      await here.provider.create(
        'readers',
        here.provider.parseOptions({
          volume_type: 'multiattach',
          multiattach: 'true',
          access: 'readonly-many',
        }),
      )
      await there.provider.mount('readers', `${there.mountRoot}/readers`, testContext())
      await writeFile(`${there.mountRoot}/readers/note`, 'written there')
      execFileSync('sync')
      await here.provider.mount('readers', `${here.mountRoot}/readers`, testContext())
      assert.equal(await readFile(`${here.mountRoot}/readers/note`, 'utf8'), 'written there')
      await assert.rejects(writeFile(`${here.mountRoot}/readers/mine`, 'x'), /EROFS/)
      await here.provider.get('readers')
      assert.deepEqual(
        (here.provider.describe('readers').attached_to as string[]).sort(),
        [`other-docker-host`, `${here.hostId} (read-only)`].sort(),
      )
      await here.provider.unmount('readers', `${here.mountRoot}/readers`, testContext())
      await there.provider.unmount('readers', `${there.mountRoot}/readers`, testContext())
    })

    it('-o multiattach=true with a type that does not allow it fails clearly; what it made is discarded', async (t) => {
      const { provider, api, volumeFrom } = await make(t)
      const made: string[] = []
      const ctx = {
        log: memoryLogger().log,
        marker: 'test/1',
        made: async (id: string) => void made.push(id),
      }
      await assert.rejects(
        provider.create('nomulti', provider.parseOptions({ multiattach: 'true' }), ctx),
        /volume type "default" does not allow multiattach/,
      )
      assert.equal(made.length, 1, 'the id was reported before the wait')
      assert.deepEqual(
        await provider.discard({ id: made[0] as string, marker: 'not-this-create' }, ctx.log),
        {
          kind: 'kept',
          why: "it does not carry this create's marker",
        },
      )
      assert.deepEqual(
        await provider.discard({ id: made[0] as string, marker: 'test/1' }, ctx.log),
        {
          kind: 'deleted',
        },
      )
      await new Promise((r) => setTimeout(r, 500))
      const left = await api.listVolumes({ metadata: { volume_from: volumeFrom } })
      assert.ok(
        left.every((v) => v.status === 'deleting'),
        JSON.stringify(left.map((v) => v.status)),
      )
    })
  },
})
