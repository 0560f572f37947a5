import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { DOCKER_SKIP, type DockerEnv, useDockerEnv } from '../support/docker-env.ts'

describe('through a real dockerd: volume lifecycle', { skip: DOCKER_SKIP }, () => {
  const getEnv = useDockerEnv(before, after)
  let env: DockerEnv
  before(() => {
    env = getEnv()
  })

  it('creates with and without options; ls and inspect show them with Status', async () => {
    await env.createVolume('plain')
    await env.createVolume('sized', 'size=2', 'fstype=xfs')
    assert.deepEqual(await env.listVolumes(), ['plain', 'sized'])
    const [info] = JSON.parse(await env.dockerd.ok(['volume', 'inspect', 'sized']))
    assert.equal(info.Driver, env.driver)
    assert.equal(info.Status.provider, 'local')
    assert.equal(info.Status.size, '2')
    assert.equal(info.Status.fstype, 'xfs')
    assert.equal(info.Status.mounted, false)
    assert.notEqual(info.CreatedAt, '0001-01-01T00:00:00Z')
    assert.equal(info.Scope, 'local')
  })

  it('a container writes and a second container reads', async () => {
    await env.createVolume('share')
    const w = await env.runOnce('share', 'sh', '-c', 'echo hello-fuxi > /data/msg && sync')
    assert.equal(w.code, 0, w.stderr)
    const r = await env.runOnce('share', 'cat', '/data/msg')
    assert.equal(r.stdout.trim(), 'hello-fuxi')
    assert.deepEqual(
      env.leaks(),
      { mounts: [], loops: [] },
      'unmounted and detached after the containers ended',
    )
  })

  it('two containers on one volume: stopping one leaves the other working; docker cp does not unmount', async () => {
    const d = env.dockerd
    await env.createVolume('duo')
    const a = await env.runDetached('duo', 'sleep', '600')
    const b = await env.runDetached('duo', 'sleep', '600')
    await d.ok(['exec', a, 'sh', '-c', 'echo from-a > /data/a'])
    // docker cp into the running container mounts and unmounts with the container's own ID
    await d.ok(['cp', `${process.cwd()}/package.json`, `${b}:/data/copied.json`])
    await d.ok(['cp', `${process.cwd()}/package.json`, `${b}:/data/copied2.json`])
    assert.equal(await d.ok(['exec', b, 'cat', '/data/a']), 'from-a')
    await d.ok(['rm', '-f', a])
    assert.equal(
      await d.ok(['exec', b, 'sh', '-c', 'echo from-b > /data/b && cat /data/b /data/a']),
      'from-b\nfrom-a',
    )
    assert.match(await d.ok(['exec', b, 'ls', '/data']), /copied\.json/)
    const [info] = JSON.parse(await d.ok(['volume', 'inspect', 'duo']))
    assert.equal(info.Status.mounted, true)
    assert.equal(info.Status.refs, 1)
    await d.ok(['rm', '-f', b])
    assert.deepEqual(env.leaks(), { mounts: [], loops: [] })
  })

  it('rm while in use is refused and keeps the data; rm after use removes everything', async () => {
    const d = env.dockerd
    await env.createVolume('busy')
    const c = await env.runDetached('busy', 'sh', '-c', 'echo keep > /data/k; sleep 600')
    const rm1 = await d.docker(['volume', 'rm', 'busy'])
    assert.notEqual(rm1.code, 0)
    assert.match(rm1.stderr, /volume is in use/)
    const rm2 = await d.docker(['volume', 'rm', '-f', 'busy'])
    assert.notEqual(rm2.code, 0)
    assert.equal(await d.ok(['exec', c, 'cat', '/data/k']), 'keep')
    await d.ok(['rm', '-f', c])
    await d.ok(['volume', 'rm', 'busy'])
    assert.equal(existsSync(`${env.dir}/state/local/busy.img`), false)
    assert.equal(existsSync(`${env.dir}/state/volumes/busy.json`), false)
    assert.equal(existsSync(`${env.dir}/data/local/busy`), false)
    assert.deepEqual(env.leaks(), { mounts: [], loops: [] })
  })

  it('bad names and bad option values give a clear error and leave nothing behind', async () => {
    const d = env.dockerd
    const cases: [string[], RegExp][] = [
      [
        ['-o', 'size=lots', 'badsize'],
        /invalid value for option "size": "lots"; use a whole number of GiB/,
      ],
      [
        ['-o', 'fstype=ntfs', 'badfs'],
        /invalid value for option "fstype": "ntfs"; use one of: ext4, xfs/,
      ],
      [
        ['-o', 'colour=red', 'badopt'],
        /unknown option "colour" for provider local; valid options: size, fstype, suid, dev, mount_options, subdir, uid, gid, mode, volume_provider/,
      ],
      [['-o', 'volume_provider=cinder', 'badprov'], /enabled providers: local/],
      [['a..b'], /invalid volume name "a\.\.b"/],
      [['$(id)'], /invalid volume name/],
      [['x'.repeat(200)], /the limit is 128/],
    ]
    for (const [args, re] of cases) {
      const r = await d.docker(['volume', 'create', '-d', env.driver, ...args])
      assert.notEqual(r.code, 0, args.join(' '))
      assert.match(r.stderr, re, args.join(' '))
    }
    const ls = (await env.listVolumes()).join('\n')
    assert.ok(!/bad|a\.\.b|\$\(id\)|xxxx/.test(ls), ls)
    assert.ok(!readdirSync(`${env.dir}/state/local`).some((f) => f.startsWith('bad')))
  })
})
