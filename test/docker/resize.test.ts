import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { DOCKER_SKIP, useDockerEnv } from '../support/docker-env.ts'

/** `fuxi --config-file F ARGS...` from the source (argv only). */
function fuxi(configFile: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', '--config-file', configFile, ...args],
      (err, stdout, stderr) =>
        resolve({
          code: err ? Number((err as { code?: number }).code ?? 1) : 0,
          out: stdout + stderr,
        }),
    )
  })
}

describe('fuxi resize through a real dockerd', { skip: DOCKER_SKIP }, () => {
  const env = useDockerEnv(before, after)

  it('grows an xfs volume while a container writes: the data and the new size are both there', async () => {
    const e = env()
    await e.createVolume('grow', 'size=1', 'fstype=xfs')
    const writer = await e.runDetached(
      'grow',
      'sh',
      '-c',
      'i=0; while true; do i=$((i+1)); echo $i >> /data/count; sleep 0.05; done',
    )
    try {
      const kib = async () =>
        Number(
          (await e.dockerd.ok(['exec', writer, 'df', '-k', '/data']))
            .split('\n')[1]
            ?.split(/\s+/)[1],
        )
      assert.ok((await kib()) < 1.1 * 1024 * 1024)
      const shrink = await fuxi(e.fuxi.configFile, ['resize', 'grow', '0'])
      assert.equal(shrink.code, 1, shrink.out)
      const grown = await fuxi(e.fuxi.configFile, ['resize', 'grow', '3'])
      assert.equal(grown.code, 0, grown.out)
      assert.match(grown.out, /^grow: 3 GiB$/m)
      assert.ok((await kib()) > 2.7 * 1024 * 1024, 'the container sees the new size at once')
      await new Promise((r) => setTimeout(r, 300))
      const lines = (await e.dockerd.ok(['exec', writer, 'cat', '/data/count'])).split('\n')
      assert.deepEqual(
        lines,
        lines.map((_, i) => String(i + 1)),
        'every line the writer wrote, in order, before, during and after the resize',
      )
      const [info] = JSON.parse(await e.dockerd.ok(['volume', 'inspect', 'grow']))
      assert.equal(info.Status.size, '3')
    } finally {
      await e.dockerd.ok(['rm', '-f', writer])
    }
    await e.dockerd.ok(['volume', 'rm', 'grow'])
    assert.deepEqual(e.leaks(), { mounts: [], loops: [] })
  })
})
