import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { CinderClient } from '../../src/openstack/cinder.ts'
import { NovaClient } from '../../src/openstack/nova.ts'
import { cloudSession, demoAuthConf, devcloudAuth, uniqueName } from '../support/devcloud.ts'
import { useDockerEnv } from '../support/docker-env.ts'
import { bootServer } from '../support/nova-server.ts'
import { udevStandin } from '../support/udev-standin.ts'

/**
 * `[cinder] volume_connector = openstack`: fuxi inside a Nova instance attaches volumes to itself
 * through Nova. "This instance" is a server on the dev cloud's real Nova (fake virt driver); Nova
 * makes the Cinder attachment, the loop driver attaches the volume here, and a udev stand-in links
 * the disk by its serial as a guest's udev would.
 */
describe('docker volumes through Nova (dev cloud Nova, fake virt driver)', () => {
  const volumeFrom = uniqueName('nova')
  const session = cloudSession(devcloudAuth('openrc-demo'))
  const nova = new NovaClient(session)
  const cinder = new CinderClient(session)
  let server: Awaited<ReturnType<typeof bootServer>> | undefined
  let udev: ReturnType<typeof udevStandin> | undefined
  before(async () => {
    server = await bootServer(session, uniqueName('instance'))
    udev = udevStandin(session, nova, server.id)
  })
  const env = useDockerEnv(before, after, {
    extra: () => {
      return [
        'volume_providers = cinder',
        `volume_from = ${volumeFrom}`,
        'my_ip = 127.0.0.1',
        ...demoAuthConf('cinder'),
        'volume_connector = openstack',
        `instance_id = ${server?.id}`,
        '[nova]',
        'auth_section = cinder',
      ].join('\n')
    },
  })
  after(async () => {
    await udev?.stop()
    await server?.remove()
  })

  it('a container writes, another reads: attached to this instance through Nova, released after', async () => {
    const e = env()
    await e.createVolume('novadata')
    const [v] = await cinder.listVolumes({
      name: 'novadata',
      metadata: { volume_from: volumeFrom },
    })
    assert.ok(v, 'created in Cinder')
    const holder = await e.runDetached(
      'novadata',
      'sh',
      '-c',
      'echo via-nova > /data/f && sync && sleep 60',
    )
    try {
      const during = await cinder.getVolume(v.id)
      assert.equal(during?.status, 'in-use')
      assert.deepEqual(
        during?.attachments.map((a) => a.server_id),
        [server?.id],
        'attached to this instance, by Nova',
      )
      const viaNova = await nova.getVolumeAttachment(server?.id as string, v.id)
      assert.equal(viaNova?.attachment_id, during?.attachments[0]?.attachment_id)
      const r = await e.runOnce('novadata', 'cat', '/data/f')
      assert.equal(r.stdout.trim(), 'via-nova', r.stderr)
    } finally {
      await e.dockerd.ok(['rm', '-f', holder])
    }
    const released = await cinder.getVolume(v.id)
    assert.equal(released?.status, 'available', 'detached through Nova after the last container')
    assert.equal(await nova.getVolumeAttachment(server?.id as string, v.id), undefined)
    await e.dockerd.ok(['volume', 'rm', 'novadata'])
    assert.equal(await cinder.getVolume(v.id), undefined)
  })

  it('a volume another instance holds is refused, naming it, and so is its removal', async () => {
    const e = env()
    await e.createVolume('held')
    const [v] = await cinder.listVolumes({ name: 'held', metadata: { volume_from: volumeFrom } })
    assert.ok(v)
    const other = await bootServer(session, uniqueName('other'))
    try {
      await nova.attachVolume(other.id, v.id)
      await cinder.waitForVolume(v.id, ['in-use'], { timeoutMs: 60_000 })
      const run = await e.runOnce('held', 'true')
      assert.notEqual(run.code, 0)
      assert.match(run.stderr, new RegExp(`attached to ${other.id}`))
      const rm = await e.dockerd.docker(['volume', 'rm', 'held'])
      assert.notEqual(rm.code, 0)
      assert.match(
        rm.stderr,
        new RegExp(
          `attached to ${other.id} \\(attachment [0-9a-f-]{36}, read-write\\); stop its containers there first`,
        ),
      )
      assert.deepEqual(
        (await cinder.getVolume(v.id))?.attachments.map((a) => a.server_id),
        [other.id],
      )
      await nova.detachVolume(other.id, v.id)
      await cinder.waitForVolume(v.id, ['available'], { timeoutMs: 60_000 })
    } finally {
      await other.remove()
    }
    await e.dockerd.ok(['volume', 'rm', 'held'])
  })

  it('fuxi killed mid-mount, restarted: the Nova attachment is released, then the volume works', async () => {
    const e = env()
    await e.createVolume('crashy')
    const [v] = await cinder.listVolumes({ name: 'crashy', metadata: { volume_from: volumeFrom } })
    assert.ok(v)
    await e.fuxi.stop()
    await e.fuxi.start({ FUXI_TEST_CRASH_AT: 'mount:formatting' })
    const r = await e.runOnce('crashy', 'true')
    assert.notEqual(r.code, 0, 'the container cannot start while fuxi dies')
    await e.fuxi.exited()
    await e.fuxi.start()
    const after = await cinder.getVolume(v.id)
    assert.equal(after?.status, 'available', 'the reconciler detached it through Nova')
    assert.equal(await nova.getVolumeAttachment(server?.id as string, v.id), undefined)
    const w = await e.runOnce('crashy', 'sh', '-c', 'echo ok > /data/x && cat /data/x')
    assert.equal(w.stdout.trim(), 'ok', w.stderr)
    await e.dockerd.ok(['volume', 'rm', 'crashy'])
  })
})
