import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { it, type TestContext } from 'node:test'
import { promisify } from 'node:util'
import { VolumeInUseError } from '../../src/errors.ts'
import { createExec } from '../../src/host/exec.ts'
import { createLinuxHost } from '../../src/host/linux-host.ts'
import { ManilaClient } from '../../src/openstack/manila.ts'
import { createManilaProvider } from '../../src/providers/manila/manila-provider.ts'
import { shareMounter } from '../../src/providers/manila/share-mounts.ts'
import { providerContract, testContext } from '../contract/provider-contract.ts'
import { cloudSession, devcloudAuth, uniqueName } from '../support/devcloud.ts'
import { faultProxy } from '../support/fault-proxy.ts'
import { cleanupUnder, leaksUnder } from '../support/host-cleanup.ts'
import { STANDIN_PATH, STANDINS } from '../support/standins.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

const run = promisify(execFile)

/**
 * The Manila provider on this host against the dev cloud, as the non-admin user, with its own
 * `volume_from`. `me` stands for another Docker host using the same shares.
 */
async function make(
  t: TestContext,
  o: {
    volumeFrom?: string
    me?: string
    dir?: string
    keepAccess?: boolean
    /** Reach Manila at this URL (a fault proxy) instead of the catalog's. */
    endpoint?: string
  } = {},
) {
  const exec = createExec({ PATH: STANDIN_PATH })
  const host = createLinuxHost(exec)
  const api = new ManilaClient(
    cloudSession(devcloudAuth('openrc-demo'), { endpointOverride: o.endpoint, timeoutMs: 3000 }),
  )
  const volumeFrom = o.volumeFrom ?? uniqueName('from')
  const me = o.me ?? 'here'
  let cleanup = async () => {}
  const dir =
    o.dir ??
    (await tmpDir(t, 'fuxi-manila-', async () => {
      try {
        await cleanup()
      } finally {
        cleanupUnder(dir)
      }
    }))
  const provider = createManilaProvider(
    {
      volumeFrom,
      defaults: {
        size: 1,
        shareProto: 'NFS',
        shareType: '',
        shareNetwork: '',
        availabilityZone: '',
      },
      me,
      accessTo: '127.0.0.1',
      cephxId: `fuxi-${me}`,
      exportCidr: '',
      keepAccess: o.keepAccess ?? false,
      removeShared: false,
    },
    {
      api,
      host,
      mounter: shareMounter(exec, {
        nfsOptions: [],
        cephfsOptions: [],
        cephfsClient: 'kernel',
        secretsDir: `${dir}/secrets-${me}`,
      }),
      log: memoryLogger().log,
    },
  )
  const mountRoot = `${dir}/mnt-${me}`
  // Before the temp dir goes: unmount and delete every share of this volume_from.
  cleanup = async () => {
    for (const v of await provider.list()) {
      await provider.unmount(v.name, `${mountRoot}/${v.name}`, testContext()).catch(() => {})
      for (const r of await api.listAccessRules(
        (provider.describe(v.name).share_id as string) ?? '',
      ))
        await api.denyAccess(provider.describe(v.name).share_id as string, r.id).catch(() => {})
      await provider.remove(v.name)
    }
    assert.deepEqual(leaksUnder(dir).mounts, [])
  }
  return { provider, api, host, dir, me, volumeFrom, mountRoot, createOptions: { size: '1' } }
}

providerContract('manila (dev cloud, real host, mount stand-ins)', (t) => make(t), {
  formats: false,
  additionalTests: () => {
    it("access follows mounts: refused without this host's rule, granted by the first mount, denied by the last unmount", async (t) => {
      const { provider, api, mountRoot } = await make(t)
      await provider.create('acl', provider.parseOptions({}))
      await provider.get('acl')
      const shareId = provider.describe('acl').share_id as string
      const exportPath = provider.describe('acl').export_path as string
      assert.match(exportPath, /^127\.0\.0\.1:\/.*share-/)
      assert.deepEqual(await api.listAccessRules(shareId), [], 'Create gives no access')
      // The stand-in refuses a client no rule names, as an NFS server would.
      const probe = `${mountRoot}-probe`
      await run('mkdir', ['-p', probe])
      const denied = await run(`${STANDINS}/mount.nfs`, [exportPath, probe]).catch(
        (e: { stderr: string }) => e,
      )
      assert.match(String((denied as { stderr: string }).stderr), /access denied by server/)

      const mp = `${mountRoot}/acl`
      await provider.mount('acl', mp, testContext())
      const [rule, ...more] = await api.listAccessRules(shareId)
      assert.equal(more.length, 0)
      assert.equal(rule?.access_type, 'ip')
      assert.equal(rule?.access_to, '127.0.0.1')
      assert.equal(rule?.state, 'active')
      assert.deepEqual(rule?.metadata, { fuxi_created: 'true', fuxi_host_here: 'true' })
      await writeFile(`${mp}/kept`, 'across mounts\n')
      await provider.unmount('acl', mp, testContext())
      assert.deepEqual(await api.listAccessRules(shareId), [], 'the last unmount denied it')
      await provider.mount('acl', mp, testContext())
      assert.equal(await readFile(`${mp}/kept`, 'utf8'), 'across mounts\n')
      await provider.unmount('acl', mp, testContext())
    })

    it('two hosts on one share: the rule stays until the last of them leaves', async (t) => {
      const a = await make(t)
      const b = await make(t, { volumeFrom: a.volumeFrom, me: 'there', dir: a.dir })
      await a.provider.create('both', a.provider.parseOptions({}))
      await a.provider.mount('both', `${a.mountRoot}/both`, testContext())
      await b.provider.mount('both', `${b.mountRoot}/both`, testContext())
      await writeFile(`${a.mountRoot}/both/from-a`, 'a\n')
      assert.equal(await readFile(`${b.mountRoot}/both/from-a`, 'utf8'), 'a\n')
      const shareId = a.provider.describe('both').share_id as string
      const [shared, ...more] = await a.api.listAccessRules(shareId)
      assert.equal(more.length, 0, 'one rule for one client address')
      assert.deepEqual(shared?.metadata, {
        fuxi_created: 'true',
        fuxi_host_here: 'true',
        fuxi_host_there: 'true',
      })
      await a.provider.unmount('both', `${a.mountRoot}/both`, testContext())
      const [left] = await a.api.listAccessRules(shareId)
      assert.deepEqual(left?.metadata, { fuxi_created: 'true', fuxi_host_there: 'true' })
      assert.equal(await readFile(`${b.mountRoot}/both/from-a`, 'utf8'), 'a\n', 'b still has it')
      await assert.rejects(a.provider.remove('both'), VolumeInUseError)
      await b.provider.unmount('both', `${b.mountRoot}/both`, testContext())
      assert.deepEqual(await a.api.listAccessRules(shareId), [])
      await a.provider.remove('both')
      assert.equal(await a.api.getShare(shareId), undefined)
    })

    it('CephFS: a cephx rule, its key from Manila in a secret file, refused with a wrong key', async (t) => {
      const { provider, api, dir, mountRoot } = await make(t)
      await provider.create('ceph', provider.parseOptions({ share_proto: 'CEPHFS' }))
      const mp = `${mountRoot}/ceph`
      await provider.mount('ceph', mp, testContext())
      const shareId = provider.describe('ceph').share_id as string
      const [rule] = await api.listAccessRules(shareId)
      assert.equal(rule?.access_type, 'cephx')
      assert.equal(rule?.access_to, 'fuxi-here')
      assert.ok(rule?.access_key, 'Manila gave the rule a key')
      assert.equal(await readFile(`${dir}/secrets-here/ceph.secret`, 'utf8'), rule?.access_key)
      await writeFile(`${mp}/f`, 'ceph\n')
      const exportPath = provider.describe('ceph').export_path as string
      assert.match(exportPath, /^127\.0\.0\.1:6789:\//)
      const wrong = `${dir}/wrong.secret`
      await writeFile(wrong, 'not-the-key')
      const probe = `${mountRoot}-probe`
      await run('mkdir', ['-p', probe])
      const refused = await run(`${STANDINS}/mount.ceph`, [
        exportPath,
        probe,
        '-o',
        `name=fuxi-here,secretfile=${wrong}`,
      ]).catch((e: { stderr: string }) => e)
      assert.match(String((refused as { stderr: string }).stderr), /Permission denied/)
      await provider.unmount('ceph', mp, testContext())
      assert.deepEqual(await api.listAccessRules(shareId), [])
      await assert.rejects(readFile(`${dir}/secrets-here/ceph.secret`), /ENOENT/)
    })

    it('Manila failing or slow: a clear error, no access left behind, and the next mount works', async (t) => {
      const real = await cloudSession(devcloudAuth('openrc-demo')).endpoint('sharev2')
      const proxy = await faultProxy(undefined, 'http://127.0.0.1:8786')
      const { provider, api, mountRoot } = await make(t, {
        endpoint: real.replace('http://127.0.0.1:8786', proxy.url),
      })
      t.after(() => proxy.close()) // after the share is cleaned up through it
      await provider.create('flaky', provider.parseOptions({}))
      await provider.get('flaky')
      const shareId = provider.describe('flaky').share_id as string
      const mp = `${mountRoot}/flaky`
      proxy.inject('POST', { kind: 'status', status: 503 }, { path: /\/action$/ })
      await assert.rejects(
        provider.mount('flaky', mp, testContext()),
        /sharev2 POST .*\/action failed \(HTTP 503\)/,
      )
      assert.deepEqual(await api.listAccessRules(shareId), [], 'no rule was made')
      // A grant Manila makes but whose answer is lost: the next mount finds it (marked as this
      // host's) and uses it instead of making a second one.
      proxy.inject('POST', { kind: 'delay', ms: 4500 }, { path: /\/action$/ })
      await assert.rejects(provider.mount('flaky', mp, testContext()), /no answer within 3000 ms/)
      await new Promise((r) => setTimeout(r, 2000)) // the held answer arrives; Manila has the rule
      const allows = () =>
        proxy.log.filter((e) => e.method === 'POST' && e.url.endsWith('/action')).length
      const before = allows()
      await provider.mount('flaky', mp, testContext())
      assert.equal(allows(), before, 'no second grant')
      const [rule, ...more] = await api.listAccessRules(shareId)
      assert.equal(more.length, 0)
      assert.deepEqual(rule?.metadata, { fuxi_created: 'true', fuxi_host_here: 'true' })
      await provider.unmount('flaky', mp, testContext())
      assert.deepEqual(await api.listAccessRules(shareId), [])
    })

    it("remove is refused while another host's rule exists, and names it", async (t) => {
      const { provider, api } = await make(t)
      await provider.create('held', provider.parseOptions({}))
      await provider.get('held')
      const shareId = provider.describe('held').share_id as string
      const theirs = await api.allowAccess(shareId, { access_type: 'ip', access_to: '192.0.2.99' })
      await api.waitForAccessRule(shareId, theirs.id, ['active'], { timeoutMs: 30_000 })
      await assert.rejects(provider.remove('held'), /still gives access to ip:192.0.2.99/)
      assert.equal((await api.getShare(shareId))?.status, 'available')
      await api.denyAccess(shareId, theirs.id)
      await api.waitForAccessRule(shareId, theirs.id, [], {
        timeoutMs: 30_000,
        goneIsSuccess: true,
      })
      await provider.remove('held')
      assert.equal(await api.getShare(shareId), undefined)
    })
  },
})
