import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import { describe, it, type TestContext } from 'node:test'
import { VolumeInUseError, VolumeStateError } from '../../src/errors.ts'
import { createExec, type Exec } from '../../src/host/exec.ts'
import type { AccessRule } from '../../src/openstack/manila.ts'
import {
  cephfsExport,
  chooseExport,
  findAccess,
  foreignRules,
  releaseOf,
} from '../../src/providers/manila/access.ts'
import {
  createManilaProvider,
  type ManilaProviderOptions,
} from '../../src/providers/manila/manila-provider.ts'
import { parseManilaOptions } from '../../src/providers/manila/options.ts'
import { shareMounter } from '../../src/providers/manila/share-mounts.ts'
import { providerContract, testContext } from '../contract/provider-contract.ts'
import { FakeHost } from '../fakes/fake-host.ts'
import { FakeManila } from '../fakes/fake-manila.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

const ME = 'this-host'
const DEFAULTS = {
  size: 1,
  shareProto: 'NFS',
  shareType: '',
  shareNetwork: '',
  availabilityZone: '',
}

/** Runs the mount helpers against the fake host: the source mounted is what the helper got. */
function fakeExec(host: FakeHost, argv: string[][], fail = new Set<string>()): Exec {
  return {
    async run(command, args) {
      argv.push([command, ...args])
      if (fail.delete(command)) throw new Error(`${command}: access denied by server`)
      const [source, target] = command === 'ceph-fuse' ? ['ceph-fuse', args[0]] : args
      host.table.push({ source: source as string, mountPoint: target as string, fsType: command })
      return { stdout: '', stderr: '', exitCode: 0 }
    },
  }
}

async function make(
  t: TestContext,
  o: Partial<ManilaProviderOptions> & { cephfsClient?: 'kernel' | 'fuse' } = {},
) {
  const dir = await tmpDir(t)
  const host = new FakeHost()
  const manila = new FakeManila()
  const argv: string[][] = []
  const failExec = new Set<string>()
  const log = memoryLogger()
  const provider = createManilaProvider(
    {
      volumeFrom: 'fuxi',
      defaults: DEFAULTS,
      me: ME,
      accessTo: '192.0.2.10',
      cephxId: 'fuxi',
      exportCidr: '',
      keepAccess: false,
      removeShared: false,
      ...o,
    },
    {
      api: manila,
      host,
      mounter: shareMounter(fakeExec(host, argv, failExec), {
        nfsOptions: ['vers=4.1'],
        cephfsOptions: [],
        cephfsClient: o.cephfsClient ?? 'kernel',
        secretsDir: `${dir}/secrets`,
      }),
      log: log.log,
    },
  )
  return {
    provider,
    host,
    manila,
    argv,
    failExec,
    dir,
    log,
    mountRoot: `${dir}/mnt`,
    createOptions: { size: '1' },
  }
}

const rule = (r: Partial<AccessRule>): AccessRule => ({
  id: 'r1',
  access_type: 'ip',
  access_to: '192.0.2.10',
  access_level: 'rw',
  state: 'active',
  metadata: {},
  ...r,
})

providerContract('manila (fake Manila, fake host)', make, { formats: false })

describe('manila options', () => {
  const parse = (o: Record<string, string>) => parseManilaOptions(o, DEFAULTS)
  it('applies defaults, normalises the protocol, and rejects bad values naming the fix', () => {
    assert.deepEqual(parse({}), { share_proto: 'NFS', size: '1' })
    assert.deepEqual(parse({ share_proto: 'cephfs', size: '3', share_type: 'gold' }), {
      share_proto: 'CEPHFS',
      size: '3',
      share_type: 'gold',
    })
    assert.throws(() => parse({ share_proto: 'CIFS' }), /share_proto.*use one of: NFS, CEPHFS/)
    assert.throws(() => parse({ size: '1.5' }), /whole number of GiB/)
    assert.throws(
      () => parse({ is_public: 'true' }),
      /unknown option "is_public".*valid options: share_proto, size/,
    )
    assert.throws(() => parse({ snapshot_id: 'nope' }), /snapshot_id.*UUID/)
    assert.throws(
      () =>
        parse({
          snapshot_id: '9d276a09-00a0-481a-99c5-e38fe5c11de2',
          volume_id: '9d276a09-00a0-481a-99c5-e38fe5c11de3',
        }),
      /exclude each other/,
    )
    assert.throws(() => parse({ share_network: 'a;b' }), /share_network/)
  })
})

describe('manila access rules (pure)', () => {
  const nfs = { type: 'ip', to: '192.0.2.10' } as const
  it("finds this host's rule: fuxi's mark first, then the exact client, then a covering network", () => {
    const marked = rule({
      id: 'm',
      access_to: '192.0.2.0/24',
      metadata: { fuxi_host_this: 'true' },
    })
    const exact = rule({ id: 'e', access_to: '192.0.2.10/32' })
    const net = rule({ id: 'n', access_to: '192.0.2.0/24' })
    const roNet = rule({ id: 'ro', access_to: '192.0.0.0/16', access_level: 'ro' })
    assert.equal(findAccess([net, exact, marked], nfs, 'this')?.id, 'm')
    assert.equal(findAccess([net, exact], nfs, 'this')?.id, 'e')
    assert.equal(findAccess([roNet, net], nfs, 'this')?.id, 'n')
    assert.equal(findAccess([roNet], nfs, 'this'), undefined)
    assert.equal(findAccess([rule({ access_to: '198.51.100.0/24' })], nfs, 'this'), undefined)
    const cephx = rule({ id: 'c', access_type: 'cephx', access_to: 'fuxi' })
    assert.equal(findAccess([cephx], { type: 'cephx', to: 'fuxi' }, 'this')?.id, 'c')
    assert.equal(findAccess([cephx], nfs, 'this'), undefined)
  })

  it('denies only a rule fuxi made that no other host uses, unless told to keep it', () => {
    const made = { fuxi_created: 'true', fuxi_host_this: 'true' }
    const table: [Record<string, string>, boolean, string][] = [
      [made, false, 'DENY'],
      [made, true, 'LEAVE keep_access'],
      [{ ...made, fuxi_host_other: 'true' }, false, 'LEAVE other hosts use it'],
      [{ fuxi_host_this: 'true' }, false, 'LEAVE not made by fuxi'],
    ]
    for (const [metadata, keep, want] of table) {
      const r = releaseOf(rule({ metadata }), 'this', keep)
      assert.equal(r.kind === 'DENY' ? 'DENY' : `LEAVE ${r.why}`, want, JSON.stringify(metadata))
    }
  })

  it("counts as foreign every rule but this host's own", () => {
    const rules = [
      rule({ id: 'mine-marked', access_to: '10.0.0.0/8', metadata: { fuxi_host_this: 'true' } }),
      rule({ id: 'mine-exact' }),
      rule({ id: 'shared', metadata: { fuxi_host_this: 'true', fuxi_host_b: 'true' } }),
      rule({ id: 'other', access_to: '198.51.100.7' }),
    ]
    assert.deepEqual(
      foreignRules(rules, nfs, 'this').map((r) => r.id),
      ['shared', 'other'],
    )
  })

  it('picks the preferred non-admin export location, inside the configured network', () => {
    const locations = [
      { id: '1', path: '/srv/x', preferred: false, is_admin_only: true },
      { id: '2', path: '198.51.100.5:/x', preferred: false },
      { id: '3', path: '192.0.2.5:/x', preferred: true },
      { id: '4', path: '[2001:db8::5]:/x', preferred: false },
    ]
    assert.equal(chooseExport(locations, '')?.id, '3')
    assert.equal(chooseExport(locations, '198.51.100.0/24')?.id, '2')
    assert.equal(chooseExport(locations, '2001:db8::/32')?.id, '4')
    assert.equal(chooseExport(locations, '203.0.113.0/24'), undefined)
    assert.deepEqual(cephfsExport('10.0.0.1:6789,10.0.0.2:6789:/volumes/_nogroup/x'), {
      monitors: '10.0.0.1:6789,10.0.0.2:6789',
      path: '/volumes/_nogroup/x',
    })
    assert.equal(cephfsExport('no-path-here'), undefined)
  })
})

describe('manila provider', () => {
  it('grants access on the first mount, not on create; denies it on the last unmount', async (t) => {
    const { provider, manila, argv, host, mountRoot } = await make(t)
    await provider.create('web', provider.parseOptions({}))
    assert.equal(manila.rules.size, 0, 'create gives no access')
    const share = [...manila.shares.values()][0]
    const { fuxi_created_by: marker, ...metadata } = share?.metadata ?? {}
    assert.deepEqual(metadata, { volume_from: 'fuxi' })
    assert.match(String(marker), /^detached\/[0-9a-f-]{36}$/, 'marked by the create that made it')
    const mp = `${mountRoot}/web`
    const source = await provider.mount('web', mp, testContext())
    assert.equal(source, `127.0.0.1:/srv/shares/share-${share?.id}`, 'the preferred export')
    assert.deepEqual(argv, [['mount.nfs', source, mp, '-o', 'nosuid,nodev,vers=4.1']])
    const [r] = [...manila.rules.values()]
    assert.equal(r?.access_to, '192.0.2.10')
    assert.equal(r?.state, 'active')
    assert.deepEqual(r?.metadata, { fuxi_created: 'true', 'fuxi_host_this-host': 'true' })
    assert.equal((await host.mountAt(mp))?.source, source)

    await provider.mount('web', mp, testContext()) // a second mount reuses everything
    assert.equal(argv.length, 1)
    assert.equal(manila.rules.size, 1)

    manila.calls.length = 0
    await provider.unmount('web', mp, testContext())
    assert.equal(await host.mountAt(mp), undefined)
    assert.equal(manila.rules.size, 0, 'the rule fuxi made is gone')
    assert.ok(manila.calls.includes('deny'))
  })

  it("reuses an operator's rule and leaves it in place; records and forgets this host on it", async (t) => {
    const { provider, manila, mountRoot } = await make(t)
    await provider.create('ops', provider.parseOptions({}))
    const share = [...manila.shares.values()][0]
    const theirs = manila.grant(share?.id as string, { access_to: '192.0.2.0/24' })
    await provider.mount('ops', `${mountRoot}/ops`, testContext())
    assert.equal(manila.rules.size, 1, 'no second rule')
    assert.deepEqual(manila.rules.get(theirs.id)?.metadata, { 'fuxi_host_this-host': 'true' })
    await provider.unmount('ops', `${mountRoot}/ops`, testContext())
    assert.deepEqual(manila.rules.get(theirs.id)?.metadata, {}, 'still there, this host unrecorded')
  })

  it('keeps a rule another host also uses, and keeps its own with keep_access', async (t) => {
    const { provider, manila, mountRoot } = await make(t)
    await provider.create('two', provider.parseOptions({}))
    await provider.mount('two', `${mountRoot}/two`, testContext())
    const [r] = [...manila.rules.values()]
    if (r?.metadata) r.metadata.fuxi_host_other = 'true' // another host (same network rule) mounted it
    await provider.unmount('two', `${mountRoot}/two`, testContext())
    assert.deepEqual(manila.rules.get(r?.id as string)?.metadata, {
      fuxi_created: 'true',
      fuxi_host_other: 'true',
    })

    const keep = await make(t, { keepAccess: true })
    await keep.provider.create('k', keep.provider.parseOptions({}))
    await keep.provider.mount('k', `${keep.mountRoot}/k`, testContext())
    await keep.provider.unmount('k', `${keep.mountRoot}/k`, testContext())
    assert.equal([...keep.manila.rules.values()][0]?.state, 'active')
    // ...and the next mount uses it again without a new grant
    keep.manila.calls.length = 0
    await keep.provider.mount('k', `${keep.mountRoot}/k`, testContext())
    assert.ok(!keep.manila.calls.some((c) => c.startsWith('allow')), keep.manila.calls.join())
  })

  it('takes back the access it granted when the mount fails, and says why', async (t) => {
    const { provider, manila, failExec, mountRoot, host } = await make(t)
    await provider.create('bad', provider.parseOptions({}))
    failExec.add('mount.nfs')
    await assert.rejects(provider.mount('bad', `${mountRoot}/bad`, testContext()), /access denied/)
    assert.equal(manila.rules.size, 0)
    assert.equal(await host.mountAt(`${mountRoot}/bad`), undefined)
    // an operator's rule is never taken back
    const share = [...manila.shares.values()][0]
    manila.grant(share?.id as string, { access_to: '192.0.2.10' })
    failExec.add('mount.nfs')
    await assert.rejects(provider.mount('bad', `${mountRoot}/bad`, testContext()))
    assert.equal(manila.rules.size, 1)
  })

  it('refuses a rule that gives read-only access, and a share not available', async (t) => {
    const { provider, manila, mountRoot } = await make(t)
    await provider.create('ro', provider.parseOptions({}))
    const share = [...manila.shares.values()][0] as { id: string; status: string }
    manila.grant(share.id, { access_to: '192.0.2.10', access_level: 'ro' })
    await assert.rejects(provider.mount('ro', `${mountRoot}/ro`, testContext()), /ro access only/)
    share.status = 'extending'
    await provider.get('ro')
    await assert.rejects(
      provider.mount('ro', `${mountRoot}/ro`, testContext()),
      (e: Error) =>
        e instanceof VolumeStateError &&
        /is "extending"; retry when it is available/.test(e.message),
    )
  })

  it('grants nothing when no export location may be used here', async (t) => {
    const { provider, manila, mountRoot } = await make(t, { exportCidr: '203.0.113.0/24' })
    await provider.create('far', provider.parseOptions({}))
    await assert.rejects(
      provider.mount('far', `${mountRoot}/far`, testContext()),
      /no export location this host may use inside \[manila\] export_cidr = 203.0.113.0\/24 \(2 in all\)/,
    )
    assert.equal(manila.rules.size, 0)
    assert.ok(!manila.calls.some((c) => c.startsWith('allow')), manila.calls.join())
  })

  it('a rule in error: denied and retried if fuxi made it, else the operator is told what to deny', async (t) => {
    const { provider, manila, mountRoot } = await make(t)
    await provider.create('e', provider.parseOptions({}))
    const id = [...manila.shares.keys()][0] as string
    const broken = manila.grant(id, {
      access_to: '192.0.2.10',
      state: 'error',
      metadata: { fuxi_created: 'true', 'fuxi_host_this-host': 'true' },
    })
    await assert.rejects(
      provider.mount('e', `${mountRoot}/e`, testContext()),
      /is in error: .*fuxi denied it, retry/,
    )
    assert.equal(manila.rules.get(broken.id)?.state, 'queued_to_deny')
    await provider.mount('e', `${mountRoot}/e`, testContext()) // the retry makes a new rule
    assert.equal([...manila.rules.values()].filter((r) => r.state === 'active').length, 1)
    await provider.unmount('e', `${mountRoot}/e`, testContext())

    const theirs = manila.grant(id, { access_to: '192.0.2.10', state: 'error' })
    await assert.rejects(
      provider.mount('e', `${mountRoot}/e`, testContext()),
      new RegExp(`deny it \\(manila access-deny ${id} ${theirs.id}\\) and retry`),
    )
    assert.equal(manila.rules.get(theirs.id)?.state, 'error', 'not ours: left alone')
  })

  it('a failed mount takes its new rule back even with keep_access', async (t) => {
    const { provider, manila, failExec, mountRoot } = await make(t, { keepAccess: true })
    await provider.create('kf', provider.parseOptions({}))
    failExec.add('mount.nfs')
    await assert.rejects(provider.mount('kf', `${mountRoot}/kf`, testContext()))
    await manila.listAccessRules([...manila.shares.keys()][0] as string) // the back end applies the deny
    assert.equal(manila.rules.size, 0)
  })

  it('refuses to remove a share other hosts have access to, unless remove_shared', async (t) => {
    const { provider, manila, mountRoot } = await make(t, { keepAccess: true })
    await provider.create('sh', provider.parseOptions({}))
    await provider.mount('sh', `${mountRoot}/sh`, testContext())
    await provider.unmount('sh', `${mountRoot}/sh`, testContext())
    const share = [...manila.shares.values()][0]
    const other = manila.grant(share?.id as string, { access_to: '198.51.100.7' })
    await assert.rejects(
      provider.remove('sh'),
      (e: Error) =>
        e instanceof VolumeInUseError &&
        /still gives access to ip:198.51.100.7; unmount it on those hosts .* or set \[manila\] remove_shared = true/.test(
          e.message,
        ),
    )
    assert.equal(manila.shares.size, 1)
    manila.rules.delete(other.id)
    await provider.remove('sh') // only this host's kept rule is left: fine
    assert.equal(manila.shares.size, 0)

    const forced = await make(t, { removeShared: true })
    await forced.provider.create('f', forced.provider.parseOptions({}))
    forced.manila.grant([...forced.manila.shares.keys()][0] as string, {
      access_to: '198.51.100.7',
    })
    await forced.provider.remove('f')
    assert.equal(forced.manila.shares.size, 0)
  })

  it('mounts CephFS with the access key in a 0600 file, never on the command line', async (t) => {
    const { provider, manila, argv, dir, mountRoot } = await make(t, { cephxId: 'docker-host' })
    await provider.create('cf', provider.parseOptions({ share_proto: 'CEPHFS' }))
    const share = [...manila.shares.values()][0]
    const mp = `${mountRoot}/cf`
    await provider.mount('cf', mp, testContext())
    const [r] = [...manila.rules.values()]
    assert.equal(r?.access_type, 'cephx')
    assert.equal(r?.access_to, 'docker-host')
    const secret = `${dir}/secrets/cf.secret`
    assert.deepEqual(argv, [
      [
        'mount.ceph',
        `127.0.0.1:6789:/srv/shares/share-${share?.id}`,
        mp,
        '-o',
        `name=docker-host,secretfile=${secret},nosuid,nodev`,
      ],
    ])
    assert.ok(!argv.flat().some((a) => a.includes('key-of-')), 'no key in argv')
    assert.equal(await readFile(secret, 'utf8'), 'key-of-docker-host')
    assert.equal((await stat(secret)).mode & 0o777, 0o600)
    await provider.unmount('cf', mp, testContext())
    await assert.rejects(stat(secret), /ENOENT/)

    const fuse = await make(t, { cephfsClient: 'fuse' })
    await fuse.provider.create('ff', fuse.provider.parseOptions({ share_proto: 'CEPHFS' }))
    const id = [...fuse.manila.shares.keys()][0]
    await fuse.provider.mount('ff', `${fuse.mountRoot}/ff`, testContext())
    const keyring = `${fuse.dir}/secrets/ff.keyring`
    assert.deepEqual(fuse.argv[0], [
      'ceph-fuse',
      `${fuse.mountRoot}/ff`,
      '--id',
      'fuxi',
      '--keyring',
      keyring,
      '-m',
      '127.0.0.1:6789',
      '-r',
      `/srv/shares/share-${id}`,
      '-o',
      'nosuid,nodev',
    ])
    assert.equal(await readFile(keyring, 'utf8'), '[client.fuxi]\n\tkey = key-of-fuxi\n')
  })

  it("adopts an existing share by id under the Docker name, and shows the share in Get's Status", async (t) => {
    const { provider, manila, mountRoot } = await make(t)
    const existing = manila.add({ name: 'legacy-data', size: 5 })
    const id = existing.id
    await provider.create('data', provider.parseOptions({ volume_id: id }))
    assert.deepEqual(manila.shares.get(id)?.metadata, { volume_from: 'fuxi', fuxi_name: 'data' })
    assert.equal(manila.shares.get(id)?.name, 'legacy-data', 'not renamed')
    assert.deepEqual(
      (await provider.list()).map((v) => v.name),
      ['data'],
    )
    const other = manila.add({ name: 'theirs', metadata: { volume_from: 'someone-else' } })
    await assert.rejects(
      provider.create('x', provider.parseOptions({ volume_id: other.id })),
      /belongs to volume_from=someone-else/,
    )
    await provider.mount('data', `${mountRoot}/data`, testContext())
    assert.equal((await provider.get('data'))?.options.size, '5')
    assert.deepEqual(provider.describe('data'), {
      share_id: id,
      share_proto: 'NFS',
      manila_status: 'available',
      size_gib: 5,
      share_type: 'default',
      availability_zone: null,
      export_path: `127.0.0.1:/srv/shares/share-${id}`,
      access: [{ type: 'ip', to: '192.0.2.10', level: 'rw', state: 'active', this_host: true }],
    })
  })

  it('mounts right after Get without looking at the share again', async (t) => {
    const { provider, manila, mountRoot } = await make(t)
    await provider.create('q', provider.parseOptions({}))
    await provider.get('q')
    manila.calls.length = 0
    await provider.mount('q', `${mountRoot}/q`, testContext())
    assert.deepEqual(manila.calls, ['allow ip:192.0.2.10', 'list rules'])
  })

  it('Remove of a share deleted elsewhere since the last look: gone is gone, not an error', async (t) => {
    const { provider, manila } = await make(t)
    await provider.create('gone', provider.parseOptions({}))
    await provider.get('gone') // dockerd's Get before Remove: the share is cached
    const [id] = [...manila.shares.keys()]
    manila.shares.delete(id as string) // deleted by another host meanwhile
    await provider.remove('gone')
    assert.equal(await provider.get('gone'), undefined)
  })

  it('names the package when the mount helper is missing', async (t) => {
    const dir = await tmpDir(t)
    const m = shareMounter(createExec({ PATH: dir }), {
      nfsOptions: [],
      cephfsOptions: [],
      cephfsClient: 'kernel',
      secretsDir: dir,
    })
    await assert.rejects(
      m.mount('n', { proto: 'NFS', export: '127.0.0.1:/x' }, `${dir}/mp`),
      /mount.nfs is not installed on this host; install nfs-common \(Debian\/Ubuntu\) or nfs-utils \(RHEL\)/,
    )
  })
})
