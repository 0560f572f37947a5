import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import { hostConnectorProperties } from '../../src/connectors/connector.ts'
import { CinderClient, type CinderVolume } from '../../src/openstack/cinder.ts'
import { cloudSession, demoAuthConf, devcloudAuth, uniqueName } from '../support/devcloud.ts'
import { useDockerEnv } from '../support/docker-env.ts'
import { faultProxy } from '../support/fault-proxy.ts'

/**
 * Docker → fuxi → the dev cloud's Cinder, as the non-admin user: the seeds' main path. Each suite
 * has its own volume_from, so suites running at once do not see each other's volumes.
 */
function cinderConf(volumeFrom: string, more = ''): string {
  return [
    'volume_providers = cinder',
    `volume_from = ${volumeFrom}`,
    'my_ip = 127.0.0.1',
    ...demoAuthConf('cinder'),
    more,
  ].join('\n')
}

const demoCinder = () => new CinderClient(cloudSession(devcloudAuth('openrc-demo')))
const WAIT = { timeoutMs: 60_000 }

async function fuxiVolume(
  api: CinderClient,
  volumeFrom: string,
  name: string,
): Promise<CinderVolume> {
  const [v] = await api.listVolumes({ name, metadata: { volume_from: volumeFrom } })
  return v ?? assert.fail(`no Cinder volume "${name}" with volume_from=${volumeFrom}`)
}

describe('docker volumes on Cinder (dev cloud)', () => {
  const volumeFrom = uniqueName('docker')
  const env = useDockerEnv(before, after, { extra: () => cinderConf(volumeFrom) })
  const api = demoCinder()

  it('create → a container writes → another reads; inspect shows Cinder; rm deletes it', async () => {
    const e = env()
    await e.createVolume('pgdata', 'size=1')
    const v = await fuxiVolume(api, volumeFrom, 'pgdata')
    assert.equal(v.status, 'available', 'Create does not attach')
    const w = await e.runOnce('pgdata', 'sh', '-c', 'echo hello > /data/f && sync')
    assert.equal(w.code, 0, w.stderr)
    const r = await e.runOnce('pgdata', 'cat', '/data/f')
    assert.equal(r.stdout.trim(), 'hello')
    const status = JSON.parse(
      await e.dockerd.ok(['volume', 'inspect', '--format', '{{json .Status}}', 'pgdata']),
    )
    assert.equal(status.volume_id, v.id)
    assert.equal(status.cinder_status, 'available', 'released after the last container')
    assert.equal((await api.getVolume(v.id))?.attachments.length, 0)
    await e.dockerd.ok(['volume', 'rm', 'pgdata'])
    assert.equal(await api.getVolume(v.id).then((x) => x?.status ?? 'gone'), 'gone')
    assert.deepEqual(e.leaks(), { mounts: [], loops: [] })
  })

  it('a multiattach volume serves two containers at once', async () => {
    const e = env()
    await e.createVolume('shared', 'volume_type=multiattach', 'multiattach=true')
    const holder = await e.runDetached('shared', 'sh', '-c', 'echo one > /data/one && sleep 60')
    try {
      const r = await e.runOnce('shared', 'sh', '-c', 'sleep 1; cat /data/one')
      assert.equal(r.stdout.trim(), 'one', r.stderr)
    } finally {
      await e.dockerd.ok(['rm', '-f', holder])
    }
    await e.dockerd.ok(['volume', 'rm', 'shared'])
  })

  it('a volume made directly in Cinder with volume_from and a filesystem is listed and readable', async () => {
    const e = env()
    const made = await api.createVolume({
      name: 'premade',
      size: 1,
      metadata: { volume_from: volumeFrom, fstype: 'ext4' },
    })
    await api.waitForVolume(made.id, ['available'], WAIT)
    const att = await api.createAttachment(made.id, {
      connector: { ...hostConnectorProperties('test-host', '127.0.0.1'), host: 'prep' },
    })
    const dev = String(att.connection_info.device_path)
    const mnt = await mkdtemp('/var/lib/fuxi-test/premade-')
    try {
      execFileSync('mkfs.ext4', ['-q', dev])
      execFileSync('mount', [dev, mnt])
      await writeFile(`${mnt}/README`, 'made outside fuxi\n')
      execFileSync('umount', [mnt])
    } finally {
      await api.deleteAttachment(att.id)
      await rm(mnt, { recursive: true, force: true })
    }
    await api.waitForVolume(made.id, ['available'], WAIT)
    assert.ok((await e.listVolumes()).includes('premade'), 'listed by docker volume ls')
    const r = await e.runOnce('premade', 'cat', '/data/README')
    assert.equal(r.stdout, 'made outside fuxi\n', r.stderr)
    await e.dockerd.ok(['volume', 'rm', 'premade'])
  })

  it('rm of a volume attached to another host is refused and keeps it', async () => {
    const e = env()
    await e.createVolume('held')
    const v = await fuxiVolume(api, volumeFrom, 'held')
    const att = await api.createAttachment(v.id, {
      connector: {
        ...hostConnectorProperties('test-host', '127.0.0.1'),
        host: 'other-docker-host',
      },
    })
    await api.completeAttachment(att.id)
    await api.metadata.set(v.id, { [`fuxi_attachment_${att.id}`]: 'other-docker-host' }) // as fuxi there does
    try {
      const rm1 = await e.dockerd.docker(['volume', 'rm', 'held'])
      assert.notEqual(rm1.code, 0)
      assert.match(
        rm1.stderr,
        /attached to other-docker-host \(attachment [0-9a-f-]{36}, read-write\); stop its containers there first/,
      )
      const run = await e.runOnce('held', 'true')
      assert.notEqual(run.code, 0)
      assert.match(run.stderr, /attached to other-docker-host/)
      assert.equal((await api.getVolume(v.id))?.status, 'in-use')
    } finally {
      await api.deleteAttachment(att.id)
      await api.waitForVolume(v.id, ['available'], WAIT)
    }
    await e.dockerd.ok(['volume', 'rm', 'held'])
  })

  it('fuxi killed mid-mount, restarted: nothing half-attached, the volume works', async () => {
    const e = env()
    await e.createVolume('crashy')
    const v = await fuxiVolume(api, volumeFrom, 'crashy')
    await e.fuxi.stop()
    await e.fuxi.start({ FUXI_TEST_CRASH_AT: 'mount:formatting' })
    const r = await e.runOnce('crashy', 'true')
    assert.notEqual(r.code, 0, 'the container cannot start while fuxi dies')
    await e.fuxi.exited()
    await e.fuxi.start()
    const after = await api.getVolume(v.id)
    assert.equal(after?.status, 'available', 'the reconciler released the attachment')
    const w = await e.runOnce('crashy', 'sh', '-c', 'echo ok > /data/x && cat /data/x')
    assert.equal(w.stdout.trim(), 'ok', w.stderr)
    await e.dockerd.ok(['volume', 'rm', 'crashy'])
  })
})

describe('docker volumes on Cinder through a failing Cinder', () => {
  const volumeFrom = uniqueName('faulty')
  let proxy: Awaited<ReturnType<typeof faultProxy>> | undefined
  let projectEndpoint = ''
  before(async () => {
    proxy = await faultProxy(undefined, 'http://127.0.0.1:8776')
    const real = await cloudSession(devcloudAuth('openrc-demo')).endpoint('volumev3')
    projectEndpoint = real.replace('http://127.0.0.1:8776', proxy.url)
  })
  const env = useDockerEnv(before, after, {
    extra: () => cinderConf(volumeFrom, `endpoint_override = ${projectEndpoint}\ntimeout = 5`),
  })
  after(() => proxy?.close())
  const api = demoCinder()

  it('a 503 on attach gives a clear Err and leaves the volume unattached; the next run works', async () => {
    const e = env()
    await e.createVolume('flaky')
    const v = await fuxiVolume(api, volumeFrom, 'flaky')
    proxy?.inject('POST', { kind: 'status', status: 503 }, { path: /\/attachments$/ })
    const r = await e.runOnce('flaky', 'true')
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /volumev3 POST .*\/attachments failed \(HTTP 503\)/)
    assert.equal((await api.getVolume(v.id))?.status, 'available')
    assert.deepEqual(await api.listAttachments(v.id), [])
    proxy?.inject('POST', { kind: 'delay', ms: 8000 }, { path: /\/attachments\/.*\/action$/ })
    const slow = await e.runOnce('flaky', 'true')
    assert.notEqual(slow.code, 0)
    assert.match(slow.stderr, /no answer within 5000 ms/)
    await api.waitForVolume(v.id, ['available'], WAIT)
    assert.deepEqual(await api.listAttachments(v.id), [], 'the rollback deleted the attachment')
    const ok = await e.runOnce('flaky', 'sh', '-c', 'echo fine > /data/f && cat /data/f')
    assert.equal(ok.stdout.trim(), 'fine', ok.stderr)
    await e.dockerd.ok(['volume', 'rm', 'flaky'])
  })
})
