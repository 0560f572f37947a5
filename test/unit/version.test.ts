import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'

const run = promisify(execFile)
const ROOT = new URL('../..', import.meta.url).pathname

describe('the production bundle', () => {
  let dir: string
  let out: string
  before(async () => {
    // Built outside the repository: no package.json above the bundle to read.
    dir = await mkdtemp(join(tmpdir(), 'fuxi-build-'))
    out = join(dir, 'dist')
    await run(process.execPath, ['scripts/build.mjs'], {
      cwd: ROOT,
      env: { ...process.env, FUXI_BUILD_DIR: out },
    })
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it("--version is package.json's version, built into the bundles (they read no package.json)", async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      version: string
    }
    const cli = await run(process.execPath, [join(out, 'fuxi-cli.mjs'), '--version'], { cwd: '/' })
    assert.equal(cli.stdout, `fuxi ${version}\n`)
    const server = await run(process.execPath, [join(out, 'fuxi.mjs'), '--version'], { cwd: '/' })
    assert.equal(server.stdout, `fuxi-server ${version}\n`)
    // The production files (the test bundle keeps its dead branches).
    const files = (await readdir(out, { recursive: true })).filter(
      (f) => f.endsWith('.mjs') && f !== 'fuxi-testing.mjs',
    )
    assert.ok(files.length > 2)
    for (const f of files)
      assert.ok(
        !(await readFile(join(out, f), 'utf8')).includes('../package.json'),
        `${f} reads no package.json at run time`,
      )
  })

  it('reads a clouds.yaml: a section naming a cloud passes --check-config (yaml, CommonJS, loads in a split chunk)', async () => {
    const clouds = join(dir, 'clouds.yaml')
    await writeFile(
      clouds,
      [
        'clouds:',
        '  c1:',
        '    auth:',
        '      auth_url: http://127.0.0.1:9/v3',
        '      username: u',
        '      password: p',
        '      project_name: x',
        '      user_domain_name: Default',
        '      project_domain_name: Default',
        '',
      ].join('\n'),
      { mode: 0o600 },
    )
    const conf = join(dir, 'fuxi.conf')
    await writeFile(
      conf,
      `[DEFAULT]\nstate_dir = ${dir}/state\nvolume_providers = cinder\n[cinder]\ncloud = c1\n`,
      { mode: 0o600 },
    )
    const checked = await run(
      process.execPath,
      [join(out, 'fuxi.mjs'), '--config-file', conf, '--check-config'],
      { cwd: '/', env: { ...process.env, OS_CLIENT_CONFIG_FILE: clouds } },
    )
    assert.equal(checked.stdout, `${conf}: OK\n`)
  })

  it("takes the managed plugin's settings from the environment: FUXI_CONFIG_FILE, FUXI_LOG_LEVEL", async () => {
    const conf = join(dir, 'plugin.conf')
    await writeFile(conf, `[DEFAULT]\nstate_dir = ${dir}/state\n`, { mode: 0o600 })
    const server = join(out, 'fuxi.mjs')
    const env = { ...process.env, FUXI_CONFIG_FILE: conf }
    const checked = await run(process.execPath, [server, '--check-config'], { cwd: '/', env })
    assert.equal(checked.stdout, `${conf}: OK\n`, 'the file the variable names is read')
    const bad = await run(process.execPath, [server], {
      cwd: '/',
      env: { ...env, FUXI_LOG_LEVEL: 'loud' },
    }).catch((e: { code: number; stderr: string }) => e)
    assert.equal('code' in bad ? bad.code : 0, 3, 'an invalid setting is a configuration error')
    assert.match('stderr' in bad ? bad.stderr : '', /FUXI_LOG_LEVEL=loud: use one of trace, debug/)
  })
})
