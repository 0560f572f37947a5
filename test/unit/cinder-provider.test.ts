import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { connectorFor } from '../../src/connectors/connector.ts'
import { localConnector } from '../../src/connectors/local.ts'
import { VolumeInUseError } from '../../src/errors.ts'
import type { CinderVolume } from '../../src/openstack/cinder.ts'
import { instanceId } from '../../src/openstack/instance-id.ts'
import { createTransport } from '../../src/openstack/transport.ts'
import { attachState, decideAttach } from '../../src/providers/cinder/attach-state.ts'
import { createCinderProvider } from '../../src/providers/cinder/cinder-provider.ts'
import { deviceBySerial, novaAttachments } from '../../src/providers/cinder/nova-attachments.ts'
import { LIST_FRESH_MS } from '../../src/volumes/volume-catalog.ts'
import { providerContract, testContext } from '../contract/provider-contract.ts'
import { FakeCinder } from '../fakes/fake-cinder.ts'
import { FakeHost } from '../fakes/fake-host.ts'
import { FakeNova } from '../fakes/fake-nova.ts'
import { buildApp } from '../support/build.ts'
import { sampleServer } from '../support/sample-server.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

const HOST = 'this-host'
const DEFAULTS = {
  size: 1,
  fstype: 'ext4',
  volumeType: '',
  availabilityZone: '',
  multiattach: false,
}

async function make(
  t: TestContext,
  host = new FakeHost(),
  takeover: 'never' | 'stale' | 'force' = 'never',
) {
  const dir = await tmpDir(t)
  const cinder = new FakeCinder(host, dir)
  const provider = createCinderProvider(
    {
      volumeFrom: 'fuxi',
      allTenants: false,
      defaults: DEFAULTS,
      connector: { host: HOST, ip: '127.0.0.1', multipath: false },
      stateDir: `${dir}/state-cinder`,
      takeover,
    },
    { api: cinder, host, connectors: [localConnector(host, [1, 1])], log: memoryLogger().log },
  )
  return { provider, host, cinder, dir, mountRoot: `${dir}/mnt`, createOptions: { size: '1' } }
}

const vol = (v: Partial<CinderVolume>): CinderVolume => ({
  id: 'v1',
  name: 'x',
  status: 'available',
  size: 1,
  multiattach: false,
  metadata: {},
  attachments: [],
  ...v,
})
const att = (host: string, id = `a-${host}`) => ({
  attachment_id: id,
  host_name: host,
  server_id: null,
})

describe('attach state', () => {
  it('classifies every case with one pure function', () => {
    const table: [Partial<CinderVolume>, string][] = [
      [{}, 'NOT_ATTACHED'],
      [{ status: 'in-use', attachments: [att(HOST)] }, 'ATTACHED_TO_THIS'],
      [{ status: 'in-use', attachments: [att('other')] }, 'ATTACHED_TO_OTHER'],
      [
        { status: 'in-use', multiattach: true, attachments: [att('other'), att(HOST)] },
        'ATTACHED_TO_THIS',
      ],
      [{ status: 'creating' }, 'TRANSITIONAL'],
      [{ status: 'attaching' }, 'TRANSITIONAL'],
      [{ status: 'detaching' }, 'TRANSITIONAL'],
      [{ status: 'error' }, 'ERROR'],
      [{ status: 'error_deleting' }, 'ERROR'],
    ]
    for (const [v, kind] of table)
      assert.equal(attachState(vol(v), HOST).kind, kind, JSON.stringify(v))
    assert.deepEqual(
      attachState(vol({ status: 'in-use', multiattach: true, attachments: [att('b')] }), HOST),
      {
        kind: 'ATTACHED_TO_OTHER',
        others: [{ attachmentId: 'a-b', host: 'b', by: 'cinder', mode: 'rw', seenAt: undefined }],
        multiattach: true,
      },
    )
  })

  it('knows hosts by their id and their records, never by a host name alone', () => {
    // A clone of this host (same host name, its own id) holds the volume: not this host's.
    const clone = vol({
      status: 'in-use',
      attachments: [{ attachment_id: 'a1', host_name: null, server_id: null }],
      metadata: { fuxi_attachment_a1: 'web-1-0badc0de;rw;2026-12-02T10:00:00.000Z' },
    })
    const state = attachState(clone, 'web-1-12345678')
    assert.equal(state.kind, 'ATTACHED_TO_OTHER')
    assert.deepEqual(state.kind === 'ATTACHED_TO_OTHER' && state.others[0], {
      attachmentId: 'a1',
      host: 'web-1-0badc0de',
      by: 'fuxi',
      mode: 'rw',
      seenAt: Date.parse('2026-12-02T10:00:00.000Z'),
    })
    // The attachment this host's own record names is this host's, whatever name it carries.
    assert.equal(attachState(clone, 'web-1-12345678', 'a1').kind, 'ATTACHED_TO_THIS')
    // A key written before host ids (a bare host name) reads as read-write, never heard from.
    const legacy = vol({
      status: 'in-use',
      attachments: [{ attachment_id: 'a2', host_name: null, server_id: null }],
      metadata: { fuxi_attachment_a2: 'web-1' },
    })
    const l = attachState(legacy, 'web-1-12345678')
    assert.ok(l.kind === 'ATTACHED_TO_OTHER' && l.others[0]?.host === 'web-1')
    assert.equal(l.kind === 'ATTACHED_TO_OTHER' && l.others[0]?.seenAt, undefined)
    // Being attached (not listed yet): who is attaching it, from its key.
    const attaching = vol({ status: 'attaching', metadata: { fuxi_attachment_a3: 'host-c;rw' } })
    assert.deepEqual(attachState(attaching, HOST), {
      kind: 'TRANSITIONAL',
      status: 'attaching',
      pending: [{ host: 'host-c', attachmentId: 'a3' }],
    })
  })

  it('decides: one writer; readers with readonly-many; takeover only from holders gone silent', () => {
    const now = Date.parse('2026-12-02T12:00:00.000Z')
    const policy = {
      holder: 'host' as const,
      takeover: 'never' as const,
      takeoverAfterMs: 60_000,
      readonlyMany: false,
      now,
    }
    const held = (mode: 'rw' | 'ro', seen?: string, multiattach = true) =>
      vol({
        status: 'in-use',
        multiattach,
        attachments: [{ attachment_id: 'a1', host_name: null, server_id: null }],
        metadata: { fuxi_attachment_a1: `host-a;${mode}${seen ? `;${seen}` : ''}` },
      })
    const decide = (v: CinderVolume, p = {}) =>
      decideAttach('db', v, attachState(v, HOST), { ...policy, ...p })
    assert.deepEqual(decide(vol({})), { kind: 'ATTACH', mode: 'rw' })
    assert.deepEqual(decide(held('ro')), { kind: 'ATTACH', mode: 'rw' }, 'readers do not block')
    assert.throws(
      () => decide(held('rw', '2026-12-02T11:59:50.000Z')),
      /attached to host-a \(attachment a1, read-write, last heard from 10 s ago\); a multiattach volume is written by one host at a time.*-o access=readonly-many.*attachment-delete a1.*takeover = stale/,
    )
    assert.deepEqual(decide(held('rw'), { readonlyMany: true }), { kind: 'ATTACH', mode: 'ro' })
    // takeover: a holder silent for longer than takeover_after, never one heard from lately
    const silent = held('rw', '2026-12-02T11:50:00.000Z', false)
    assert.equal(decide(silent, { takeover: 'stale' }).kind, 'TAKE_OVER')
    assert.throws(
      () => decide(held('rw', '2026-12-02T11:59:30.000Z', false), { takeover: 'force' }),
      /last heard from 30 s ago.*fuxi does not take it over: that host is alive/,
    )
    // a holder fuxi never heard from: only force takes it
    assert.throws(() => decide(held('rw', undefined, false), { takeover: 'stale' }), /never heard/)
    assert.equal(decide(held('rw', undefined, false), { takeover: 'force' }).kind, 'TAKE_OVER')
  })
})

providerContract('cinder (fake Cinder, fake host)', make, {
  additionalTests: () => {
    it('checks options, applies [cinder] defaults, and names the valid ones', async (t) => {
      const { provider } = await make(t)
      assert.deepEqual(provider.parseOptions({}), {
        size: '1',
        fstype: 'ext4',
        multiattach: 'false',
        subdir: 'data',
      })
      assert.deepEqual(
        provider.parseOptions({
          size: '10',
          volume_type: 'ssd',
          availability_zone: 'nova',
          multiattach: 'true',
          snapshot_id: '9b6cd5da-8167-4c8f-baeb-c3528661f7ab',
          description: 'db',
          volume_provider: 'cinder',
        }),
        {
          size: '10',
          fstype: 'ext4',
          multiattach: 'true',
          volume_type: 'ssd',
          availability_zone: 'nova',
          snapshot_id: '9b6cd5da-8167-4c8f-baeb-c3528661f7ab',
          description: 'db',
          // a copy of existing data hands its root unless -o subdir says otherwise
          subdir: '',
        },
      )
      assert.equal(
        provider.parseOptions({
          source_volid: '73eb001a-57dc-44af-aa8c-0cac87648e81',
          subdir: 'data',
        }).subdir,
        'data',
      )
      for (const [o, re] of [
        [{ size: '0' }, /option "size"/],
        [{ multiattach: 'yes' }, /option "multiattach".*true or false/],
        [{ snapshot_id: 'abc' }, /option "snapshot_id".*UUID/],
        [{ fstype: 'ntfs' }, /option "fstype"/],
        [
          {
            snapshot_id: '9b6cd5da-8167-4c8f-baeb-c3528661f7ab',
            source_volid: '9b6cd5da-8167-4c8f-baeb-c3528661f7ab',
          },
          /snapshot_id and source_volid exclude each other/,
        ],
        [
          { size: '1', iops: '5' },
          /unknown option "iops" for provider cinder; valid options: size, fstype/,
        ],
      ] as const)
        assert.throws(() => provider.parseOptions(o), re)
    })

    it('keeps -o mount_options in the metadata and mounts with them on every host', async (t) => {
      const { provider, cinder, host, mountRoot } = await make(t)
      assert.throws(
        () => provider.parseOptions({ fstype: 'xfs', mount_options: 'commit=5' }),
        /"commit=5" is not allowed on xfs/,
      )
      await provider.create('logs', provider.parseOptions({ mount_options: 'noatime,discard' }))
      const v = [...cinder.volumes.values()][0] as CinderVolume
      assert.equal(v.metadata.fuxi_mount_options, 'noatime,discard')
      assert.equal((await provider.get('logs'))?.options.mount_options, 'noatime,discard')
      await provider.mount('logs', `${mountRoot}/logs`, testContext())
      assert.deepEqual(host.mountOptions.get(`${mountRoot}/logs`), [
        'nosuid',
        'nodev',
        'noatime',
        'discard',
      ])
      await provider.unmount('logs', `${mountRoot}/logs`, testContext())
    })

    it('attaches on first mount with this host connector, completes, formats once; detaches on unmount', async (t) => {
      const { provider, cinder, host, mountRoot } = await make(t)
      await provider.create('db', provider.parseOptions({}))
      const v = [...cinder.volumes.values()][0] as CinderVolume
      const { fuxi_created_by: marker, ...metadata } = v.metadata
      assert.deepEqual(metadata, {
        volume_from: 'fuxi',
        fstype: 'ext4',
        fuxi_layout: 'subdir=data',
      })
      assert.match(String(marker), /^detached\/[0-9a-f-]{36}$/, 'marked by the create that made it')
      assert.equal(v.attachments.length, 0, 'Create does not attach')
      const device = await provider.mount('db', `${mountRoot}/db`, testContext())
      assert.equal(v.status, 'in-use')
      assert.deepEqual(
        v.attachments.map((a) => a.host_name),
        [HOST],
      )
      assert.equal(cinder.volumes.get(v.id)?.metadata.fuxi_formatted, 'true')
      assert.ok(host.calls.includes(`mkfs ext4 ${device}`))
      await provider.unmount('db', `${mountRoot}/db`, testContext())
      assert.equal(v.status, 'available')
      assert.equal(cinder.attachments.size, 0)
      assert.deepEqual(host.loops.size, 0)
      assert.deepEqual(
        cinder.calls.filter((c) => c.startsWith('attachment')),
        ['attachment create', 'attachment complete', 'attachment delete'],
      )
    })

    it('a failed step after attaching is undone in reverse: unmount, disconnect, delete attachment', async (t) => {
      const { provider, cinder, host, mountRoot } = await make(t)
      await provider.create('rb', provider.parseOptions({}))
      cinder.failNext.add('completeAttachment')
      await assert.rejects(
        provider.mount('rb', `${mountRoot}/rb`, testContext()),
        /injected completeAttachment/,
      )
      assert.equal(cinder.attachments.size, 0)
      assert.equal(host.loops.size, 0)
      host.failNext.add('mount')
      await assert.rejects(provider.mount('rb', `${mountRoot}/rb`, testContext()), /injected mount/)
      assert.equal(cinder.attachments.size, 0, 'the attachment is deleted')
      assert.equal([...cinder.volumes.values()][0]?.status, 'available')
      assert.equal(host.table.length, 0)
      // never formats after a mount error: the device was formatted once, then the mount failed
      const dev = await provider.mount('rb', `${mountRoot}/rb`, testContext())
      assert.equal(
        host.calls.filter((c) => c.startsWith('mkfs')).length,
        1,
        `${dev}: formatted once`,
      )
    })

    it('refuses a volume attached to another host unless multiattach; Remove refuses it too', async (t) => {
      const { provider, cinder, host, mountRoot } = await make(t)
      const other = await cinder.add({
        name: 'held',
        status: 'in-use',
        metadata: { volume_from: 'fuxi' },
        attachments: [att('host-b')],
      })
      await assert.rejects(
        provider.mount('held', `${mountRoot}/held`, testContext()),
        (e: unknown) => {
          assert.ok(e instanceof VolumeInUseError)
          assert.match(
            e.message,
            /attached to host-b \(attachment a-host-b, read-write, .*\); it is used on one host at a time/,
          )
          return true
        },
      )
      await assert.rejects(
        provider.remove('held'),
        /attached to host-b \(attachment a-host-b, read-write\); stop its containers there first/,
      )
      assert.ok(cinder.volumes.has(other.id))
      // multiattach: another host reading it does not keep this one from writing
      const shared = await cinder.add({
        name: 'shared',
        status: 'in-use',
        multiattach: true,
        metadata: {
          volume_from: 'fuxi',
          fstype: 'ext4',
          fuxi_formatted: 'true',
          'fuxi_attachment_a-host-b': 'host-b;ro;2026-12-02T00:00:00.000Z',
        },
        attachments: [att('host-b')],
      })
      host.setSignature(cinder.file(shared.id), 'ext4')
      await provider.mount('shared', `${mountRoot}/shared`, testContext())
      assert.deepEqual(
        cinder.volumes.get(shared.id)?.attachments.map((a) => a.host_name),
        ['host-b', HOST],
      )
      assert.deepEqual(host.mountOptions.get(`${mountRoot}/shared`), ['nosuid', 'nodev'])
      await provider.unmount('shared', `${mountRoot}/shared`, testContext())
      assert.deepEqual(
        cinder.volumes.get(shared.id)?.attachments.map((a) => a.host_name),
        ['host-b'],
        'only this host attachment goes',
      )
    })

    it('a multiattach volume another host writes: refused read-write, mounted read-only with readonly-many', async (t) => {
      const { provider, cinder, host, mountRoot } = await make(t)
      const writer = {
        volume_from: 'fuxi',
        fstype: 'ext4',
        fuxi_formatted: 'true',
        'fuxi_attachment_a-host-b': `host-b;rw;${new Date().toISOString()}`,
      }
      const rw = await cinder.add({
        name: 'rw',
        status: 'in-use',
        multiattach: true,
        metadata: { ...writer },
        attachments: [att('host-b')],
      })
      await assert.rejects(
        provider.mount('rw', `${mountRoot}/rw`, testContext()),
        /attached to host-b .*read-write, last heard from \d+ s ago\); a multiattach volume is written by one host at a time/,
      )
      assert.deepEqual(cinder.volumes.get(rw.id)?.attachments.length, 1, 'nothing left attached')
      const ro = await cinder.add({
        name: 'ro',
        status: 'in-use',
        multiattach: true,
        metadata: { ...writer, fuxi_access: 'readonly-many' },
        attachments: [att('host-b')],
      })
      host.setSignature(cinder.file(ro.id), 'ext4')
      await provider.mount('ro', `${mountRoot}/ro`, testContext())
      assert.deepEqual(host.mountOptions.get(`${mountRoot}/ro`), [
        'nosuid',
        'nodev',
        'ro',
        'noload',
      ])
      const mine = Object.entries(cinder.volumes.get(ro.id)?.metadata ?? {}).find(
        ([k, v]) => k.startsWith('fuxi_attachment_') && v.startsWith(`${HOST};`),
      )
      assert.match(String(mine?.[1]), new RegExp(`^${HOST};ro;`), 'read-only in its holder key')
      await provider.unmount('ro', `${mountRoot}/ro`, testContext())
    })

    it('takeover: stale takes a volume from a host silent past takeover_after; never (the default) refuses', async (t) => {
      const { provider, cinder, host, mountRoot } = await make(t, new FakeHost(), 'stale')
      const long = new Date(Date.now() - 3_600_000).toISOString()
      const v = await cinder.add({
        name: 'orphaned',
        status: 'in-use',
        metadata: {
          volume_from: 'fuxi',
          fstype: 'ext4',
          fuxi_formatted: 'true',
          'fuxi_attachment_a-dead-host': `dead-host;rw;${long}`,
        },
        attachments: [att('dead-host')],
      })
      host.setSignature(cinder.file(v.id), 'ext4')
      await provider.mount('orphaned', `${mountRoot}/orphaned`, testContext())
      assert.deepEqual(
        cinder.volumes.get(v.id)?.attachments.map((a) => a.host_name),
        [HOST],
      )
      assert.equal(cinder.volumes.get(v.id)?.metadata['fuxi_attachment_a-dead-host'], undefined)
      await provider.unmount('orphaned', `${mountRoot}/orphaned`, testContext())
      const never = await make(t)
      await never.cinder.add({
        name: 'held',
        status: 'in-use',
        metadata: { volume_from: 'fuxi', 'fuxi_attachment_a-b': `b;rw;${long}` },
        attachments: [att('b')],
      })
      await assert.rejects(
        never.provider.mount('held', `${never.mountRoot}/held`, testContext()),
        /attached to b \(attachment a-b, read-write, last heard from 360[01] s ago\);.*If that host is gone for good, detach it there \(cinder --os-volume-api-version 3.27 attachment-delete a-b\) and retry, or set \[cinder\] takeover = stale/,
      )
    })
    it('Remove: detaches what this host still holds, and judges other hosts on a fresh look', async (t) => {
      const { provider, cinder, host, mountRoot } = await make(t)
      // 1. this host's attachment outlived a failed unmount (its record is still there)
      await provider.create('left', provider.parseOptions({}))
      await provider.mount('left', `${mountRoot}/left`, testContext())
      await host.unmount(`${mountRoot}/left`)
      await provider.remove('left')
      assert.equal(cinder.attachments.size, 0)
      assert.equal(await provider.get('left'), undefined)
      // 2. attached here by the original fuxi (Cinder's host_name is ours, no record)
      const legacy = await cinder.add({
        name: 'legacy',
        status: 'in-use',
        metadata: { volume_from: 'fuxi' },
        attachments: [att(HOST)],
      })
      await provider.remove('legacy')
      assert.equal(cinder.volumes.has(legacy.id), false)
      // 3. a Get saw it attached to another host, which has let go since: Remove looks again
      const moved = await cinder.add({
        name: 'moved',
        status: 'in-use',
        metadata: { volume_from: 'fuxi' },
        attachments: [att('b')],
      })
      await provider.get('moved')
      const vol = cinder.volumes.get(moved.id) as CinderVolume
      vol.attachments = []
      vol.status = 'available'
      await provider.remove('moved')
      assert.equal(cinder.volumes.has(moved.id), false)
    })

    it('Mount right after Create skips the lookup; if another host took it meanwhile, a fresh look refuses', async (t) => {
      const { provider, cinder, mountRoot } = await make(t)
      await provider.create('fresh', provider.parseOptions({}))
      const lookups = () => cinder.calls.filter((c) => c === 'list fresh').length
      const before = lookups()
      await provider.mount('fresh', `${mountRoot}/fresh`, testContext())
      assert.equal(lookups(), before, 'no lookup after Create')
      await provider.unmount('fresh', `${mountRoot}/fresh`, testContext())
      await provider.create('raced', provider.parseOptions({}))
      const v = [...cinder.volumes.values()].find((x) => x.name === 'raced') as CinderVolume
      v.status = 'in-use'
      v.attachments = [att('host-b')]
      await assert.rejects(
        provider.mount('raced', `${mountRoot}/raced`, testContext()),
        /volume "raced" is attached to host-b/,
      )
    })

    it('adopts a volume the original fuxi made: keeps its filesystem and data, never formats', async (t) => {
      const { provider, cinder, host, mountRoot } = await make(t)
      const v = await cinder.add({
        name: 'legacy',
        metadata: { volume_from: 'fuxi', fstype: 'ext4' },
      })
      host.setSignature(cinder.file(v.id), 'ext4')
      assert.deepEqual(
        (await provider.list()).map((x) => x.name),
        ['legacy'],
      )
      await provider.mount('legacy', `${mountRoot}/legacy`, testContext())
      assert.equal(host.calls.filter((c) => c.startsWith('mkfs')).length, 0)
      assert.equal(cinder.volumes.get(v.id)?.metadata.fuxi_formatted, 'true')
      await provider.unmount('legacy', `${mountRoot}/legacy`, testContext())
    })

    it('an attachment left half-made (mount and its rollback both failed) is undone by the next mount', async (t) => {
      const { provider, cinder, host, mountRoot } = await make(t)
      await provider.create('crash', provider.parseOptions({}))
      const v = [...cinder.volumes.values()][0] as CinderVolume
      cinder.failNext.add('completeAttachment')
      cinder.failNext.add('deleteAttachment')
      await assert.rejects(
        provider.mount('crash', `${mountRoot}/crash`, testContext()),
        /injected completeAttachment/,
      )
      assert.equal(v.status, 'attaching', 'the failed rollback left the attachment')
      assert.equal(cinder.attachments.size, 1)
      await provider.mount('crash', `${mountRoot}/crash`, testContext())
      assert.equal(cinder.attachments.size, 1, 'the old attachment went, a new one serves')
      assert.equal(v.status, 'in-use')
      await provider.unmount('crash', `${mountRoot}/crash`, testContext())
      assert.equal(v.status, 'available')
      assert.equal(host.loops.size, 0)
    })

    it('-o volume_id adopts an existing volume under the Docker name, without renaming it', async (t) => {
      const { provider, cinder, host, mountRoot } = await make(t)
      const v = await cinder.add({ name: 'legacy-db-7', metadata: { purpose: 'db' } })
      host.setSignature(cinder.file(v.id), 'xfs')
      await provider.create('db', provider.parseOptions({ volume_id: v.id }))
      assert.equal(cinder.volumes.get(v.id)?.name, 'legacy-db-7', 'not renamed')
      assert.deepEqual(cinder.volumes.get(v.id)?.metadata, {
        purpose: 'db',
        volume_from: 'fuxi',
        fuxi_name: 'db',
        fstype: 'ext4',
      })
      assert.deepEqual(
        (await provider.list()).map((x) => x.name),
        ['db'],
      )
      assert.equal((await provider.get('db'))?.name, 'db')
      assert.equal(await provider.get('legacy-db-7'), undefined)
      await provider.mount('db', `${mountRoot}/db`, testContext())
      assert.equal(host.calls.filter((c) => c.startsWith('mkfs')).length, 0, 'its xfs is kept')
      await provider.unmount('db', `${mountRoot}/db`, testContext())
      await assert.rejects(
        provider.create('db2', provider.parseOptions({ volume_id: v.id })),
        /Cinder volume .* is already the Docker volume "db"/,
      )
      const theirs = await cinder.add({ name: 'x', metadata: { volume_from: 'other-fuxi' } })
      await assert.rejects(
        provider.create('x', provider.parseOptions({ volume_id: theirs.id })),
        /already belongs to volume_from=other-fuxi/,
      )
      await assert.rejects(
        provider.create(
          'y',
          provider.parseOptions({ volume_id: '00000000-0000-0000-0000-000000000000' }),
        ),
        /no Cinder volume with id 00000000-0000-0000-0000-000000000000/,
      )
    })

    it('two fuxi volumes of one name are reported with their ids', async (t) => {
      const { provider, cinder } = await make(t)
      const a = await cinder.add({ name: 'dup', metadata: { volume_from: 'fuxi' } })
      const b = await cinder.add({ name: 'dup', metadata: { volume_from: 'fuxi' } })
      await assert.rejects(
        provider.get('dup'),
        new RegExp(`2 Cinder volumes are named "dup".*${a.id}, ${b.id}`),
      )
      assert.deepEqual(
        (await provider.list()).map((x) => x.name),
        ['dup'],
      )
      await cinder.add({ name: 'theirs', metadata: { volume_from: 'someone-else' } })
      assert.deepEqual(
        (await provider.list()).map((x) => x.name),
        ['dup'],
        'only volume_from=fuxi',
      )
    })
  },
})

describe('cloud volumes fuxi has not seen yet', () => {
  it('are listed, adopted on Get, mounted and removed through the volume service', async (t) => {
    const host = new FakeHost()
    const m = await make(t, host)
    const { app } = await buildApp(t, { host, providers: () => [m.provider] })
    const v = await m.cinder.add({
      name: 'elsewhere',
      metadata: { volume_from: 'fuxi', fstype: 'ext4' },
    })
    host.setSignature(m.cinder.file(v.id), 'ext4')
    assert.equal(app.volumes.get('elsewhere'), undefined, 'not in the journal yet')
    assert.deepEqual(
      (await app.volumes.listAll()).map((x) => x.name),
      ['elsewhere'],
    )
    assert.equal((await app.volumes.lookup('elsewhere'))?.status.volume_id, v.id)
    assert.ok(app.volumes.get('elsewhere'), 'adopted into the journal')
    const mp = await app.volumes.mount('elsewhere', 'c1')
    assert.match(mp, /\/cinder\/elsewhere$/)
    await app.volumes.unmount('elsewhere', 'c1')
    await app.volumes.remove('elsewhere')
    assert.equal(m.cinder.volumes.get(v.id)?.status ?? 'gone', 'gone')
    assert.equal(await app.volumes.lookup('never-made'), undefined)
    await assert.rejects(app.volumes.mount('never-made', 'c2'), /volume "never-made" not found/)
  })
})

describe("dockerd's Get, then Create", () => {
  it('Create makes no lookup of its own right after a Get found nothing; a volume made elsewhere in between still wins', async (t) => {
    const host = new FakeHost()
    const m = await make(t, host)
    const { app } = await buildApp(t, { host, providers: () => [m.provider] })
    assert.equal(await app.volumes.lookup('fresh'), undefined)
    m.cinder.calls.length = 0
    await app.volumes.create('fresh', {})
    assert.deepEqual(m.cinder.calls, ['create fresh', 'list fresh'], 'no lookup before the create')

    // The Get missed; another host made the name before this Create: the older volume is kept.
    assert.equal(await app.volumes.lookup('raced'), undefined)
    const theirs = await m.cinder.add({
      name: 'raced',
      metadata: { volume_from: 'fuxi', fstype: 'ext4' },
      created_at: '2026-01-01T00:00:00.000000',
    })
    await app.volumes.create('raced', {})
    const raced = [...m.cinder.volumes.values()].filter(
      (v) => v.name === 'raced' && v.status !== 'deleting',
    )
    assert.deepEqual(
      raced.map((v) => v.id),
      [theirs.id],
      'the volume this create made was deleted, theirs kept',
    )
    assert.equal((await app.volumes.lookup('raced'))?.status.volume_id, theirs.id)

    // A Create with no Get just before it looks first, and finds what exists.
    m.cinder.calls.length = 0
    await m.provider.create('raced', m.provider.parseOptions({}))
    assert.deepEqual(m.cinder.calls, ['list raced'])
  })
})

describe("Get's Status after a restart", () => {
  it('looks at the cloud once for a volume the journal knows, and still answers when it is down', async (t) => {
    const host = new FakeHost()
    const m = await make(t, host)
    const dir = await tmpDir(t)
    const first = await buildApp(t, { host, dir, providers: () => [m.provider] })
    await first.app.volumes.create('db', { size: '1' })
    await first.app.close()
    // A new daemon on the same state: the journal knows "db", the new provider knows nothing yet.
    const fresh = await make(t, host)
    for (const [id, v] of m.cinder.volumes) fresh.cinder.volumes.set(id, v)
    const { app } = await buildApp(t, { host, dir, providers: () => [fresh.provider] })
    const view = await app.volumes.lookup('db')
    assert.equal(view?.status.cinder_status, 'available')
    assert.match(String(view?.status.volume_id), /^[0-9a-f-]{36}$/)
    const lists = fresh.cinder.calls.filter((c) => c.startsWith('list')).length
    await app.volumes.lookup('db')
    assert.equal(fresh.cinder.calls.filter((c) => c.startsWith('list')).length, lists, 'once')

    const down = await make(t, host)
    const broken = {
      ...down.provider,
      get: () => Promise.reject(new Error('connect ECONNREFUSED')),
    }
    const third = await buildApp(t, { host, dir, providers: () => [broken] })
    assert.equal((await third.app.volumes.lookup('db'))?.name, 'db', 'answered from the journal')
  })
})

describe('an unreachable cloud at start', () => {
  it('does not stop the reconcile (or the daemon): those volumes wait for the next one', async (t) => {
    const host = new FakeHost()
    const m = await make(t, host)
    const down = () => Promise.reject(new Error('connect ECONNREFUSED'))
    const { app, lines } = await buildApp(t, {
      host,
      providers: () => [{ ...m.provider, list: down, inspect: down }],
    })
    await m.cinder.add({ name: 'v', metadata: { volume_from: 'fuxi' } })
    await app.volumes.lookup('v')
    assert.deepEqual(await app.reconcile(), [])
    assert.ok(
      lines().some((l) => l.msg === 'cannot inspect provider volumes; not reconciling them now'),
    )
  })
})

describe('connector choice', () => {
  it('follows driver_volume_type and names the supported ones otherwise', () => {
    const host = new FakeHost()
    const all = [
      localConnector(host),
      { type: 'iscsi', connect: async () => '', disconnect: async () => {} },
    ]
    assert.equal(connectorFor({ driver_volume_type: 'ISCSI' }, all).type, 'iscsi')
    assert.equal(
      connectorFor({ driver_volume_type: 'local', device_path: '/dev/x' }, all).type,
      'local',
    )
    assert.throws(
      () => connectorFor({ driver_volume_type: 'fibre_channel' }, all),
      /exports this volume as "fibre_channel", which this fuxi cannot connect \(it can: local, iscsi\)/,
    )
  })
})

describe('docker volume ls with cloud volumes', () => {
  it('reuses a listing for LIST_FRESH_MS, then lists again; drops removed volumes at once', async (t) => {
    const host = new FakeHost()
    const m = await make(t, host)
    const { app } = await buildApp(t, { host, providers: () => [m.provider] })
    await m.cinder.add({ name: 'a', metadata: { volume_from: 'fuxi' } })
    const lists = () => m.cinder.calls.filter((c) => c === 'list').length
    assert.deepEqual(
      (await app.volumes.listAll()).map((v) => v.name),
      ['a'],
    )
    await m.cinder.add({ name: 'b', metadata: { volume_from: 'fuxi' } })
    assert.deepEqual(
      (await app.volumes.listAll()).map((v) => v.name),
      ['a'],
      'fresh listing reused',
    )
    assert.equal(lists(), 1)
    await app.volumes.remove('a')
    assert.deepEqual(
      (await app.volumes.listAll()).map((v) => v.name),
      [],
      'removed here: gone at once',
    )
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + LIST_FRESH_MS + 1 })
    assert.deepEqual(
      (await app.volumes.listAll()).map((v) => v.name),
      ['b'],
    )
    assert.equal(lists(), 2)
  })
})

const SERVER = '6f1c7d2e-0c5a-4b8e-9d3f-2a1b0c9d8e7f'

async function makeNova(t: TestContext) {
  const dir = await tmpDir(t)
  const host = new FakeHost()
  const cinder = new FakeCinder(host, dir)
  const nova = new FakeNova(cinder, host)
  const provider = createCinderProvider(
    {
      volumeFrom: 'fuxi',
      allTenants: false,
      defaults: DEFAULTS,
      connector: { host: HOST, ip: '127.0.0.1', multipath: false },
      identity: SERVER,
      stateDir: `${dir}/state-cinder`,
    },
    {
      api: cinder,
      host,
      connectors: [],
      log: memoryLogger().log,
      flow: (d) => novaAttachments({ ...d, nova, deviceFor: nova.deviceFor, delays: [1, 1] }),
    },
  )
  return {
    provider,
    host,
    cinder,
    nova,
    dir,
    mountRoot: `${dir}/mnt`,
    createOptions: { size: '1' },
  }
}

providerContract('cinder through Nova (fake Cinder, fake Nova, fake host)', makeNova, {
  additionalTests: () => {
    it('attaches through Nova as this instance, finds the disk by volume id, detaches through Nova', async (t) => {
      const { provider, cinder, nova, mountRoot } = await makeNova(t)
      await provider.create('n1', provider.parseOptions({}))
      const v = [...cinder.volumes.values()][0] as CinderVolume
      const dev = await provider.mount('n1', `${mountRoot}/n1`, testContext())
      assert.equal(dev, nova.disks.get(v.id))
      assert.deepEqual(
        v.attachments.map((a) => a.server_id),
        [SERVER],
      )
      assert.match(
        String(v.metadata[`fuxi_attachment_${v.attachments[0]?.attachment_id}`]),
        new RegExp(`^${SERVER};rw;\\d{4}-`),
        'holder key: this instance, read-write, a heartbeat',
      )
      assert.equal(
        cinder.calls.filter((c) => c.startsWith('attachment')).length,
        0,
        'no host attachment',
      )
      await provider.unmount('n1', `${mountRoot}/n1`, testContext())
      assert.equal(v.status, 'available')
      assert.deepEqual(nova.calls, [`attach ${SERVER}`, `show ${SERVER}`, `detach ${SERVER}`])
    })

    it('a volume attached to another instance is refused', async (t) => {
      const { provider, cinder, mountRoot } = await makeNova(t)
      await cinder.add({
        name: 'theirs',
        status: 'in-use',
        metadata: { volume_from: 'fuxi' },
        attachments: [{ attachment_id: 'x', server_id: 'other-server', host_name: 'compute-3' }],
      })
      await assert.rejects(
        provider.mount('theirs', `${mountRoot}/theirs`, testContext()),
        /attached to other-server \(attachment x, read-write, not a fuxi host.*\); it is used on one instance at a time.*openstack server remove volume other-server/,
      )
    })
  },
})

describe('finding this instance and its disks', () => {
  it('instance id: configured, else the config drive, else the metadata service; a clear error otherwise', async (t) => {
    const transport = createTransport({
      timeoutMs: 2000,
      log: memoryLogger().log,
      sleep: async () => {},
    })
    assert.equal(await instanceId({ configured: 'abc', transport }), 'abc')
    const srv = await sampleServer(t, (req, res) => {
      if (req.url !== '/openstack/latest/meta_data.json') return void res.writeHead(404).end()
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ uuid: SERVER, name: 'docker-host-1' }))
    })
    assert.equal(
      await instanceId({
        configured: '',
        transport,
        metadataUrl: `${srv.base}/openstack/latest/meta_data.json`,
      }),
      SERVER,
    )
    await assert.rejects(
      instanceId({ configured: '', transport, metadataUrl: `${srv.base}/nope` }),
      /no config drive, and the metadata service did not give it .*; set \[cinder\] instance_id/,
    )
    // A config drive comes before the metadata service; the configured id before both.
    const meta = `${srv.base}/openstack/latest/meta_data.json`
    const drive = async () => 'from-drive'
    assert.equal(
      await instanceId({ configured: '', transport, configDrive: drive, metadataUrl: meta }),
      'from-drive',
    )
    assert.equal(await instanceId({ configured: 'abc', transport, configDrive: drive }), 'abc')
    const none = async () => undefined
    assert.equal(
      await instanceId({ configured: '', transport, configDrive: none, metadataUrl: meta }),
      SERVER,
    )
    const broken = async () => {
      throw new Error('/dev/sr0: openstack/latest/meta_data.json has no uuid')
    }
    assert.equal(
      await instanceId({ configured: '', transport, configDrive: broken, metadataUrl: meta }),
      SERVER,
    )
    await assert.rejects(
      instanceId({
        configured: '',
        transport,
        configDrive: broken,
        metadataUrl: `${srv.base}/nope`,
      }),
      /the config drive could not be read: \/dev\/sr0: .* has no uuid, and the metadata service did not give it/,
    )
  })

  it('disk by serial: virtio shows 20 characters of the id, SCSI all of it; partitions are skipped', async () => {
    const id = '73eb001a-57dc-44af-aa8c-0cac87648e81'
    const resolve = async (e: string) => `/dev/${e.length}`
    const find = (entries: string[]) => deviceBySerial(async () => entries, resolve, id)
    assert.equal(
      await find(['virtio-73eb001a-57dc-44af-a-part1', 'virtio-73eb001a-57dc-44af-a']),
      '/dev/27',
    )
    assert.equal(
      await find([`scsi-0QEMU_QEMU_HARDDISK_${id}`]),
      `/dev/${`scsi-0QEMU_QEMU_HARDDISK_${id}`.length}`,
    )
    assert.equal(await find(['virtio-0000']), undefined)
  })
})

describe('fuxi.conf wiring', () => {
  it('builds the Cinder provider with the Nova flow from [cinder] and [nova]', async (t) => {
    const { app } = await buildApp(t, {
      extraConfig: [
        'volume_providers = cinder',
        '[cinder]',
        'auth_url = http://127.0.0.1:9/v3',
        'username = u',
        'password = p',
        'project_name = x',
        'volume_connector = openstack',
        `instance_id = ${SERVER}`,
        '[nova]',
        'auth_section = cinder',
        '',
      ].join('\n'),
    })
    assert.equal(app.volumes.scope, 'global')
    assert.deepEqual(
      app.providers.all.map((p) => p.name),
      ['cinder'],
    )
  })
})
