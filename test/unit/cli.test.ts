import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { tmpDir } from '../support/tmp.ts'

const ROOT = new URL('../..', import.meta.url).pathname

interface Ran {
  code: number
  stdout: string
  stderr: string
}

/** `fuxi ARGS` from source, with no OS_* variables and HOME in a place without clouds.yaml. */
function fuxi(args: readonly string[], cwd = '/'): Promise<Ran> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: '/nonexistent' }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli.ts'), ...args],
      { cwd, env },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr }),
    )
  })
}

const STATUS = {
  provider: 'local',
  size: 2,
  fstype: 'ext4',
  mounted: true,
  refs: 1,
  phase: 'idle',
}

/** A stand-in daemon on a unix socket that notes every request and answers as fuxi would. */
async function fakeDaemon(
  t: TestContext,
  o: { old?: boolean } = {},
): Promise<{ conf: string; paths: string[] }> {
  const dir = await tmpDir(t)
  const socket = join(dir, 'fuxi.sock')
  const paths: string[] = []
  const answers: Record<string, object> = {
    '/Plugin.Activate': { Implements: ['VolumeDriver'] },
    '/Fuxi.List': {
      Volumes: [
        { Name: 'pg', Mountpoint: '/fuxi/data/local/pg', Status: STATUS },
        { Name: 'cold', Mountpoint: '', Status: { ...STATUS, mounted: false, refs: 0 } },
      ],
      Err: '',
    },
    '/Fuxi.Reconcile': { Actions: [{ volume: 'pg', action: 're-mounted' }], Err: '' },
    '/Fuxi.Stats': { UptimeS: 5, Volumes: 2, Err: '' },
  }
  const srv = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => {
      body += c
    })
    req.on('end', () => {
      paths.push(req.url ?? '')
      const name = body ? (JSON.parse(body) as { Name?: string }).Name : undefined
      let answer = answers[req.url ?? ''] ?? { Err: `unknown endpoint POST ${req.url}` }
      if (o.old && req.url === '/Fuxi.List') answer = { Err: 'unknown endpoint POST /Fuxi.List' }
      if (req.url === '/VolumeDriver.Get')
        answer =
          name === 'pg'
            ? { Volume: { Name: 'pg', Mountpoint: '', Status: STATUS }, Err: '' }
            : { Err: `volume "${name}" not found` }
      res.end(JSON.stringify(answer))
    })
  })
  await new Promise<void>((r) => srv.listen(socket, r))
  t.after(() => new Promise<void>((r) => srv.close(() => r())))
  const conf = join(dir, 'fuxi.conf')
  await writeFile(
    conf,
    `[DEFAULT]\nsocket_path = ${socket}\nstate_dir = ${dir}/state\ndocker_socket = ${dir}/none.sock\n`,
    { mode: 0o600 },
  )
  return { conf, paths }
}

const json = (r: Ran) => JSON.parse(r.stdout) as Record<string, unknown>

describe('the fuxi command line', () => {
  it('fuxi ls asks the daemon once for every volume with its state', async (t) => {
    const d = await fakeDaemon(t)
    const ls = await fuxi(['--config-file', d.conf, 'ls'])
    assert.equal(ls.code, 0, ls.stderr)
    assert.equal(
      ls.stdout,
      [
        'NAME  PROVIDER  SIZE  FSTYPE  MOUNTED  REFS  PHASE',
        'pg    local     2G    ext4    yes      1     idle',
        'cold  local     2G    ext4    no       0     idle',
        '',
      ].join('\n'),
    )
    assert.deepEqual(d.paths, ['/Fuxi.List'], 'one request, no Get per volume')
  })

  it('--json on every command: one JSON object with ok, and the exit status', async (t) => {
    const d = await fakeDaemon(t)
    const c = ['--config-file', d.conf, '--json']
    const [ls, inspect, reconcile, stats, version, check, help, doctor] = await Promise.all([
      fuxi([...c, 'ls']),
      fuxi([...c, 'inspect', 'pg']),
      fuxi([...c, 'reconcile']),
      fuxi([...c, 'stats']),
      fuxi(['--version', '--json']),
      fuxi([...c, 'check-config']),
      fuxi(['help', '--json']),
      fuxi([...c, 'doctor']),
    ])
    const volumes = json(ls).volumes as { name: string; status: typeof STATUS }[]
    assert.deepEqual(
      volumes.map((v) => [v.name, v.status.mounted]),
      [
        ['pg', true],
        ['cold', false],
      ],
    )
    assert.deepEqual(json(inspect), {
      ok: true,
      volume: { Name: 'pg', Mountpoint: '', Status: STATUS },
    })
    assert.deepEqual(json(reconcile), {
      ok: true,
      actions: [{ volume: 'pg', action: 're-mounted' }],
    })
    assert.deepEqual(json(stats), { ok: true, UptimeS: 5, Volumes: 2 })
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      version: string
    }
    assert.deepEqual(json(version), { ok: true, version: pkg.version })
    assert.deepEqual(json(check), { ok: true, file: d.conf, providers: ['local'] })
    assert.equal(json(help).ok, true)
    const report = json(doctor) as { ok: boolean; checks: { name: string }[] }
    assert.equal(doctor.code, report.ok ? 0 : 1)
    assert.ok(report.checks.some((x) => x.name === 'daemon'))
    for (const r of [ls, inspect, reconcile, stats, version, check, help])
      assert.equal(r.code, 0, r.stdout)
  })

  it('errors are JSON too, each with its code and exit status: 1 failed, 2 usage, 3 config, 4 no daemon', async (t) => {
    const d = await fakeDaemon(t)
    const dir = await tmpDir(t)
    await writeFile(`${dir}/bad.conf`, '[local]\nsise = 10\n')
    const c = ['--config-file', d.conf, '--json']
    const [refused, unknown, noName, badConf, gone, plain] = await Promise.all([
      fuxi([...c, 'inspect', 'nope']),
      fuxi([...c, 'frobnicate']),
      fuxi([...c, 'inspect']),
      fuxi(['--json', '--config-file', `${dir}/bad.conf`, 'ls']),
      fuxi(['--json', '--config-file', `${dir}/bad.conf`, 'check-config']),
      fuxi(['--config-file', d.conf, 'ls', 'extra']),
    ])
    const err = (r: Ran) => json(r) as { ok: boolean; error: { code: string; message: string } }
    assert.deepEqual([refused.code, err(refused).error.code], [1, 'DAEMON_REFUSED'])
    assert.match(err(refused).error.message, /volume "nope" not found/)
    assert.deepEqual([unknown.code, err(unknown).error.code], [2, 'INVALID_REQUEST'])
    assert.match(err(unknown).error.message, /unknown command "frobnicate"/)
    assert.deepEqual([noName.code, err(noName).error.message], [2, 'inspect takes one volume name'])
    assert.deepEqual([badConf.code, err(badConf).error.code], [3, 'CONFIG'])
    assert.match(String((json(badConf).error as { problems: string[] }).problems), /sise/)
    assert.equal(gone.code, 3)
    assert.equal(err(gone).ok, false)
    // Without --json: the message on stderr, nothing on stdout.
    assert.deepEqual([plain.code, plain.stdout], [2, ''])
    assert.match(plain.stderr, /^fuxi: ls takes no arguments \(fuxi --help lists the commands\)$/m)
    await writeFile(`${dir}/nodaemon.conf`, `[DEFAULT]\nsocket_path = ${dir}/none.sock\n`)
    const none = await fuxi(['--json', '--config-file', `${dir}/nodaemon.conf`, 'stats'])
    assert.deepEqual([none.code, err(none).error.code], [4, 'DAEMON_UNREACHABLE'])
  })

  it('a daemon older than the CLI (no Fuxi.List) is named as such', async (t) => {
    const d = await fakeDaemon(t, { old: true })
    const ls = await fuxi(['--config-file', d.conf, 'ls'])
    assert.equal(ls.code, 1)
    assert.match(ls.stderr, /the running daemon is older than this fuxi .*: restart it/)
  })
})
