import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { loadClouds } from '../../src/config/clouds-yaml.ts'
import type { Credentials } from '../../src/config/credentials.ts'
import { loadConfigFile } from '../../src/config/load.ts'
import type { FuxiConfig } from '../../src/config/schema.ts'
import { exposure, secretFiles } from '../../src/config/secret-files.ts'
import type { CredentialSources } from '../../src/config/sources.ts'
import { ConfigError } from '../../src/errors.ts'
import { sessionFromConfig } from '../../src/openstack/connect.ts'
import { loadSample, replay, sampleServer } from '../support/sample-server.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

// Nothing here reads the real HOME, working directory or environment: every file and variable
// is handed in.
const HOME = '/home/op'
const CWD = '/srv/fuxi'
const USER_CLOUDS = `${HOME}/.config/openstack/clouds.yaml`

const sources = (
  files: Record<string, string>,
  env: Record<string, string> = {},
): CredentialSources => ({
  env,
  readFile: (p) => files[p],
  home: HOME,
  cwd: CWD,
})

const CLOUDS = `
clouds:
  dev:
    auth:
      auth_url: https://keystone.example.com:5000/v3
      username: fuxi
      project_name: docker
      user_domain_name: Default
      project_domain_id: "0123"
    region_name: RegionOne
    interface: internalURL
    cacert: /etc/ssl/dev-ca.pem
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example.com:5000/v3
      application_credential_id: ac-1
      application_credential_secret: ac-secret
    verify: false
`
const SECURE = 'clouds:\n  dev:\n    auth:\n      password: pw-from-secure\n'
/** A sourced openrc of another user and project, left in the daemon's environment. */
const OPENRC = {
  OS_AUTH_URL: 'https://other.example.com/v3',
  OS_USERNAME: 'someone-else',
  OS_PASSWORD: 'pw-from-env',
  OS_PROJECT_ID: 'env-project',
  OS_INSECURE: 'true',
}

async function load(
  t: TestContext,
  conf: string,
  src: CredentialSources,
  providers = 'cinder',
): Promise<FuxiConfig> {
  const dir = await tmpDir(t)
  const file = join(dir, 'fuxi.conf')
  await writeFile(file, `[DEFAULT]\nvolume_providers = ${providers}\n${conf}`)
  return loadConfigFile(file, src)
}

const creds = (c: FuxiConfig, s: 'cinder' | 'manila' | 'nova' = 'cinder'): Credentials => {
  const r = c.credentials[s]
  assert.ok(!('problems' in r), JSON.stringify(r))
  return r
}

async function problems(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e))
    return e.problems.join('\n')
  }
  assert.fail('expected a ConfigError')
}

describe('credentials: fuxi.conf, clouds.yaml, OS_* environment', () => {
  it('cloud = NAME takes the clouds.yaml entry, secure.yaml merged over it; fuxi.conf keys win; OS_* are not read', async (t) => {
    const files = { [USER_CLOUDS]: CLOUDS, [`${HOME}/.config/openstack/secure.yaml`]: SECURE }
    const c = creds(
      await load(t, '[cinder]\ncloud = dev\nregion_name = RegionTwo\n', sources(files, OPENRC)),
    )
    assert.deepEqual(
      {
        url: c.auth.auth_url,
        user: c.auth.username,
        pw: c.auth.password,
        project: [c.auth.project_name, c.auth.project_id],
        pdomain: c.auth.project_domain_id,
        type: c.auth.auth_type,
      },
      {
        url: 'https://keystone.example.com:5000/v3',
        user: 'fuxi',
        pw: 'pw-from-secure',
        project: ['docker', ''],
        pdomain: '0123', // kept as written, not read as the number 123
        type: 'password',
      },
    )
    assert.equal(c.region, 'RegionTwo', 'fuxi.conf wins over the entry')
    assert.equal(c.interface, 'internal', 'internalURL is the internal interface')
    assert.deepEqual(c.tls, {
      cafile: '/etc/ssl/dev-ca.pem',
      certfile: '',
      keyfile: '',
      insecure: false,
    })
    assert.equal(c.origins.username, `${USER_CLOUDS} (cloud "dev")`)
    assert.equal(c.origins.password, `${HOME}/.config/openstack/secure.yaml (cloud "dev")`)
    assert.equal(c.origins.region_name, 'fuxi.conf [cinder]')
    assert.equal(c.where, `[cinder] (cloud "dev" in ${USER_CLOUDS})`)
    assert.deepEqual(c.files, [USER_CLOUDS, `${HOME}/.config/openstack/secure.yaml`])
    assert.ok(!JSON.stringify(c.origins).includes('pw-from'), 'origins never hold a value')
  })

  it('OS_CLOUD picks the entry when fuxi.conf names none; clouds.yaml verify: false is insecure', async (t) => {
    const env = { ...OPENRC, OS_CLOUD: 'appcred' }
    const c = creds(await load(t, '', sources({ [USER_CLOUDS]: CLOUDS }, env)))
    assert.equal(c.auth.auth_type, 'v3applicationcredential')
    assert.equal(c.auth.application_credential_id, 'ac-1')
    assert.equal(c.auth.password, '', 'OS_PASSWORD is not mixed into a cloud')
    assert.equal(c.auth.username, '')
    assert.equal(c.tls.insecure, true)
    assert.match(c.where, /OS_CLOUD: cloud "appcred"/)
    // fuxi.conf's explicit insecure = false wins over the entry's verify: false
    const strict = creds(
      await load(t, '[cinder]\ninsecure = false\n', sources({ [USER_CLOUDS]: CLOUDS }, env)),
    )
    assert.equal(strict.tls.insecure, false)
  })

  it('OS_* variables alone: every one is read; the auth type follows from what is given', async (t) => {
    const env = {
      OS_AUTH_URL: 'https://k/v3',
      OS_USERNAME: 'u',
      OS_USER_ID: '',
      OS_PASSWORD: 'p',
      OS_PROJECT_NAME: 'proj',
      OS_USER_DOMAIN_ID: 'ud',
      OS_PROJECT_DOMAIN_NAME: 'pd',
      OS_REGION_NAME: 'R9',
      OS_INTERFACE: 'admin',
      OS_CACERT: '/ca.pem',
      OS_CERT: '/c.pem',
      OS_KEY: '/k.pem',
      OS_INSECURE: 'no',
    }
    const c = creds(await load(t, '', sources({}, env)))
    assert.deepEqual(
      [
        c.auth.auth_url,
        c.auth.username,
        c.auth.password,
        c.auth.project_name,
        c.auth.user_domain_id,
        c.auth.project_domain_name,
        c.auth.auth_type,
      ],
      ['https://k/v3', 'u', 'p', 'proj', 'ud', 'pd', 'password'],
    )
    assert.equal(c.region, 'R9')
    assert.equal(c.interface, 'admin')
    assert.deepEqual(c.tls, {
      cafile: '/ca.pem',
      certfile: '/c.pem',
      keyfile: '/k.pem',
      insecure: false,
    })
    assert.equal(c.origins.password, 'the environment (OS_*)')
    const token = creds(
      await load(t, '', sources({}, { OS_AUTH_URL: 'https://k/v3', OS_TOKEN: 'tok' })),
    )
    assert.equal(token.auth.auth_type, 'token')
    assert.equal(token.auth.token, 'tok')
    const app = creds(
      await load(
        t,
        '',
        sources(
          {},
          {
            OS_AUTH_URL: 'https://k/v3',
            OS_APPLICATION_CREDENTIAL_ID: 'a',
            OS_APPLICATION_CREDENTIAL_SECRET: 's',
          },
        ),
      ),
    )
    assert.equal(app.auth.auth_type, 'v3applicationcredential')
  })

  it('a fuxi.conf key replaces its whole group: project_name here, no project_id from OS_*', async (t) => {
    const c = creds(await load(t, '[cinder]\nproject_name = mine\n', sources({}, OPENRC)))
    assert.equal(c.auth.project_name, 'mine')
    assert.equal(c.auth.project_id, '', 'OS_PROJECT_ID would scope the token elsewhere')
    assert.equal(c.auth.username, 'someone-else', 'other groups still come from OS_*')
  })

  it("fuxi.conf's own auth_url (or the legacy [keystone]) keeps the environment out, TLS included", async (t) => {
    const own = creds(
      await load(
        t,
        '[cinder]\nauth_url = https://mine/v3\nusername = me\npassword = x\nproject_name = p\n',
        sources({ [USER_CLOUDS]: CLOUDS }, { ...OPENRC, OS_CLOUD: 'dev' }),
      ),
    )
    assert.equal(own.auth.auth_url, 'https://mine/v3')
    assert.equal(own.auth.project_id, '')
    assert.equal(own.tls.insecure, false, 'OS_INSECURE does not turn verification off')
    assert.equal(own.where, '[cinder]')
    assert.equal(own.origins.auth_type, 'fuxi.conf [cinder] (default)')
    const legacy = creds(
      await load(
        t,
        '[keystone]\nauth_url = https://legacy/v3\nadmin_user = fuxi\nadmin_password = pw\nadmin_tenant_name = service\n',
        sources({}, OPENRC),
      ),
    )
    assert.equal(legacy.auth.auth_url, 'https://legacy/v3')
    assert.equal(legacy.auth.username, 'fuxi')
    assert.equal(legacy.origins.username, 'fuxi.conf [keystone] admin_user')
  })

  it('auth_section borrows the credentials (and their cloud); region and TLS stay the section’s own', async (t) => {
    const c = await load(
      t,
      '[cinder]\ncloud = dev\n[manila]\nauth_section = cinder\nregion_name = RegionThree\n',
      sources({ [USER_CLOUDS]: CLOUDS }),
      'cinder,manila\nmy_ip = 192.0.2.1',
    )
    const m = creds(c, 'manila')
    assert.equal(m.auth.username, 'fuxi')
    assert.equal(m.section, 'cinder')
    assert.equal(m.region, 'RegionThree')
    assert.equal(creds(c).region, 'RegionOne')
    assert.match(
      await problems(
        load(
          t,
          '[cinder]\ncloud = dev\n[manila]\nauth_section = cinder\ncloud = dev\n',
          sources({}),
          'manila\nmy_ip = 192.0.2.1',
        ),
      ),
      /\[manila\] cloud and auth_section are both set/,
    )
  })

  it('an unknown cloud names the file read, the clouds it has and every place searched', async (t) => {
    const env = { OS_CLIENT_CONFIG_FILE: '/opt/none.yaml' }
    const msg = await problems(
      load(t, '[cinder]\ncloud = prod\n', sources({ [USER_CLOUDS]: CLOUDS }, env)),
    )
    assert.equal(
      msg,
      `[cinder] cloud = prod: no cloud "prod" in ${USER_CLOUDS} (it has: dev, appcred; searched: /opt/none.yaml, ${CWD}/clouds.yaml, ${USER_CLOUDS}, /etc/openstack/clouds.yaml)`,
    )
    assert.match(
      await problems(load(t, '', sources({}, { OS_CLOUD: 'prod' }))),
      /^OS_CLOUD = prod \(for \[cinder\]\): no clouds.yaml found \(searched: \/srv\/fuxi\/clouds.yaml, \/home\/op\/.config\/openstack\/clouds.yaml, \/etc\/openstack\/clouds.yaml\)$/,
    )
    // Not needed by an enabled provider: not an error.
    assert.ok(await load(t, '', sources({}, { OS_CLOUD: 'prod' }), 'local'))
  })

  it('a clouds.yaml that is not YAML is an error with file, line and column, and without the line’s text', async (t) => {
    const broken = 'clouds:\n  dev:\n    auth:\n\t  password: s3cr3t\n'
    const msg = await problems(
      load(t, '[cinder]\ncloud = dev\n', sources({ '/etc/openstack/clouds.yaml': broken })),
    )
    assert.equal(
      msg,
      '[cinder] cloud = dev: /etc/openstack/clouds.yaml:4:1: Tabs are not allowed as indentation',
    )
    const twice = 'clouds:\n  dev:\n    auth:\n      password: s3cr3t\n      password: again\n'
    assert.match(
      await problems(
        load(t, '[cinder]\ncloud = dev\n', sources({ '/etc/openstack/clouds.yaml': twice })),
      ),
      /clouds.yaml:5:7: Map keys must be unique$/,
    )
    const tabbed = 'clouds:\n  dev: {auth: {password: s3cr3t}}\n  x: 5 6: 7\n'
    const again = await problems(
      load(t, '[cinder]\ncloud = dev\n', sources({ '/etc/openstack/clouds.yaml': tabbed })),
    )
    assert.match(again, /clouds.yaml:3:\d+: /)
    assert.ok(!again.includes('s3cr3t') && !again.includes('"6'), again)
    assert.match(
      await problems(
        load(t, '[cinder]\ncloud = dev\n', sources({ [USER_CLOUDS]: 'cloud:\n  dev: {}\n' })),
      ),
      /no "clouds:" mapping at the top/,
    )
  })

  it('bad values in OS_* or clouds.yaml name the variable or key', async (t) => {
    const env = { OS_AUTH_URL: 'https://k/v3', OS_INSECURE: 'maybe', OS_INTERFACE: 'private' }
    const msg = await problems(load(t, '', sources({}, env)))
    assert.match(msg, /environment OS_INTERFACE: "private" is not one of: public, internal, admin/)
    assert.match(msg, /environment OS_INSECURE: "maybe" is not a boolean/)
    const yaml = 'clouds:\n  dev:\n    auth: {auth_url: https://k/v3}\n    cacert: ca.pem\n'
    assert.match(
      await problems(load(t, '[cinder]\ncloud = dev\n', sources({ [USER_CLOUDS]: yaml }))),
      /\[cinder\] cloud = dev: cacert: "ca.pem" is not an absolute path/,
    )
  })

  it('the search order: $OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack, /etc/openstack; secure.yaml beside the one read or $OS_CLIENT_SECURE_FILE', async () => {
    const all = {
      '/opt/c.yaml': 'clouds: {a: {}}',
      [`${CWD}/clouds.yaml`]: 'clouds: {b: {}}',
      [USER_CLOUDS]: 'clouds: {c: {}}',
      '/etc/openstack/clouds.yaml': 'clouds: {d: {}}',
      '/etc/openstack/secure.yaml': 'clouds: {d: {auth: {password: x}}}',
      '/opt/s.yaml': 'clouds: {d: {auth: {password: y}}}',
    }
    const first = async (files: Record<string, string>, env: Record<string, string> = {}) => {
      const c = await loadClouds(sources(files, env))
      return [c.file, Object.keys(c.clouds).join(), c.secureFile]
    }
    assert.deepEqual(await first(all, { OS_CLIENT_CONFIG_FILE: '/opt/c.yaml' }), [
      '/opt/c.yaml',
      'a',
      undefined,
    ])
    assert.deepEqual(await first(all), [`${CWD}/clouds.yaml`, 'b', undefined])
    const { [`${CWD}/clouds.yaml`]: _b, ...noCwd } = all
    assert.deepEqual(await first(noCwd), [USER_CLOUDS, 'c', undefined])
    const { [USER_CLOUDS]: _c, ...etc } = noCwd
    assert.deepEqual(await first(etc), [
      '/etc/openstack/clouds.yaml',
      'd',
      '/etc/openstack/secure.yaml',
    ])
    const secure = await loadClouds(sources(etc, { OS_CLIENT_SECURE_FILE: '/opt/s.yaml' }))
    assert.deepEqual(secure.clouds.d, { auth: { password: 'y' } })
    const unreadable = await loadClouds({
      ...sources({}),
      readFile: () => {
        throw Object.assign(new Error('denied'), { code: 'EACCES' })
      },
    })
    assert.equal(unreadable.error, `cannot read ${CWD}/clouds.yaml: EACCES`)
  })

  it('a session from a clouds.yaml entry sends the entry’s credentials to its Keystone', async (t) => {
    const srv = await sampleServer(t, (_req, res) =>
      replay(res, loadSample('keystone-01-auth-tokens-password')),
    )
    const yaml = `clouds:\n  lab:\n    auth:\n      auth_url: ${srv.base}/v3\n      username: labuser\n      password: labpw\n      project_id: P1\n`
    const c = await load(t, '[cinder]\ncloud = lab\n', sources({ [USER_CLOUDS]: yaml }))
    const mem = memoryLogger()
    await sessionFromConfig(c, 'cinder', mem.log).token()
    assert.deepEqual(srv.seen[0]?.json, {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'labuser', domain: { id: 'default' }, password: 'labpw' } },
        },
        scope: { project: { id: 'P1' } },
      },
    })
    assert.ok(!JSON.stringify(mem.lines()).includes('labpw'), 'the password is not logged')
    const incomplete =
      'clouds:\n  lab:\n    auth:\n      auth_url: https://k/v3\n      username: u\n'
    const ic = await load(t, '[cinder]\ncloud = lab\n', sources({ [USER_CLOUDS]: incomplete }))
    assert.throws(
      () => sessionFromConfig(ic, 'cinder', mem.log),
      /\[cinder\] \(cloud "lab" in \/home\/op\/.config\/openstack\/clouds.yaml\) password auth needs password/,
    )
  })

  it('a logged config or session option never shows a password, secret or token', async (t) => {
    const files = { [USER_CLOUDS]: CLOUDS, [`${HOME}/.config/openstack/secure.yaml`]: SECURE }
    const c = await load(t, '[cinder]\ncloud = dev\n', sources(files, { OS_TOKEN: 'tok-env' }))
    const mem = memoryLogger()
    mem.log.info(c, 'the whole config')
    mem.log.info({ config: c, auth: creds(c).auth }, 'nested')
    const text = JSON.stringify(mem.lines())
    assert.ok(!text.includes('pw-from-secure'), text)
    assert.ok(text.includes('[redacted]'))
  })

  it('files holding secrets: fuxi.conf and the clouds files used; open to others or not owned by root is a problem', async (t) => {
    const files = { [USER_CLOUDS]: CLOUDS, [`${HOME}/.config/openstack/secure.yaml`]: SECURE }
    const c = await load(t, '[cinder]\ncloud = dev\n', sources(files))
    assert.deepEqual(secretFiles('/etc/fuxi/fuxi.conf', c), [
      '/etc/fuxi/fuxi.conf',
      USER_CLOUDS,
      `${HOME}/.config/openstack/secure.yaml`,
    ])
    assert.equal(exposure('/f', { mode: 0o600, uid: 0 }), undefined)
    assert.deepEqual(exposure('/f', { mode: 0o640, uid: 0 }), {
      problem: '/f is mode 0640: others may read its passwords',
      fix: 'chmod 600 /f',
    })
    assert.deepEqual(exposure('/f', { mode: 0o600, uid: 1000 }), {
      problem: '/f is owned by uid 1000, who may read its passwords',
      fix: 'chown root /f',
    })
  })
})
