import assert from 'node:assert/strict'
import { truncateSync, writeFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { iscsiConnector } from '../../src/connectors/iscsi.ts'
import { createExec } from '../../src/host/exec.ts'
import { createLinuxHost } from '../../src/host/linux-host.ts'
import type { CinderAttachment, ConnectorProperties } from '../../src/openstack/cinder.ts'
import { createCinderProvider } from '../../src/providers/cinder/cinder-provider.ts'
import { FakeCinder } from '../fakes/fake-cinder.ts'
import { FakeHost } from '../fakes/fake-host.ts'
import { buildApp } from '../support/build.ts'
import { cinderOptions } from '../support/cinder-options.ts'
import { cleanupUnder, leaksUnder } from '../support/host-cleanup.ts'
import { STANDIN_PATH } from '../support/standins.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

const ROOT_SKIP = process.getuid?.() !== 0 ? 'needs root (loop devices, mkfs, mount)' : false

/**
 * A Cinder that exports volumes over iSCSI with CHAP (the stand-in iscsiadm serves them from
 * image files): the CHAP secret is in every attachment's connection info.
 */
class IscsiCinder extends FakeCinder {
  readonly dir: string
  readonly chap: (volumeId: string) => { given: string; wanted: string }
  constructor(dir: string, chap: (volumeId: string) => { given: string; wanted: string }) {
    super(new FakeHost(), dir)
    this.dir = dir
    this.chap = chap
  }
  override async createAttachment(
    volumeId: string,
    o: { connector?: ConnectorProperties; mode?: 'rw' | 'ro' } = {},
  ): Promise<CinderAttachment> {
    const a = await super.createAttachment(volumeId, {})
    const iqn = `iqn.2010-10.org.openstack:volume-${volumeId}`
    const img = `${this.dir}/${iqn}.img`
    writeFileSync(img, '', { flag: 'a' })
    truncateSync(img, 64 * 1024 * 1024)
    const { given, wanted } = this.chap(volumeId)
    writeFileSync(`${img}.chap`, wanted)
    const info = {
      driver_volume_type: 'iscsi',
      target_portal: '192.0.2.5:3260',
      target_iqn: iqn,
      target_lun: 0,
      auth_method: 'CHAP',
      auth_username: 'fuxi',
      auth_password: given,
    }
    const stored = this.attachments.get(a.id)
    if (stored)
      Object.assign(stored, {
        connection_info: info,
        status: 'attaching',
        host: o.connector?.host ?? '',
      })
    const v = this.volumes.get(volumeId)
    if (v) v.status = 'attaching'
    return { ...a, connection_info: info }
  }
}

describe('secrets in logs and errors (iSCSI CHAP)', { skip: ROOT_SKIP }, () => {
  it('a whole attach/detach cycle and a refused login leak no CHAP secret or config password', async (t) => {
    const dir = await tmpDir(t, 'fuxi-chap-', () => {
      cleanupUnder(dir)
    })
    const exec = createExec({
      PATH: STANDIN_PATH,
      FUXI_STANDIN_DIR: dir,
      FUXI_STANDIN_BYPATH: `${dir}/by-path`,
    })
    const host = createLinuxHost(exec)
    const secret = 'chap-s3cret-7f3a9'
    const wrong = 'chap-wrong-41c2e'
    let refuse = false
    const cinder = new IscsiCinder(dir, () => ({ given: refuse ? wrong : secret, wanted: secret }))
    const providerLog = memoryLogger()
    const { app, lines } = await buildApp(t, {
      host,
      // config secrets too: they must not show either
      extraConfig:
        '[cinder]\npassword = cfg-p4ssword-913\napplication_credential_secret = cfg-appcred-0b2\n',
      providers: (h, hostId) => [
        createCinderProvider(cinderOptions(hostId, `${dir}/state/cinder`), {
          api: cinder,
          host: h,
          connectors: [iscsiConnector(exec, h, { byPathDir: `${dir}/by-path`, delays: [10, 10] })],
          log: providerLog.log,
        }),
      ],
    })
    const errors: string[] = []
    await app.volumes.create('db', {})
    const mp = await app.volumes.mount('db', 'c1')
    writeFileSync(`${mp}/data`, 'x')
    await app.volumes.unmount('db', 'c1')
    await app.volumes.remove('db')
    refuse = true
    await app.volumes.create('denied', {})
    await app.volumes.mount('denied', 'c2').catch((e: Error) => errors.push(e.message))
    assert.equal(errors.length, 1)
    assert.match(errors[0] as string, /iscsiadm .* --login failed \(exit 24\)/)
    assert.deepEqual(leaksUnder(dir), { mounts: [], loops: [] })
    const all = [...lines(), ...providerLog.lines()].map((l) => JSON.stringify(l))
    assert.ok(all.length > 10)
    for (const s of [secret, wrong, 'cfg-p4ssword-913', 'cfg-appcred-0b2']) {
      assert.deepEqual(
        all.filter((l) => l.includes(s)),
        [],
        `no log line carries ${s}`,
      )
      assert.deepEqual(
        errors.filter((e) => e.includes(s)),
        [],
        `no Err carries ${s}`,
      )
    }
  })
})
