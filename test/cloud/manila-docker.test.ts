import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { parseMountInfo } from '../../src/host/mountinfo.ts'
import { ManilaClient, type ManilaShare } from '../../src/openstack/manila.ts'
import { cloudSession, demoAuthConf, devcloudAuth, uniqueName } from '../support/devcloud.ts'
import { useDockerEnv } from '../support/docker-env.ts'
import { STANDIN_PATH } from '../support/standins.ts'

/**
 * Docker → fuxi → the dev cloud's Manila, as the non-admin user. This kernel has no NFS client:
 * fuxi runs with the test-only mount.nfs stand-in first on PATH, which bind-mounts the exported
 * directory once the share's access rules allow this host.
 */
function manilaConf(volumeFrom: string, providers = 'manila'): string {
  return [
    `volume_providers = ${providers}`,
    `volume_from = ${volumeFrom}`,
    'my_ip = 127.0.0.1',
    ...(providers.includes('cinder')
      ? ['[cinder]', 'auth_section = manila', 'local_connection = true']
      : []),
    ...demoAuthConf('manila'),
  ].join('\n')
}

async function fuxiShare(
  api: ManilaClient,
  volumeFrom: string,
  name: string,
): Promise<ManilaShare> {
  const [s] = await api.listShares({ name, metadata: { volume_from: volumeFrom } })
  return s ?? assert.fail(`no Manila share "${name}" with volume_from=${volumeFrom}`)
}

const mounted = (path: string) =>
  parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')).some((m) => m.mountPoint === path)

describe('docker volumes on Manila (dev cloud, mount.nfs stand-in)', () => {
  const volumeFrom = uniqueName('docker')
  const env = useDockerEnv(before, after, {
    extra: () => manilaConf(volumeFrom),
    env: { PATH: STANDIN_PATH },
  })
  const api = new ManilaClient(cloudSession(devcloudAuth('openrc-demo')))

  it('create → two containers share files at once → inspect shows Manila → rm deletes it', async () => {
    const e = env()
    await e.createVolume('web', 'size=1')
    const s = await fuxiShare(api, volumeFrom, 'web')
    assert.equal(s.status, 'available')
    assert.deepEqual(await api.listAccessRules(s.id), [], 'Create gives no access')
    const holder = await e.runDetached(
      'web',
      'sh',
      '-c',
      'echo one > /data/one; while [ ! -f /data/two ]; do sleep 0.2; done; cat /data/two; sleep 60',
    )
    try {
      const r = await e.runOnce(
        'web',
        'sh',
        '-c',
        'sleep 0.5; cat /data/one && echo two > /data/two',
      )
      assert.equal(r.stdout.trim(), 'one', r.stderr)
      const deadline = Date.now() + 10_000
      while (!(await e.dockerd.ok(['logs', holder])).includes('two') && Date.now() < deadline)
        await new Promise((res) => setTimeout(res, 100))
      assert.equal(
        (await e.dockerd.ok(['logs', holder])).trim(),
        'two',
        'the first container saw the second one write',
      )
      const status = JSON.parse(
        await e.dockerd.ok(['volume', 'inspect', '--format', '{{json .Status}}', 'web']),
      )
      assert.equal(status.share_id, s.id)
      assert.equal(status.share_proto, 'NFS')
      assert.equal(status.manila_status, 'available')
      assert.match(status.export_path, /^127\.0\.0\.1:\/.*share-/)
      assert.deepEqual(status.access, [
        { type: 'ip', to: '127.0.0.1', level: 'rw', state: 'active', this_host: true },
      ])
    } finally {
      await e.dockerd.ok(['rm', '-f', holder])
    }
    assert.deepEqual(
      await api.listAccessRules(s.id),
      [],
      'the last container out took the access back',
    )
    await e.dockerd.ok(['volume', 'rm', 'web'])
    assert.equal(await api.getShare(s.id), undefined)
    assert.deepEqual(e.leaks().mounts, [])
  })

  it('fuxi restarted under a running container: the share stays; a lost mount is mounted again', async () => {
    const e = env()
    await e.createVolume('keep')
    const s = await fuxiShare(api, volumeFrom, 'keep')
    const holder = await e.runDetached('keep', 'sh', '-c', 'echo alive > /data/f; sleep 120')
    const mp = `${e.dir}/data/manila/keep`
    try {
      assert.ok(mounted(mp))
      await e.fuxi.stop('SIGKILL')
      await e.fuxi.start()
      assert.ok(mounted(mp), 'a restart leaves the mount alone')
      assert.equal((await api.listAccessRules(s.id)).length, 1)
      // The mount disappears while fuxi is down (e.g. an operator's umount): the next start
      // mounts it again, because a running container still references the volume.
      await e.fuxi.stop()
      execFileSync('umount', [mp])
      await e.fuxi.start()
      assert.ok(mounted(mp), 're-mounted by the reconciler')
      assert.equal(readFileSync(`${mp}/f`, 'utf8'), 'alive\n')
      assert.match(e.fuxi.log, /re-mounted a volume that containers still reference/)
    } finally {
      await e.dockerd.ok(['rm', '-f', holder])
    }
    assert.ok(!mounted(mp))
    assert.deepEqual(await api.listAccessRules(s.id), [])
    await e.dockerd.ok(['volume', 'rm', 'keep'])
  })

  it('bad options are refused with the list of valid ones, and make nothing', async () => {
    const e = env()
    for (const [opt, want] of [
      [
        'share_proto=CIFS',
        /invalid value for option "share_proto": "CIFS"; use one of: NFS, CEPHFS/,
      ],
      [
        'fstype=ext4',
        /unknown option "fstype" for provider manila; valid options: share_proto, size/,
      ],
      ['size=0', /invalid value for option "size"/],
    ] as const) {
      const r = await e.dockerd.docker(['volume', 'create', '-d', e.driver, '-o', opt, 'nope'])
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, want)
    }
    assert.deepEqual(
      await api.listShares({ name: 'nope', metadata: { volume_from: volumeFrom } }),
      [],
    )
    assert.ok(!(await e.listVolumes()).includes('nope'))
  })
})

describe('docker volumes on Cinder and Manila from one fuxi', () => {
  const volumeFrom = uniqueName('both')
  const env = useDockerEnv(before, after, {
    extra: () => manilaConf(volumeFrom, 'cinder,manila'),
    env: { PATH: STANDIN_PATH },
  })

  it('the first provider is the default; -o volume_provider=manila picks Manila; ls shows both', async () => {
    const e = env()
    await e.createVolume('blk')
    await e.createVolume('nfs', 'volume_provider=manila')
    const provider = async (name: string) =>
      JSON.parse(await e.dockerd.ok(['volume', 'inspect', '--format', '{{json .Status}}', name]))
    const blk = await provider('blk')
    const nfs = await provider('nfs')
    assert.equal(blk.provider, 'cinder')
    assert.ok(blk.volume_id, 'a Cinder volume')
    assert.equal(nfs.provider, 'manila')
    assert.ok(nfs.share_id, 'a Manila share')
    assert.deepEqual(await e.listVolumes(), ['blk', 'nfs'])
    const r = await e.runOnce('nfs', 'sh', '-c', 'echo shared > /data/f && cat /data/f')
    assert.equal(r.stdout.trim(), 'shared', r.stderr)
    await e.dockerd.ok(['volume', 'rm', 'blk', 'nfs'])
    assert.deepEqual(await e.listVolumes(), [])
  })
})
