import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { ManilaClient } from '../../src/openstack/manila.ts'
import { Daemon } from '../support/daemon.ts'
import { cloudSession, demoAuthConf, devcloudAuth, uniqueName } from '../support/devcloud.ts'
import { cleanupUnder } from '../support/host-cleanup.ts'
import { STANDIN_PATH } from '../support/standins.ts'
import { tmpDir } from '../support/tmp.ts'

/**
 * Secrets never reach a log line or an Err: a whole attach/detach cycle (a Cinder volume and a
 * CephFS share, whose access key fuxi writes to a 0600 file), plus failing calls and a daemon
 * whose password Keystone refuses, with every line logged at debug level.
 */
describe('secrets in logs and errors (dev cloud)', () => {
  it('a Cinder volume and a CephFS share through a whole cycle, and failures, leak no secret', async (t) => {
    const volumeFrom = uniqueName('secrets')
    const password = devcloudAuth('openrc-demo').password
    const wrongPassword = `not-the-password-${volumeFrom}`
    const daemons: Daemon[] = []
    const dir = await tmpDir(t, 'fuxi-secrets-', async () => {
      for (const d of daemons) await d.stop()
      cleanupUnder(dir)
    })
    const start = async (sub: string, pw: string) => {
      await mkdir(`${dir}/${sub}`, { recursive: true })
      const d = await Daemon.create(`${dir}/${sub}`, {
        extra: [
          `docker_socket = ${dir}/none.sock`,
          'volume_providers = cinder,manila',
          `volume_from = ${volumeFrom}`,
          'my_ip = 127.0.0.1',
          ...[...demoAuthConf('cinder'), ...demoAuthConf('manila')].map((l) =>
            l.startsWith('password =') ? `password = ${pw}` : l,
          ),
        ].join('\n'),
      })
      d.env = { PATH: STANDIN_PATH }
      daemons.push(d)
      await d.start()
      return d
    }
    const daemon = await start('ok', password)
    const refused = await start('refused', wrongPassword)
    const errs: string[] = []
    const call = async (d: Daemon, method: string, body: object) => {
      const r = await d.call(method, body)
      if (r.Err) errs.push(r.Err)
      return r
    }

    for (const [name, opts] of [
      ['vol', { size: '1' }],
      ['share', { volume_provider: 'manila', share_proto: 'CEPHFS', size: '1' }],
    ] as const) {
      assert.equal((await call(daemon, 'VolumeDriver.Create', { Name: name, Opts: opts })).Err, '')
      const m = await call(daemon, 'VolumeDriver.Mount', { Name: name, ID: 'c1' })
      assert.equal(m.Err, '', String(m.Err))
      await call(daemon, 'VolumeDriver.Get', { Name: name })
      assert.equal((await call(daemon, 'VolumeDriver.Unmount', { Name: name, ID: 'c1' })).Err, '')
    }
    // The CephFS rule's key was made for this host; it is a secret too (fuxi keeps it in a file).
    const manila = new ManilaClient(cloudSession(devcloudAuth('openrc-demo')))
    const [share] = await manila.listShares({
      name: 'share',
      metadata: { volume_from: volumeFrom },
    })
    assert.ok(share)
    assert.equal((await call(daemon, 'VolumeDriver.Mount', { Name: 'share', ID: 'c2' })).Err, '')
    const keys = (await manila.listAccessRules(share.id)).flatMap((r) => r.access_key ?? [])
    assert.equal(keys.length, 1, 'a cephx rule with its key')
    await call(daemon, 'VolumeDriver.Unmount', { Name: 'share', ID: 'c2' })
    // failures: a bad option, an unknown volume, and a daemon whose password Keystone refuses
    await call(daemon, 'VolumeDriver.Create', { Name: 'bad', Opts: { size: 'x' } })
    await call(daemon, 'VolumeDriver.Mount', { Name: 'never-made', ID: 'c3' })
    const no = await call(refused, 'VolumeDriver.Create', { Name: 'nope', Opts: {} })
    assert.match(String(no.Err), /401|refused|credentials/i)
    for (const name of ['vol', 'share'])
      assert.equal((await call(daemon, 'VolumeDriver.Remove', { Name: name })).Err, '')

    const logs = `${daemon.log}\n${refused.log}`.split('\n')
    assert.ok(logs.length > 50, 'debug logs were written')
    assert.ok(errs.length >= 3, `errors were answered: ${errs.length}`)
    for (const secret of [password, wrongPassword, ...keys]) {
      assert.ok(secret.length >= 8, 'a real secret')
      assert.deepEqual(
        logs.filter((l) => l.includes(secret)),
        [],
        'no log line carries a secret',
      )
      assert.deepEqual(
        errs.filter((e) => e.includes(secret)),
        [],
        'no Err carries a secret',
      )
    }
  })
})
