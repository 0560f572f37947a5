import assert from 'node:assert/strict'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { hostname } from 'node:os'
import { describe, it, type TestContext } from 'node:test'
import { OpenStackHttpError } from '../../src/errors.ts'
import { CinderClient, type ConnectorProperties } from '../../src/openstack/cinder.ts'
import { cloudSession, IDENTITIES, type Identity, uniqueName } from '../support/devcloud.ts'

const WAIT = { timeoutMs: 60_000 }
const connector: ConnectorProperties = {
  host: hostname(),
  ip: '127.0.0.1',
  platform: 'x86_64',
  os_type: 'linux',
  multipath: false,
  do_local_attach: false,
}

/** A client for `who`, and a volume factory whose volumes are deleted after the test. */
function setup(t: TestContext, who: Identity) {
  const session = cloudSession(who.auth())
  const cinder = new CinderClient(session)
  const made: string[] = []
  t.after(async () => {
    for (const id of made) {
      const v = await cinder.getVolume(id)
      if (!v) continue
      for (const a of await cinder.listAttachments(id)) await cinder.deleteAttachment(a.id)
      await cinder.waitForVolume(id, ['available', 'error'], WAIT)
      await cinder.deleteVolume(id)
    }
  })
  const volume = async (
    what: string,
    extra: { volume_type?: string; metadata?: Record<string, string> } = {},
  ) => {
    const v = await cinder.createVolume({ name: uniqueName(what), size: 1, ...extra })
    made.push(v.id)
    return (await cinder.waitForVolume(v.id, ['available'], WAIT)) ?? assert.fail('volume vanished')
  }
  return { session, cinder, volume }
}

const isBlockDevice = (p: unknown) => typeof p === 'string' && statSync(p).isBlockDevice()
/**
 * Whether a loop device is attached to volume `id`'s image (loop device nodes outlive their
 * attachment, and other tests may reuse the number at once).
 */
const attachedLoop = (p: unknown, id: string) => {
  if (typeof p !== 'string') return false
  const f = `/sys/block/${p.replace('/dev/', '')}/loop/backing_file`
  return existsSync(f) && readFileSync(f, 'utf8').includes(id)
}

describe('Cinder v3 against the dev cloud', { concurrency: IDENTITIES.length }, () => {
  for (const who of IDENTITIES) {
    describe(who.label, () => {
      it('volumes: create, get, list by name and metadata with pages, metadata, delete', async (t) => {
        const { cinder, session, volume } = setup(t, who)
        const tag = uniqueName('tag')
        const a = await volume('a', { metadata: { 'fuxi-test': tag } })
        const b = await volume('b', { metadata: { 'fuxi-test': tag } })
        assert.equal(a.size, 1)
        assert.equal(a.metadata['fuxi-test'], tag)
        assert.equal((await cinder.getVolume(a.id))?.name, a.name)
        assert.deepEqual(
          (await cinder.listVolumes({ name: a.name ?? '' })).map((v) => v.id),
          [a.id],
        )
        const byTag = await cinder.listVolumes({ metadata: { 'fuxi-test': tag }, pageSize: 1 })
        assert.deepEqual(byTag.map((v) => v.id).sort(), [a.id, b.id].sort())

        assert.deepEqual(await cinder.metadata.set(a.id, { k1: 'v1', k2: 'v2' }), {
          'fuxi-test': tag,
          k1: 'v1',
          k2: 'v2',
        })
        await cinder.metadata.deleteKey(a.id, 'k2')
        assert.deepEqual((await cinder.getVolume(a.id))?.metadata, { 'fuxi-test': tag, k1: 'v1' })

        assert.equal(await cinder.deleteVolume(b.id), true)
        assert.equal(
          await cinder.waitForVolume(b.id, [], { ...WAIT, goneIsSuccess: true }),
          undefined,
        )
        assert.equal(await cinder.getVolume(b.id), undefined)
        assert.equal(
          await cinder.deleteVolume(b.id),
          false,
          'deleting a deleted volume is not an error',
        )
        assert.equal(session.authCount, 1, 'one token for the whole test')
      })

      it('attachments: create with connector (a real loop device), complete, list, delete', async (t) => {
        const { cinder, volume } = setup(t, who)
        const v = await volume('att')
        const att = await cinder.createAttachment(v.id, { connector })
        assert.equal((await cinder.getVolume(v.id))?.status, 'attaching')
        assert.equal(att.connection_info.driver_volume_type, 'local')
        assert.ok(isBlockDevice(att.connection_info.device_path))
        await cinder.completeAttachment(att.id)
        const inUse = await cinder.waitForVolume(v.id, ['in-use'], WAIT)
        assert.deepEqual(
          inUse?.attachments.map((a) => a.attachment_id),
          [att.id],
        )
        assert.equal((await cinder.getAttachment(att.id))?.status, 'attached')
        assert.deepEqual(
          (await cinder.listAttachments(v.id)).map((a) => a.id),
          [att.id],
        )

        const second = await cinder.createAttachment(v.id, { connector }).catch((e: unknown) => e)
        assert.ok(second instanceof OpenStackHttpError && second.status === 400, 'not multiattach')
        const busy = await cinder.deleteVolume(v.id).catch((e: unknown) => e)
        assert.ok(busy instanceof OpenStackHttpError && busy.kind === 'badRequest')

        assert.equal(await cinder.deleteAttachment(att.id), true)
        await cinder.waitForVolume(v.id, ['available'], WAIT)
        assert.equal(await cinder.getAttachment(att.id), undefined)
      })

      it('multiattach: each host gets its own device of the volume; create with connector and mode', async (t) => {
        const { cinder, volume } = setup(t, who)
        const v = await volume('ma', { volume_type: 'multiattach' })
        assert.equal(v.multiattach, true)
        const one = await cinder.createAttachment(v.id, { connector, mode: 'rw' })
        await cinder.completeAttachment(one.id)
        await cinder.waitForVolume(v.id, ['in-use'], WAIT)
        const two = await cinder.createAttachment(v.id, {
          connector: { ...connector, host: 'other' },
          mode: 'ro',
        })
        assert.equal(two.attach_mode, 'ro')
        await cinder.completeAttachment(two.id)
        // The dev cloud's driver gives each connector host its own loop device of the volume,
        // as two machines each see their own disk.
        assert.notEqual(two.connection_info.device_path, one.connection_info.device_path)
        await cinder.deleteAttachment(one.id)
        assert.ok(
          !attachedLoop(one.connection_info.device_path, v.id),
          "the first host's device went",
        )
        assert.ok(
          attachedLoop(two.connection_info.device_path, v.id),
          'the other host keeps its device',
        )
        await cinder.deleteAttachment(two.id)
        await cinder.waitForVolume(v.id, ['available'], WAIT)
      })
    })
  }
})
