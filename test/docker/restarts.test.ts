import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DOCKER_SKIP, type DockerEnv, useDockerEnv } from '../support/docker-env.ts'
import { TEST_IMAGE } from '../support/dockerd.ts'

describe('through a real dockerd: restarts and concurrency', { skip: DOCKER_SKIP }, () => {
  const getEnv = useDockerEnv(before, after)
  let env: DockerEnv
  before(() => {
    env = getEnv()
  })

  it('fuxi restarted while a container holds a volume: the data path stays, the later unmount works', async () => {
    const d = env.dockerd
    await d.ok(['volume', 'create', '-d', env.driver, 'held'])
    const c = await d.ok([
      'run',
      '-d',
      '--network',
      'none',
      '-v',
      'held:/data',
      TEST_IMAGE,
      'sleep',
      '600',
    ])
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
    await d.ok(['volume', 'create', '-d', env.driver, '-o', 'size=2', 'survivor'])
    await d.ok([
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      'survivor:/data',
      TEST_IMAGE,
      'sh',
      '-c',
      'echo before > /data/x',
    ])
    await d.restart()
    const ls = await d.ok([
      'volume',
      'ls',
      '--filter',
      `driver=${env.driver}`,
      '--format',
      '{{.Name}}',
    ])
    assert.ok(ls.split('\n').includes('survivor'), ls)
    const [info] = JSON.parse(await d.ok(['volume', 'inspect', 'survivor']))
    assert.equal(info.Status.size, '2')
    const r = await d.ok([
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      'survivor:/data',
      TEST_IMAGE,
      'cat',
      '/data/x',
    ])
    assert.equal(r, 'before')
  })

  it('20 concurrent docker run on 5 volumes: no error, no leaked mount', async () => {
    const d = env.dockerd
    const vols = ['c0', 'c1', 'c2', 'c3', 'c4']
    for (const v of vols) await d.ok(['volume', 'create', '-d', env.driver, v])
    const runs = Array.from({ length: 20 }, (_, i) => {
      const v = vols[i % vols.length] as string
      return d.docker([
        'run',
        '--rm',
        '--network',
        'none',
        '-v',
        `${v}:/data`,
        TEST_IMAGE,
        'sh',
        '-c',
        `echo ${i} > /data/run-${i} && sleep 1 && ls /data`,
      ])
    })
    const results = await Promise.all(runs)
    for (const [i, r] of results.entries()) assert.equal(r.code, 0, `run ${i}: ${r.stderr}`)
    assert.deepEqual(env.leaks(), { mounts: [], loops: [] })
    for (const v of vols) {
      const files = await d.ok([
        'run',
        '--rm',
        '--network',
        'none',
        '-v',
        `${v}:/data`,
        TEST_IMAGE,
        'ls',
        '/data',
      ])
      assert.equal(
        files.split('\n').filter((f) => f.startsWith('run-')).length,
        4,
        `${v}: ${files}`,
      )
    }
  })
})
