import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { Daemon } from '../support/daemon.ts'
import { demoAuthConf, devcloudAuth, uniqueName } from '../support/devcloud.ts'
import { runDoctor as doctor } from '../support/doctor.ts'
import { cleanupUnder } from '../support/host-cleanup.ts'
import { STANDIN_PATH } from '../support/standins.ts'
import { tmpDir } from '../support/tmp.ts'

describe('fuxi doctor against the dev cloud', () => {
  it('passes with a running daemon and good credentials; fails on refused ones, naming the section, without the password', async (t) => {
    const daemons: Daemon[] = []
    const dir = await tmpDir(t, 'fuxi-doctor-', async () => {
      for (const d of daemons) await d.stop()
      cleanupUnder(dir)
    })
    const password = devcloudAuth('openrc-demo').password
    const conf = (pw: string) =>
      [
        `docker_socket = ${dir}/none.sock`,
        'volume_providers = cinder,manila',
        `volume_from = ${uniqueName('doctor')}`,
        'my_ip = 127.0.0.1',
        ...[...demoAuthConf('cinder'), ...demoAuthConf('manila')].map((l) =>
          l.startsWith('password =') ? `password = ${pw}` : l,
        ),
      ].join('\n')
    await mkdir(`${dir}/good`)
    const good = await Daemon.create(`${dir}/good`, { extra: conf(password) })
    good.env = { PATH: STANDIN_PATH }
    daemons.push(good)
    await good.start()

    const ran = await doctor(good.configFile)
    const status = (n: string) => ran.report.checks.find((c) => c.name === n)?.status
    assert.equal(ran.code, 0, ran.out)
    assert.equal(ran.report.ok, true)
    assert.equal(status('cloud cinder'), 'ok')
    assert.equal(status('cloud manila'), 'ok')
    assert.equal(status('daemon'), 'ok')
    assert.equal(status('tool mount.nfs'), 'ok', 'the stand-in on PATH')
    assert.equal(status('docker'), 'warn', 'no Engine API on the configured socket')
    assert.equal(status('clock'), 'ok', "this host's clock and the dev cloud's Keystone agree")

    // The same host ten minutes ahead (faketime): the clock line fails and says by how much.
    const skewed = await doctor(good.configFile, ['faketime', '-f', '+10m'])
    const clock = skewed.report.checks.find((c) => c.name === 'clock')
    assert.equal(clock?.status, 'fail', skewed.out)
    assert.match(clock?.detail ?? '', /this host is (599|600|601) s ahead of http/)
    assert.equal(skewed.code, 1)
    assert.match(
      ran.report.checks.find((c) => c.name === 'credentials cinder')?.detail ?? '',
      /^auth_url, username, password, .* from fuxi\.conf \[cinder\]/,
      'fuxi.conf alone, as before clouds.yaml and OS_* existed',
    )
    assert.match(
      ran.report.checks.find((c) => c.name === 'cloud cinder')?.detail ?? '',
      /authenticated; API Cinder 3\.\d+/,
    )

    // The same host with a password Keystone refuses: both clouds fail, and say where.
    const wrong = `not-the-password-${uniqueName('pw')}`
    const bad = `${dir}/bad.conf`
    await writeFile(
      bad,
      `[DEFAULT]\nstate_dir = ${dir}/good/state\nvolume_dir = ${dir}/good/data\nsocket_path = ${good.socket}\n${conf(wrong)}\n`,
      { mode: 0o600 },
    )
    const refused = await doctor(bad)
    assert.equal(refused.code, 1)
    assert.equal(refused.report.ok, false)
    for (const s of ['cinder', 'manila']) {
      const line = refused.report.checks.find((c) => c.name === `cloud ${s}`)
      assert.equal(line?.status, 'fail', s)
      assert.match(line?.fix ?? '', new RegExp(`\\[${s}\\]`))
    }
    assert.ok(!refused.out.includes(wrong), 'the refused password is not printed')
    assert.ok(!ran.out.includes(password), 'the password is not printed')

    // A configuration with a mistake: one failing line that names it.
    const typo = `${dir}/typo.conf`
    await writeFile(typo, '[local]\nsise = 10\n')
    const broken = await doctor(typo)
    assert.equal(broken.code, 1)
    assert.deepEqual(
      broken.report.checks.map((c) => [c.name, c.status]),
      [['config', 'fail']],
    )
    assert.match(broken.report.checks[0]?.detail ?? '', /sise/)
  })
})
