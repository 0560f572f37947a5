import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { describe, it, type TestContext } from 'node:test'
import { Daemon } from '../support/daemon.ts'
import { cleanupUnder, leaksUnder } from '../support/host-cleanup.ts'
import { tmpDir } from '../support/tmp.ts'

const ROOT_SKIP =
  process.getuid?.() !== 0 ? 'host tier needs root (loop devices, mkfs, mount)' : false

async function setup(t: TestContext) {
  let daemon: Daemon | undefined
  const dir: string = await tmpDir(t, 'fuxi-crash-', async () => {
    await daemon?.stop('SIGKILL')
    const leaked = cleanupUnder(dir)
    assert.deepEqual(leaked, { mounts: [], loops: [] }, 'test leaked mounts or loop devices')
  })
  daemon = await Daemon.create(dir, { extra: `docker_socket = ${dir}/no-docker.sock\n` })
  return { dir, daemon }
}

/** Start with FUXI_TEST_CRASH_AT, send the request the daemon dies in, restart cleanly. */
async function crashDuring(daemon: Daemon, point: string, method: string, body: object) {
  await daemon.stop()
  await daemon.start({ FUXI_TEST_CRASH_AT: point })
  await assert.rejects(daemon.call(method, body), /socket hang up|ECONNRESET/)
  await daemon.exited()
  assert.equal(daemon.proc?.signalCode, 'SIGKILL')
  await daemon.start()
}

describe('kill -9 between the steps of a mount or unmount, then restart', {
  skip: ROOT_SKIP,
}, () => {
  it('during the first format: format is finished, device released, volume usable', async (t) => {
    const { dir, daemon } = await setup(t)
    await daemon.start()
    assert.equal((await daemon.call('VolumeDriver.Create', { Name: 'f', Opts: null })).Err, '')
    await crashDuring(daemon, 'mount:formatting', 'VolumeDriver.Mount', { Name: 'f', ID: 'A' })
    assert.deepEqual(leaksUnder(dir), { mounts: [], loops: [] })
    assert.match(daemon.log, /finished an interrupted format/)
    const m = await daemon.call('VolumeDriver.Mount', { Name: 'f', ID: 'B' })
    assert.equal(m.Err, '')
    writeFileSync(`${m.Mountpoint}/ok`, '1')
    assert.equal((await daemon.call('VolumeDriver.Unmount', { Name: 'f', ID: 'B' })).Err, '')
  })

  for (const point of ['mount:mounting', 'mount:before-commit']) {
    it(`at ${point}: the half-done mount is rolled back and data is intact`, async (t) => {
      const { dir, daemon } = await setup(t)
      await daemon.start()
      await daemon.call('VolumeDriver.Create', { Name: 'v', Opts: { size: '1' } })
      const m = await daemon.call('VolumeDriver.Mount', { Name: 'v', ID: 'A' })
      writeFileSync(`${m.Mountpoint}/data.txt`, 'precious')
      await daemon.call('VolumeDriver.Unmount', { Name: 'v', ID: 'A' })
      await crashDuring(daemon, point, 'VolumeDriver.Mount', { Name: 'v', ID: 'B' })
      assert.deepEqual(
        leaksUnder(dir),
        { mounts: [], loops: [] },
        'nothing left attached after restart',
      )
      const st = (await daemon.call('VolumeDriver.Get', { Name: 'v' })).Volume as {
        Status: Record<string, unknown>
      }
      assert.equal(st.Status.refs, 0)
      assert.equal(st.Status.phase, 'idle')
      const again = await daemon.call('VolumeDriver.Mount', { Name: 'v', ID: 'C' })
      assert.equal(readFileSync(`${again.Mountpoint}/data.txt`, 'utf8'), 'precious')
      await daemon.call('VolumeDriver.Unmount', { Name: 'v', ID: 'C' })
      assert.equal((await daemon.call('VolumeDriver.Remove', { Name: 'v' })).Err, '')
    })
  }

  it('during the last unmount: the unmount is finished at restart and data is intact', async (t) => {
    const { dir, daemon } = await setup(t)
    await daemon.start()
    await daemon.call('VolumeDriver.Create', { Name: 'u', Opts: null })
    const m = await daemon.call('VolumeDriver.Mount', { Name: 'u', ID: 'A' })
    writeFileSync(`${m.Mountpoint}/data.txt`, 'kept')
    await daemon.stop()
    await daemon.start({ FUXI_TEST_CRASH_AT: 'unmount:before-work' })
    await assert.rejects(daemon.call('VolumeDriver.Unmount', { Name: 'u', ID: 'A' }))
    await daemon.exited()
    assert.equal(leaksUnder(dir).mounts.length, 1, 'the crash left the volume mounted')
    await daemon.start()
    assert.deepEqual(leaksUnder(dir), { mounts: [], loops: [] })
    const again = await daemon.call('VolumeDriver.Mount', { Name: 'u', ID: 'B' })
    assert.equal(readFileSync(`${again.Mountpoint}/data.txt`, 'utf8'), 'kept')
    await daemon.call('VolumeDriver.Unmount', { Name: 'u', ID: 'B' })
  })

  it('a plain restart (SIGTERM) keeps mounts in place and the old mount ID still unmounts', async (t) => {
    const { dir, daemon } = await setup(t)
    await daemon.start()
    await daemon.call('VolumeDriver.Create', { Name: 'keep', Opts: null })
    await daemon.call('VolumeDriver.Mount', { Name: 'keep', ID: 'A' })
    assert.equal(await daemon.stop('SIGTERM'), 0)
    assert.equal(leaksUnder(dir).mounts.length, 1, 'mount kept while the daemon is down')
    await daemon.start()
    assert.equal(leaksUnder(dir).mounts.length, 1)
    assert.equal((await daemon.call('VolumeDriver.Unmount', { Name: 'keep', ID: 'A' })).Err, '')
    assert.deepEqual(leaksUnder(dir), { mounts: [], loops: [] })
  })

  it('a second daemon on the same state directory is refused', async (t) => {
    const { dir, daemon } = await setup(t)
    await daemon.start()
    const other = await Daemon.create(dir, { socket: `${dir}/other.sock` })
    await assert.rejects(other.start(), /another fuxi daemon \(pid \d+\)/)
  })

  it('two daemons started at the same moment on one state directory: exactly one runs', async (t) => {
    const { dir } = await setup(t)
    const one = await Daemon.create(dir, { socket: `${dir}/one.sock` })
    // The same state directory; its own config file and socket.
    const text = readFileSync(one.configFile, 'utf8').replace(`${dir}/one.sock`, `${dir}/two.sock`)
    writeFileSync(`${dir}/two.conf`, text)
    const two = new Daemon(dir, `${dir}/two.conf`, `${dir}/two.sock`)
    t.after(async () => {
      await Promise.all([one.stop('SIGKILL'), two.stop('SIGKILL')])
    })
    const started = await Promise.allSettled([one.start(), two.start()])
    assert.deepEqual(
      started.map((r) => r.status).sort(),
      ['fulfilled', 'rejected'],
      started
        .map((r) => (r.status === 'rejected' ? String(r.reason).slice(0, 300) : 'ok'))
        .join('\n'),
    )
    const refused = started.find((r) => r.status === 'rejected') as PromiseRejectedResult
    assert.match(String(refused.reason), /another fuxi daemon \(pid \d+\)/)
  })
})

describe('admin CLI against a running daemon', { skip: ROOT_SKIP }, () => {
  it('lists volumes with their state and runs reconcile', async (t) => {
    const { dir, daemon } = await setup(t)
    await daemon.start()
    await daemon.call('VolumeDriver.Create', { Name: 'cli1', Opts: { size: '2' } })
    await daemon.call('VolumeDriver.Mount', { Name: 'cli1', ID: 'A' })
    const { execFileSync } = await import('node:child_process')
    const cli = (...args: string[]) =>
      execFileSync(
        process.execPath,
        ['--import', 'tsx', 'src/cli.ts', '--config-file', daemon.configFile, ...args],
        {
          cwd: new URL('../..', import.meta.url).pathname,
        },
      ).toString()
    const ls = cli('ls')
    assert.match(ls, /^NAME\s+PROVIDER\s+SIZE\s+FSTYPE\s+MOUNTED\s+REFS\s+PHASE$/m)
    assert.match(ls, /^cli1\s+local\s+2G\s+ext4\s+yes\s+1\s+idle$/m)
    assert.equal(cli('reconcile'), 'nothing to do: journal, mounts and devices agree\n')
    // unmount behind fuxi's back: reconcile re-mounts the referenced volume
    const { execFileSync: run } = await import('node:child_process')
    run('umount', [`${dir}/data/local/cli1`])
    assert.match(cli('reconcile'), /cli1: re-mounted a volume that containers still reference/)
    assert.equal(JSON.parse(cli('inspect', 'cli1')).Status.mounted, true)
    await daemon.call('VolumeDriver.Unmount', { Name: 'cli1', ID: 'A' })
  })
})

describe('the production bundle', { skip: ROOT_SKIP }, () => {
  it('has no crash points: FUXI_TEST_CRASH_AT does nothing there', async (t) => {
    execFileSync(process.execPath, ['scripts/build.mjs'], {
      cwd: new URL('../..', import.meta.url),
    })
    const { daemon } = await setup(t)
    daemon.production = true
    await daemon.start({ FUXI_TEST_CRASH_AT: 'mount:before-commit' })
    await daemon.call('VolumeDriver.Create', { Name: 'p', Opts: null })
    const m = await daemon.call('VolumeDriver.Mount', { Name: 'p', ID: 'A' })
    assert.equal(m.Err, '')
    assert.equal(daemon.proc?.exitCode, null, 'still running')
    assert.equal((await daemon.call('VolumeDriver.Unmount', { Name: 'p', ID: 'A' })).Err, '')
    assert.doesNotMatch(daemon.log, /killing myself/)
  })
})
