import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DOCKER_SKIP, type DockerEnv, useDockerEnv } from '../support/docker-env.ts'

describe('through a real dockerd: restarts and concurrency', { skip: DOCKER_SKIP }, () => {
  const getEnv = useDockerEnv(before, after)
  let env: DockerEnv
  before(() => {
    env = getEnv()
  })

  it('fuxi restarted while a container holds a volume: the data path stays, the later unmount works', async () => {
    const d = env.dockerd
    await env.createVolume('held')
    const c = await env.runDetached('held', 'sleep', '600')
    assert.equal(await env.fuxi.stop('SIGTERM'), 0)
    await d.ok(['exec', c, 'sh', '-c', 'echo while-down > /data/f'])
    await env.fuxi.start()
    assert.equal(await d.ok(['exec', c, 'cat', '/data/f']), 'while-down')
    assert.equal(env.leaks().mounts.length, 1)
    await d.ok(['stop', '-t', '1', c])
    assert.deepEqual(
      env.leaks(),
      { mounts: [], loops: [] },
      'Unmount with the pre-restart ID released the volume',
    )
    await d.ok(['rm', c])
  })

  it('dockerd restarted: the volumes are still listed and usable', async () => {
    const d = env.dockerd
    await env.createVolume('survivor', 'size=2')
    assert.equal((await env.runOnce('survivor', 'sh', '-c', 'echo before > /data/x')).code, 0)
    await d.restart()
    const ls = await env.listVolumes()
    assert.ok(ls.includes('survivor'), ls.join('\n'))
    const [info] = JSON.parse(await d.ok(['volume', 'inspect', 'survivor']))
    assert.equal(info.Status.size, '2')
    const r = await env.runOnce('survivor', 'cat', '/data/x')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim(), 'before')
  })

  it('20 concurrent docker run on 5 volumes: no error, no leaked mount', async () => {
    const vols = ['c0', 'c1', 'c2', 'c3', 'c4']
    for (const v of vols) await env.createVolume(v)
    const runs = Array.from({ length: 20 }, (_, i) =>
      env.runOnce(
        vols[i % vols.length] as string,
        'sh',
        '-c',
        `echo ${i} > /data/run-${i} && sleep 1 && ls /data`,
      ),
    )
    const results = await Promise.all(runs)
    for (const [i, r] of results.entries()) assert.equal(r.code, 0, `run ${i}: ${r.stderr}`)
    assert.deepEqual(env.leaks(), { mounts: [], loops: [] })
    for (const v of vols) {
      const files = (await env.runOnce(v, 'ls', '/data')).stdout.trim()
      assert.equal(
        files.split('\n').filter((f) => f.startsWith('run-')).length,
        4,
        `${v}: ${files}`,
      )
    }
  })
})
