import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { defaultConfig, parseConfig } from '../../src/config/load.ts'
import { type Check, type DoctorDeps, report, runChecks } from '../../src/doctor/checks.ts'

/** A host where everything fuxi needs is there; each test takes something away. */
const healthy = (over: Partial<DoctorDeps> = {}): DoctorDeps => ({
  findTool: async (n) => `/usr/sbin/${n}`,
  fileMode: async (f) => ({ mode: 0o600, socket: f.endsWith('.sock'), uid: 0 }),
  kernelHasFilesystem: async () => true,
  loopControl: async () => true,
  readHostId: async () => 'host-1',
  activate: async () => true,
  dockerVolumeDrivers: async (_s, driver) => ['local', driver],
  kernelModule: async () => true,
  keystoneClockSkewMs: async () => 400,
  cloud: async (_c, s) => `${s} 3.70`,
  ...over,
})

const CLOUD = parseConfig(
  [
    '[DEFAULT]',
    'volume_providers = cinder,manila',
    'my_ip = 192.0.2.10',
    '[cinder]',
    'auth_url = http://127.0.0.1:5000/v3',
    '[manila]',
    'auth_url = http://127.0.0.1:5000/v3',
  ].join('\n'),
  'fuxi.conf',
)

const byName = (checks: readonly Check[], name: string) => checks.find((c) => c.name === name)

describe('fuxi doctor', () => {
  it('says ok, line by line, on a host that has everything, and exits 0', async () => {
    const checks = await runChecks({ file: undefined, config: defaultConfig() }, healthy())
    assert.ok(checks.length >= 8)
    assert.deepEqual(
      checks.filter((c) => c.status !== 'ok').map((c) => c.name),
      [],
    )
    assert.deepEqual(
      checks.map((c) => c.name).filter((n) => n.startsWith('tool ')),
      ['tool losetup', 'tool blkid', 'tool mount', 'tool umount', 'tool mkfs.ext4'],
    )
    assert.equal(report(checks, false).code, 0)
  })

  it('fails on what is missing, names the fix, and exits 1; warns on what only may matter', async () => {
    const checks = await runChecks(
      { file: '/etc/fuxi/fuxi.conf', config: CLOUD },
      healthy({
        findTool: async (n) =>
          ['mount.nfs', 'iscsiadm'].includes(n) ? undefined : `/usr/bin/${n}`,
        fileMode: async (f) =>
          f.endsWith('fuxi.conf')
            ? { mode: 0o644, socket: false, uid: 0 }
            : { mode: 0o660, socket: true, uid: 0 },
        kernelHasFilesystem: async () => false,
        dockerVolumeDrivers: async () => undefined,
        kernelModule: async (m) => m !== 'rbd',
        cloud: async (_c, s) => {
          if (s === 'manila') throw new Error('Keystone refused the credentials (HTTP 401)')
          return 'Cinder 3.70'
        },
      }),
    )
    const line = (n: string) => byName(checks, n)
    assert.equal(line('tool mount.nfs')?.status, 'fail')
    assert.match(line('tool mount.nfs')?.fix ?? '', /apt-get install nfs-common/)
    assert.equal(line('tool iscsiadm')?.status, 'warn', 'only iSCSI back ends need it')
    assert.equal(line('config permissions')?.status, 'warn')
    assert.match(line('config permissions')?.fix ?? '', /chmod 600 \/etc\/fuxi\/fuxi.conf/)
    assert.equal(line('kernel nfs')?.status, 'warn')
    assert.equal(line('kernel iscsi_tcp')?.status, 'ok')
    assert.equal(line('kernel rbd')?.status, 'warn')
    assert.match(line('kernel rbd')?.fix ?? '', /modprobe rbd/)
    assert.equal(line('docker')?.status, 'warn')
    assert.equal(line('cloud cinder')?.status, 'ok')
    assert.equal(line('cloud manila')?.status, 'fail')
    assert.match(line('cloud manila')?.detail ?? '', /401/)
    const { text, code } = report(checks, false)
    assert.equal(code, 1)
    assert.match(
      text,
      /^fail\s+tool mount\.nfs\s+not found\s+\(fix: apt-get install nfs-common\)$/m,
    )
    const json = JSON.parse(report(checks, true).text) as { ok: boolean; checks: unknown[] }
    assert.equal(json.ok, false)
    assert.equal(json.checks.length, checks.length)
  })

  it('says where each credential came from (never a value), and warns about clouds files others can read', async () => {
    const clouds = '/root/.config/openstack/clouds.yaml'
    const config = parseConfig(
      '[DEFAULT]\nvolume_providers = cinder\n[cinder]\ncloud = dev\nregion_name = R2\n',
      'fuxi.conf',
      {
        env: {},
        clouds: {
          searched: [clouds],
          file: clouds,
          secureFile: undefined,
          clouds: { dev: { auth: { auth_url: 'http://k/v3', username: 'u', password: 'pw-1' } } },
          fromSecure: {},
        },
      },
    )
    const checks = await runChecks(
      { file: '/etc/fuxi/fuxi.conf', config },
      healthy({
        fileMode: async (f) => ({
          mode: f === clouds ? 0o644 : 0o600,
          socket: f.endsWith('.sock'),
          uid: 0,
        }),
      }),
    )
    const line = byName(checks, 'credentials cinder')
    assert.equal(line?.status, 'ok')
    assert.equal(
      line?.detail,
      `auth_url, username, password from ${clouds} (cloud "dev"); region_name from fuxi.conf [cinder]; auth_type inferred from the options given`,
    )
    assert.equal(line?.origins?.password, `${clouds} (cloud "dev")`)
    assert.ok(!report(checks, true).text.includes('pw-1'))
    const perms = checks.filter((c) => c.name === 'config permissions')
    assert.deepEqual(
      perms.map((c) => c.fix),
      [`chmod 600 ${clouds}`],
    )
  })

  it("checks the clock against Keystone's once per Keystone: ok, warn past a minute, fail past five", async () => {
    const run = async (skewMs: number | undefined) =>
      (
        await runChecks(
          { file: 'f', config: CLOUD },
          healthy({ keystoneClockSkewMs: async () => skewMs }),
        )
      ).filter((c) => c.name === 'clock')
    const good = await run(1_500)
    assert.equal(good.length, 1, 'cinder and manila share one Keystone: one line')
    assert.equal(good[0]?.status, 'ok')
    const ahead = await run(-90_000)
    assert.equal(ahead[0]?.status, 'warn')
    assert.match(
      ahead[0]?.detail ?? '',
      /this host is 90 s ahead of http:\/\/127\.0\.0\.1:5000\/v3/,
    )
    assert.match(ahead[0]?.fix ?? '', /chrony/)
    assert.equal((await run(301_000))[0]?.status, 'fail')
    assert.equal((await run(undefined))[0]?.status, 'warn', 'no issued_at: cannot tell')
  })

  it('warns when dockerd does not find fuxi among its volume drivers', async () => {
    const checks = await runChecks(
      { file: undefined, config: defaultConfig() },
      healthy({ dockerVolumeDrivers: async () => ['local'] }),
    )
    assert.equal(byName(checks, 'docker')?.status, 'ok')
    const plugin = byName(checks, 'docker plugin')
    assert.equal(plugin?.status, 'warn')
    assert.match(plugin?.detail ?? '', /does not find volume driver "fuxi" \(it has: local\)/)
  })

  it('a daemon that is not running, or not answering, is a failure', async () => {
    const none = await runChecks(
      { file: undefined, config: defaultConfig() },
      healthy({ fileMode: async () => undefined }),
    )
    assert.equal(byName(none, 'daemon')?.status, 'fail')
    assert.match(
      byName(none, 'daemon')?.detail ?? '',
      /no socket at \/run\/docker\/plugins\/fuxi.sock/,
    )
    const silent = await runChecks(
      { file: undefined, config: defaultConfig() },
      healthy({ activate: async () => false }),
    )
    assert.match(byName(silent, 'daemon')?.detail ?? '', /does not answer/)
  })

  it('a configuration that does not load is one failing line, and nothing else is looked at', async () => {
    let looked = false
    const checks = await runChecks(
      { file: '/etc/fuxi/fuxi.conf', configError: 'fuxi.conf:3: unknown key "sise" in [local]' },
      healthy({
        findTool: async () => {
          looked = true
          return undefined
        },
      }),
    )
    assert.deepEqual(
      checks.map((c) => [c.name, c.status]),
      [['config', 'fail']],
    )
    assert.match(checks[0]?.detail ?? '', /unknown key "sise"/)
    assert.equal(looked, false)
  })
})
