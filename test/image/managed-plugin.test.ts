import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pkg from '../../package.json' with { type: 'json' }
import { buildImage, createPlugin, type DockerCli } from '../../scripts/plugin.ts'
import { parseMountInfo } from '../../src/host/mountinfo.ts'
import { CinderClient } from '../../src/openstack/cinder.ts'
import { ManilaClient } from '../../src/openstack/manila.ts'
import {
  cloudSession,
  DEVCLOUD_DIR,
  demoAuthConf,
  demoCloudsYaml,
  devcloudAuth,
  uniqueName,
} from '../support/devcloud.ts'
import { DOCKER_SKIP } from '../support/docker-env.ts'
import { Dockerd, TEST_IMAGE } from '../support/dockerd.ts'
import { loopsOf } from '../support/host-cleanup.ts'
import { ensureBaseImage } from '../support/image-base.ts'
import { STANDINS } from '../support/standins.ts'

const IMAGE = 'fuxi:test'
const PLUGIN = 'fuxi'
/** debootstrap (the first run on a machine) plus two apt installs inside docker build. */
const BUILD_TIMEOUT_MS = 15 * 60_000

/** Where the dev cloud's Manila driver keeps the shares it exports. */
const SHARES = join(DEVCLOUD_DIR, 'manila/shares')

/**
 * Test-only additions to the plugin (this kernel has no NFS client): the mount.nfs stand-in first
 * on PATH, and the dev cloud's share folders, which the stand-in bind-mounts as a server would
 * export them. Cinder needs nothing: the dev cloud's volumes arrive as loop devices in /dev.
 */
function withStandins(config: Record<string, unknown>): void {
  const mounts = config.mounts as object[]
  const bind = (name: string, path: string, options: string[]) =>
    mounts.push({ name, source: path, destination: path, type: 'bind', options })
  bind('test-standins', STANDINS, ['rbind', 'ro'])
  if (existsSync(SHARES)) bind('test-shares', SHARES, ['rbind'])
  ;(config.env as object[]).push({
    name: 'PATH',
    value: `${STANDINS}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
  })
}

/** The Dockerfile built on a debootstrapped Debian, the plugin made from it, used by a dockerd. */
describe('the image and the managed plugin', { skip: DOCKER_SKIP }, () => {
  let dockerd: Dockerd
  let dir: string
  let cli: DockerCli
  const vol = `plug${process.pid}`
  const cinderVol = `${vol}-cinder`
  const manilaVol = `${vol}-manila`

  before(async () => {
    await mkdir('/var/lib/fuxi-test', { recursive: true })
    dir = await mkdtemp('/var/lib/fuxi-test/plugin-')
    await mkdir(join(dir, 'etc'))
    await mkdir(join(dir, 'state'))
    await writeFile(join(dir, 'etc/fuxi.conf'), '[DEFAULT]\nvolume_providers = local\n')
    dockerd = await Dockerd.start()
    await dockerd.ensureImage()
    cli = async (args) => {
      const r = await dockerd.docker(args, BUILD_TIMEOUT_MS)
      if (r.code !== 0)
        throw new Error(
          `docker ${args.join(' ')} failed (${r.code}): ${r.stderr}\n${r.stdout.slice(-4000)}`,
        )
      return r.stdout.trim()
    }
  })

  after(async () => {
    if (dockerd) {
      // Containers first, so the plugin unmounts what they used before it stops.
      const ids = (await dockerd.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean)
      if (ids.length) await dockerd.docker(['rm', '-f', ...ids])
      // What a failed test left in the cloud goes through fuxi, which knows it made it.
      for (const v of [cinderVol, manilaVol]) await dockerd.docker(['volume', 'rm', '-f', v])
      await dockerd.docker(['plugin', 'disable', '-f', PLUGIN])
      await dockerd.docker(['plugin', 'rm', '-f', PLUGIN])
      await dockerd.stop()
    }
    for (const l of loopsOf([vol])) spawnSync('losetup', ['-d', l])
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('docker build of the Dockerfile: fuxi-server and every host tool fuxi calls are in the image', {
    timeout: BUILD_TIMEOUT_MS,
  }, async () => {
    const base = await ensureBaseImage(dockerd)
    await buildImage(cli, { tag: IMAGE, base })
    const check = await cli([
      'run',
      '--rm',
      '--network',
      'none',
      IMAGE,
      '--config-file',
      '/etc/fuxi/none.conf',
      '--check-config',
    ]).catch((e: Error) => e.message)
    assert.match(check, /none\.conf/, 'fuxi-server is the entry point and reads the named file')
    const tools = await cli([
      'run',
      '--rm',
      '--network',
      'none',
      '--entrypoint',
      'sh',
      IMAGE,
      '-c',
      'for t in node mkfs.ext4 mkfs.xfs losetup blkid mount umount iscsiadm mount.nfs mount.ceph rbd modprobe fuxi; do command -v $t >/dev/null || echo missing $t; done; node --version',
    ])
    assert.equal(tools, `v${process.versions.node}`, 'no tool is missing')
  })

  it('docker plugin create/enable, then create, write, read, dockerd restart, read, remove', {
    timeout: 6 * 60_000,
  }, async () => {
    assert.ok(
      (await dockerd.docker(['image', 'inspect', IMAGE])).code === 0,
      'the image test built it',
    )
    await createPlugin(cli, {
      name: PLUGIN,
      image: IMAGE,
      build: false,
      version: pkg.version,
      edit: withStandins,
    })
    await cli([
      'plugin',
      'set',
      PLUGIN,
      `config.source=${join(dir, 'etc')}`,
      `state.source=${join(dir, 'state')}`,
      `docker.source=${dockerd.socket}`,
      'FUXI_LOG_LEVEL=debug',
    ])
    await cli(['plugin', 'enable', PLUGIN])
    const [plugin] = JSON.parse(await cli(['plugin', 'inspect', PLUGIN]))
    assert.equal(plugin.Enabled, true)
    assert.deepEqual(plugin.Config.Interface.Types, ['docker.volumedriver/1.0'])

    await cli(['volume', 'create', '-d', PLUGIN, '-o', 'size=1', vol])
    const [info] = JSON.parse(await cli(['volume', 'inspect', vol]))
    assert.match(info.Driver, /^fuxi(:latest)?$/)
    assert.equal(info.Status.provider, 'local')
    assert.equal(info.Status.size, '1')
    const writer = await cli([
      'run',
      '-d',
      '--network',
      'none',
      '-v',
      `${vol}:/data`,
      TEST_IMAGE,
      'sh',
      '-c',
      'echo kept > /data/msg && sync && sleep 600',
    ])
    assert.equal(await cli(['exec', writer, 'sh', '-c', 'sleep 1; cat /data/msg']), 'kept')
    // The mount fuxi made inside the plugin reached the host through the propagated mount: the
    // volume is mounted in this (the host's) mount namespace under the plugin's folder.
    const propagated = join(dockerd.root, 'plugins')
    const hostMounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    assert.ok(
      hostMounts.some(
        (m) =>
          m.mountPoint.startsWith(propagated) &&
          m.mountPoint.endsWith(`/propagated-mount/local/${vol}`),
      ),
      `the volume is mounted under ${propagated}/<id>/propagated-mount on the host`,
    )
    await cli(['rm', '-f', writer])
    // Its state lives in the host folder the plugin was given, where a restart finds it.
    assert.ok(
      (await readdir(join(dir, 'state'), { recursive: true })).some((f) => String(f).includes(vol)),
      'the local image is under the state mount',
    )

    await dockerd.restart()
    const [again] = JSON.parse(await cli(['plugin', 'inspect', PLUGIN]))
    assert.equal(again.Enabled, true, 'the plugin is back after dockerd restarts')
    assert.match(
      await cli(['volume', 'ls', '--format', '{{.Name}} {{.Driver}}']),
      new RegExp(`^${vol} ${PLUGIN}(:latest)?$`, 'm'),
    )
    const read = await dockerd.docker([
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${vol}:/data`,
      TEST_IMAGE,
      'cat',
      '/data/msg',
    ])
    assert.equal(read.code, 0, read.stderr)
    assert.equal(read.stdout.trim(), 'kept')

    await cli(['volume', 'rm', vol])
    assert.doesNotMatch(
      await cli(['volume', 'ls', '--format', '{{.Name}} {{.Driver}}']),
      new RegExp(`^${vol} `, 'm'),
    )
    assert.ok(
      !(await readdir(join(dir, 'state'), { recursive: true })).some((f) =>
        String(f).includes(vol),
      ),
      'the image fuxi made is gone with the volume',
    )
    assert.deepEqual(loopsOf([vol]), [], 'no loop device is left on the image')
    assert.ok(existsSync(join(dir, 'state')))
  })

  it('cinder and manila through the plugin: create, write, dockerd restart, read, remove', {
    timeout: 6 * 60_000,
  }, async () => {
    const [plugin] = JSON.parse(await cli(['plugin', 'inspect', PLUGIN]))
    assert.equal(plugin.Enabled, true, 'the local test enabled it')
    const volumeFrom = uniqueName('plugin')
    await cli(['plugin', 'disable', PLUGIN])
    // Cinder's credentials from a clouds.yaml beside fuxi.conf (named by the plugin setting),
    // Manila's from fuxi.conf's own options.
    await writeFile(join(dir, 'etc/clouds.yaml'), demoCloudsYaml('demo', { password: true }), {
      mode: 0o600,
    })
    await writeFile(
      join(dir, 'etc/fuxi.conf'),
      [
        '[DEFAULT]',
        'volume_providers = cinder,manila',
        `volume_from = ${volumeFrom}`,
        'my_ip = 127.0.0.1',
        '[cinder]',
        'cloud = demo',
        'local_connection = true',
        ...demoAuthConf('manila'),
        '',
      ].join('\n'),
      { mode: 0o600 },
    )
    await cli(['plugin', 'set', PLUGIN, 'OS_CLIENT_CONFIG_FILE=/etc/fuxi/clouds.yaml'])
    await cli(['plugin', 'enable', PLUGIN])
    const cinder = new CinderClient(cloudSession(devcloudAuth('openrc-demo')))
    const manila = new ManilaClient(cloudSession(devcloudAuth('openrc-demo')))

    await cli(['volume', 'create', '-d', PLUGIN, '-o', 'size=1', cinderVol])
    await cli(['volume', 'create', '-d', PLUGIN, '-o', 'volume_provider=manila', manilaVol])
    const [volume] = await cinder.listVolumes({
      name: cinderVol,
      metadata: { volume_from: volumeFrom },
    })
    assert.equal(volume?.status, 'available', 'the Cinder volume exists')
    const [share] = await manila.listShares({
      name: manilaVol,
      metadata: { volume_from: volumeFrom },
    })
    assert.equal(share?.status, 'available', 'the Manila share exists')
    const run = (v: string, script: string) =>
      cli(['run', '--rm', '--network', 'none', '-v', `${v}:/data`, TEST_IMAGE, 'sh', '-c', script])
    for (const v of [cinderVol, manilaVol]) await run(v, `echo in-${v} > /data/f && sync`)
    assert.equal(
      (await cinder.getVolume(volume.id))?.attachments.length,
      0,
      'detached after the container',
    )

    await dockerd.restart()
    for (const v of [cinderVol, manilaVol]) assert.equal(await run(v, 'cat /data/f'), `in-${v}`)

    for (const v of [cinderVol, manilaVol]) await cli(['volume', 'rm', v])
    assert.equal(await cinder.getVolume(volume.id).then((x) => x?.status ?? 'gone'), 'gone')
    assert.deepEqual(
      await manila.listShares({ name: manilaVol, metadata: { volume_from: volumeFrom } }),
      [],
      'the share is deleted',
    )
    assert.deepEqual(loopsOf([volume.id]), [], 'no loop device left on the Cinder volume')
  })
})
