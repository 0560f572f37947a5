import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { loadClouds } from '../../src/config/clouds-yaml.ts'
import { defaultConfig, loadConfigFile, parseConfig } from '../../src/config/load.ts'
import { renderSample } from '../../src/config/sample.ts'
import { ConfigError } from '../../src/errors.ts'
import { tmpDir } from '../support/tmp.ts'

const problems = (text: string): string[] => {
  try {
    parseConfig(text, 'fuxi.conf')
  } catch (e) {
    assert.ok(e instanceof ConfigError)
    return [...e.problems]
  }
  assert.fail('expected a ConfigError')
}

describe('config', () => {
  it('embedded default serves local with the documented paths', () => {
    const c = defaultConfig()
    assert.deepEqual(c.DEFAULT.volume_providers, ['local'])
    assert.equal(c.DEFAULT.volume_dir, '/fuxi/data')
    assert.equal(c.DEFAULT.state_dir, '/var/lib/fuxi')
    assert.equal(c.DEFAULT.socket_path, '/run/docker/plugins/fuxi.sock')
    assert.equal(c.DEFAULT.tcp_listen, false)
    assert.equal(c.cinder.all_tenants, false, 'safe default, unlike the original')
    assert.equal(c.keystone.auth_insecure, false, 'TLS verification on, unlike the original')
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.DEFAULT))
  })

  it("accepts the original fuxi's full configuration (every section and its keys)", () => {
    const text = `
[DEFAULT]
my_ip = 192.0.2.10
volume_dir = /fuxi/data
volume_providers = local
volume_from = fuxi
default_volume_size = 2
threaded = true
fuxi_port = 7879
debug = True
rootwrap_config = /etc/fuxi/rootwrap.conf

[keystone]
auth_url = http://127.0.0.1:5000/v3
admin_user = fuxi
admin_tenant_name = service
admin_password = s3cret
auth_insecure = false

[cinder]
region_name = RegionOne
volume_connector = osbrick
fstype = xfs
multiattach = false
all_tenants = true
auth_type = password
auth_url = http://127.0.0.1:5000/v3
username = fuxi
user_domain_name = Default
password = s3cret
project_name = service
project_domain_name = Default

[nova]
region_name = RegionOne
auth_type = password

[manila]
share_proto = NFS
proto_access_type_map = NFS:ip,GLUSTERFS:cert
access_to_for_cert = client
`
    const c = parseConfig(text, 'fuxi.conf')
    assert.equal(c.DEFAULT.default_volume_size, 2)
    assert.equal(c.DEFAULT.debug, true)
    assert.equal(c.cinder.fstype, 'xfs')
    assert.equal(c.cinder.all_tenants, true)
    assert.deepEqual(c.manila.proto_access_type_map, { NFS: 'ip', GLUSTERFS: 'cert' })
  })

  it('trims lists and keeps keys before any section in DEFAULT', () => {
    const c = parseConfig('volume_providers =  local ,\n', 'f')
    assert.deepEqual(c.DEFAULT.volume_providers, ['local'])
  })

  it('rejects unknown keys and sections with file, line and a suggestion', () => {
    const p = problems('[DEFAULT]\nvolume_dri = /x\n[cindr]\nfoo = 1\n')
    assert.ok(
      p.some(
        (x) =>
          x.includes('fuxi.conf:2') &&
          x.includes('"volume_dri"') &&
          x.includes('did you mean "volume_dir"'),
      ),
      p.join('\n'),
    )
    assert.ok(
      p.some(
        (x) =>
          x.includes('fuxi.conf:3') && x.includes('[cindr]') && x.includes('did you mean "cinder"'),
      ),
      p.join('\n'),
    )
  })

  it('rejects loose booleans, bad numbers, relative paths and unknown enum values', () => {
    const p = problems(
      '[DEFAULT]\ntcp_listen = 0x1\ndefault_volume_size = ten\nvolume_dir = data\n[cinder]\nfstype = ntfs\n',
    )
    assert.equal(p.length, 4, p.join('\n'))
    assert.match(p[0] ?? '', /fuxi.conf:2.*tcp_listen.*use true or false/)
    assert.match(p[1] ?? '', /fuxi.conf:3.*not a whole number/)
    assert.match(p[2] ?? '', /fuxi.conf:4.*absolute path/)
    assert.match(p[3] ?? '', /fuxi.conf:6.*one of: ext4, xfs/)
  })

  it('accepts yes/no/on/off/1/0 as booleans', () => {
    assert.equal(parseConfig('tcp_listen = yes', 'f').DEFAULT.tcp_listen, true)
    assert.equal(parseConfig('tcp_listen = Off', 'f').DEFAULT.tcp_listen, false)
  })

  it('rejects out-of-range numbers and unknown providers', () => {
    assert.match(problems('default_volume_size = 0').join(), /out of range/)
    assert.match(problems('volume_providers = local,nfs').join(), /unknown value\(s\) "nfs"/)
  })

  it('says plainly what cinder, its Nova connector and manila need', () => {
    assert.deepEqual(
      parseConfig(
        'volume_providers = cinder\n[cinder]\nauth_url = http://k/v3\nvolume_connector = openstack\n[nova]\nauth_section = cinder\n',
        'f',
      ).cinder.volume_connector,
      'openstack',
    )
    const manila = '[manila]\nauth_url = http://k/v3\n'
    assert.deepEqual(problems('volume_providers = manila'), [
      "[DEFAULT] my_ip is not set (nor [manila] access_to): NFS shares are opened to this host's address; set my_ip to the address the share servers see",
      '[manila] auth_url is not set (nor [keystone] auth_url): the manila provider needs Keystone; set auth_url, username, password, project_name (or application credentials) in [manila], or cloud = NAME (clouds.yaml), or auth_section = cinder, or give fuxi OS_CLOUD or OS_AUTH_URL and the other OS_* variables',
    ])
    const c = parseConfig(
      `volume_providers = manila\nmy_ip = 192.0.2.10\n${manila}proto_access_type_map = NFS:ip,GLUSTERFS:cert\nexport_cidr = 192.0.2.0/24\n`,
      'f',
    )
    assert.equal(c.manila.export_cidr, '192.0.2.0/24')
    assert.equal(c.manila.cephx_id, 'fuxi')
    assert.equal(c.manila.keep_access, false)
    assert.equal(c.manila.remove_shared, false)
    assert.deepEqual(
      problems(
        `volume_providers = manila\n${manila}share_proto = GLUSTERFS\nproto_access_type_map = NFS:cert\nexport_cidr = 192.0.2.0/33\n`,
      ),
      [
        '[manila] share_proto = GLUSTERFS is not supported by fuxi; use NFS or CEPHFS',
        '[manila] proto_access_type_map: NFS:cert is not supported; fuxi gives NFS shares ip access and CEPHFS shares cephx access (remove the entry or use NFS:ip,CEPHFS:cephx)',
        '[manila] export_cidr = 192.0.2.0/33 is not a CIDR (e.g. 192.0.2.0/24)',
      ],
    )
    assert.deepEqual(
      parseConfig(`volume_providers = manila\n${manila}access_to = 10.0.0.0/24\n`, 'f').manila
        .access_to,
      '10.0.0.0/24',
    )
    assert.match(
      problems('volume_providers = cinder').join(),
      /\[cinder\] auth_url is not set \(nor \[keystone\] auth_url\): the cinder provider needs Keystone/,
    )
    for (const ok of ['[cinder]\nauth_url = http://k/v3\n', '[keystone]\nauth_url = http://k/v3\n'])
      assert.deepEqual(
        parseConfig(`volume_providers = cinder\n${ok}`, 'f').DEFAULT.volume_providers,
        ['cinder'],
      )
    assert.match(
      problems(
        'volume_providers = cinder\n[cinder]\nauth_url = http://k/v3\nvolume_connector = openstack\n',
      ).join(),
      /\[nova\] auth_url is not set \(nor \[keystone\] auth_url\): volume_connector = openstack attaches through Nova/,
    )
  })

  it("loads the README's fuxi.conf examples as they are written, with its clouds.yaml", async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
    const blocks = [...readme.matchAll(/```ini\n([\s\S]*?)```/g)].map((m) => m[1] as string)
    assert.ok(blocks.length >= 3, 'the README has its Cinder, Manila and clouds.yaml examples')
    const yaml = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1] ?? ''
    const file = '/etc/openstack/clouds.yaml'
    const clouds = await loadClouds({
      env: {},
      readFile: (p) => (p === file ? yaml : undefined),
      home: '/none',
      cwd: '/none',
    })
    assert.equal(clouds.error, undefined)
    for (const text of blocks) assert.ok(parseConfig(text, 'README.md', { env: {}, clouds }))
    const fromCloud = parseConfig(blocks.find((b) => /^cloud = /m.test(b)) ?? '', 'README.md', {
      env: {},
      clouds,
    })
    const creds = fromCloud.credentials.manila
    assert.ok(!('problems' in creds))
    assert.equal(creds.auth.username, 'fuxi')
    assert.equal(creds.tls.cafile, '/etc/ssl/certs/cloud-ca.pem')
  })

  it('reports an unreadable line', () => {
    assert.match(problems('[DEFAULT]\nthis is not ini\n').join(), /fuxi.conf:2: cannot read/)
  })

  it('reports a missing file clearly', async (t) => {
    const dir = await tmpDir(t)
    await assert.rejects(loadConfigFile(`${dir}/nope.conf`), /cannot read the file/)
    await writeFile(`${dir}/ok.conf`, '[local]\nfstype = xfs\n')
    assert.equal((await loadConfigFile(`${dir}/ok.conf`)).local.fstype, 'xfs')
  })

  it('etc/fuxi.conf.sample is generated from the current schema (run npm run gen-config-sample)', async () => {
    const onDisk = await readFile(new URL('../../etc/fuxi.conf.sample', import.meta.url), 'utf8')
    assert.equal(onDisk, renderSample())
    // and the sample itself is a valid config (everything commented out)
    assert.deepEqual(parseConfig(onDisk, 'sample').DEFAULT.volume_providers, ['local'])
  })
})
