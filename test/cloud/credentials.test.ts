import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { describe, it, type TestContext } from 'node:test'
import { Daemon } from '../support/daemon.ts'
import {
  demoCloudsYaml,
  devcloudAppCredential,
  devcloudAuth,
  uniqueName,
} from '../support/devcloud.ts'
import { STANDIN_PATH } from '../support/standins.ts'
import { tmpDir } from '../support/tmp.ts'

/**
 * The daemon (its Cinder and Manila providers) and `fuxi doctor` authenticate against the dev
 * cloud with credentials kept as operators keep them: a clouds.yaml entry named by `cloud =`
 * (password in secure.yaml), OS_* variables alone, and an application credential picked by
 * OS_CLOUD. Neither this machine's HOME nor its OS_* variables take part.
 */

const ROOT = new URL('../..', import.meta.url).pathname
/** Every OS_* variable of this process, emptied (an empty variable counts as unset). */
const NO_OS_ENV: Record<string, string> = Object.fromEntries(
  [...Object.keys(process.env), 'OS_CLOUD', 'OS_CLIENT_CONFIG_FILE', 'OS_AUTH_URL']
    .filter((k) => k.startsWith('OS_'))
    .map((k) => [k, '']),
)
const demo = devcloudAuth('openrc-demo')

interface Report {
  ok: boolean
  checks: { name: string; status: string; detail: string; fix?: string; origins?: object }[]
}

function doctor(
  conf: string,
  env: Record<string, string>,
): Promise<{ report: Report; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', '--config-file', conf, '--json', 'doctor'],
      { cwd: ROOT, env: { ...process.env, ...NO_OS_ENV, PATH: STANDIN_PATH, ...env } },
      (_err, stdout) => resolve({ report: JSON.parse(stdout) as Report, out: stdout }),
    )
  })
}

const check = (r: Report, name: string) => r.checks.find((c) => c.name === name)

/** A daemon with `lines` in its fuxi.conf (mode 0644, as Daemon.create writes it). */
async function daemon(
  t: TestContext,
  dir: string,
  lines: readonly string[],
  env: Record<string, string>,
): Promise<Daemon> {
  const d = await Daemon.create(dir, {
    extra: [
      `docker_socket = ${dir}/none.sock`,
      'volume_providers = cinder,manila',
      `volume_from = ${uniqueName('creds')}`,
      'my_ip = 127.0.0.1',
      ...lines,
    ].join('\n'),
  })
  d.env = { ...NO_OS_ENV, PATH: STANDIN_PATH, ...env }
  t.after(() => d.stop())
  return d
}

/** Create, look up and remove a Cinder volume through the daemon: its session authenticated. */
async function cinderRoundTrip(d: Daemon): Promise<void> {
  const name = uniqueName('v')
  const c = await d.call('VolumeDriver.Create', { Name: name, Opts: { size: '1' } })
  assert.equal(c.Err, '', String(c.Err))
  try {
    const g = await d.call('VolumeDriver.Get', { Name: name })
    assert.equal((g.Volume as { Status: { provider: string } }).Status.provider, 'cinder')
  } finally {
    assert.equal((await d.call('VolumeDriver.Remove', { Name: name })).Err, '')
  }
}

describe('credentials as operators keep them (dev cloud)', () => {
  it('a clouds.yaml entry named by cloud =, its password in secure.yaml: daemon and doctor', async (t) => {
    const dir = await tmpDir(t, 'fuxi-creds-')
    const home = `${dir}/home`
    const os = `${home}/.config/openstack`
    await mkdir(os, { recursive: true })
    await writeFile(`${os}/clouds.yaml`, demoCloudsYaml('fuxi-ct', { password: false }), {
      mode: 0o644,
    })
    await chmod(`${os}/clouds.yaml`, 0o644)
    const secure = (pw: string) =>
      writeFile(`${os}/secure.yaml`, `clouds:\n  fuxi-ct:\n    auth:\n      password: ${pw}\n`, {
        mode: 0o600,
      })
    await secure(demo.password)
    const d = await daemon(
      t,
      dir,
      [
        '[cinder]',
        'local_connection = true',
        'cloud = fuxi-ct',
        '[manila]',
        'auth_section = cinder',
      ],
      { HOME: home },
    )
    await d.start()
    await cinderRoundTrip(d)
    const log = d.log.split('\n').flatMap((l) => (l.startsWith('{') ? [JSON.parse(l)] : []))
    const from = log.find((l) => l.msg === 'credentials' && l.section === 'cinder')
    assert.equal(from?.from, `[cinder] (cloud "fuxi-ct" in ${os}/clouds.yaml)`)
    assert.deepEqual(from?.files, [`${os}/clouds.yaml`, `${os}/secure.yaml`])
    const warned = log.filter((l) => l.level === 40).map((l) => String(l.msg))
    assert.ok(
      warned.includes(`${d.configFile} is mode 0644: others may read its passwords`),
      warned.join('\n'),
    )
    assert.ok(warned.includes(`${os}/clouds.yaml is mode 0644: others may read its passwords`))
    assert.ok(!d.log.includes(demo.password), 'the password is not logged')

    const { report, out } = await doctor(d.configFile, { HOME: home })
    assert.equal(check(report, 'cloud cinder')?.status, 'ok', out)
    assert.equal(check(report, 'cloud manila')?.status, 'ok', out)
    assert.match(
      check(report, 'credentials cinder')?.detail ?? '',
      new RegExp(`password from ${os}/secure.yaml \\(cloud "fuxi-ct"\\)`),
    )
    assert.deepEqual(
      report.checks.filter((c) => c.name === 'config permissions').map((c) => c.fix),
      [`chmod 600 ${d.configFile}`, `chmod 600 ${os}/clouds.yaml`],
    )
    assert.ok(!out.includes(demo.password))

    // A password Keystone refuses: the doctor says where it came from, and not what it is.
    const wrong = `not-the-password-${uniqueName('pw')}`
    await secure(wrong)
    const refused = await doctor(d.configFile, { HOME: home })
    const line = check(refused.report, 'cloud cinder')
    assert.equal(line?.status, 'fail')
    assert.match(
      line?.detail ?? '',
      /HTTP 401\): authentication refused: check \[cinder\] \(cloud "fuxi-ct" in /,
    )
    assert.ok(!refused.out.includes(wrong))
  })

  it('OS_* variables alone (a sourced openrc): daemon and doctor', async (t) => {
    const dir = await tmpDir(t, 'fuxi-creds-')
    const env = {
      HOME: `${dir}/home`,
      OS_AUTH_URL: demo.auth_url,
      OS_USERNAME: demo.username,
      OS_PASSWORD: demo.password,
      OS_PROJECT_NAME: demo.project_name,
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
      OS_REGION_NAME: 'RegionOne',
    }
    const d = await daemon(t, dir, ['[cinder]', 'local_connection = true'], env)
    await d.start()
    await cinderRoundTrip(d)
    assert.ok(!d.log.includes(demo.password))
    const { report, out } = await doctor(d.configFile, env)
    assert.equal(check(report, 'cloud cinder')?.status, 'ok', out)
    assert.equal(check(report, 'cloud manila')?.status, 'ok', out)
    assert.match(
      check(report, 'credentials cinder')?.detail ?? '',
      /auth_url, username, password, .* from the environment \(OS_\*\).*the daemon reads its own/,
    )
  })

  it('an application credential picked by OS_CLOUD; an unknown cloud stops the daemon with exit 3', async (t) => {
    const dir = await tmpDir(t, 'fuxi-creds-')
    const { id, secret } = devcloudAppCredential()
    const clouds = `${dir}/clouds.yaml`
    await writeFile(
      clouds,
      [
        'clouds:',
        '  fuxi-ct-app:',
        '    auth_type: v3applicationcredential',
        '    auth:',
        `      auth_url: ${demo.auth_url}`,
        `      application_credential_id: ${id}`,
        `      application_credential_secret: ${secret}`,
        '    region_name: RegionOne',
        '    verify: true',
        '',
      ].join('\n'),
      { mode: 0o600 },
    )
    const env = { HOME: `${dir}/home`, OS_CLIENT_CONFIG_FILE: clouds, OS_CLOUD: 'fuxi-ct-app' }
    const d = await daemon(t, dir, ['[cinder]', 'local_connection = true'], env)
    await d.start()
    await cinderRoundTrip(d)
    assert.ok(!d.log.includes(secret), 'the secret is not logged')
    const { report, out } = await doctor(d.configFile, env)
    assert.equal(check(report, 'cloud cinder')?.status, 'ok', out)
    const origins = check(report, 'credentials cinder')?.origins as Record<string, string>
    for (const k of ['auth_type', 'application_credential_id', 'application_credential_secret'])
      assert.equal(origins[k], `${clouds} (cloud "fuxi-ct-app")`, k)
    assert.ok(!out.includes(secret))

    await mkdir(`${dir}/typo`)
    const typo = await daemon(t, `${dir}/typo`, [], { ...env, OS_CLOUD: 'fuxi-ct-ap' })
    await assert.rejects(
      typo.start(),
      new RegExp(
        `fuxi exited with 3:[\\s\\S]*OS_CLOUD = fuxi-ct-ap \\(for \\[cinder\\]\\): no cloud "fuxi-ct-ap" in ${clouds} \\(it has: fuxi-ct-app; searched: ${clouds}, `,
      ),
    )
  })
})
