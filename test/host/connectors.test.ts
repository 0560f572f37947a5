import assert from 'node:assert/strict'
import { readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { describe, it, type TestContext } from 'node:test'
import { iscsiConnector } from '../../src/connectors/iscsi.ts'
import { rbdConnector } from '../../src/connectors/rbd.ts'
import { CommandFailedError } from '../../src/errors.ts'
import { createExec } from '../../src/host/exec.ts'
import { createLinuxHost } from '../../src/host/linux-host.ts'
import { cleanupUnder, leaksUnder } from '../support/host-cleanup.ts'
import { STANDIN_PATH } from '../support/standins.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

const ROOT_SKIP = process.getuid?.() !== 0 ? 'needs root (loop devices)' : false
const log = memoryLogger().log

/** Stand-in iscsiadm/rbd first on PATH, with their state and images in a temp dir. */
async function standins(t: TestContext) {
  const dir = await tmpDir(t, 'fuxi-standin-', () => {
    cleanupUnder(dir)
  })
  const env = {
    PATH: STANDIN_PATH,
    FUXI_STANDIN_DIR: dir,
    FUXI_STANDIN_BYPATH: `${dir}/by-path`,
  }
  const exec = createExec(env)
  const host = createLinuxHost(exec)
  const image = (file: string) => {
    writeFileSync(`${dir}/${file}`, '')
    truncateSync(`${dir}/${file}`, 64 * 1024 * 1024)
    return `${dir}/${file}`
  }
  const argv = (tool: string) => readFileSync(`${dir}/${tool}.log`, 'utf8').trim().split('\n')
  return { dir, exec, host, image, argv }
}

const backing = (device: string) =>
  readFileSync(`/sys/block/${device.replace('/dev/', '')}/loop/backing_file`, 'utf8').trim()

describe('connectors with stand-in iscsiadm and rbd', { skip: ROOT_SKIP }, () => {
  it('iscsi: CHAP login finds the LUN by path, is idempotent, logs out; the secret never shows', async (t) => {
    const s = await standins(t)
    const iqn = 'iqn.2010-10.org.openstack:volume-1'
    const img = s.image(`${iqn}.img`)
    writeFileSync(`${img}.chap`, 's3cret-chap')
    const iscsi = iscsiConnector(s.exec, s.host, {
      byPathDir: `${s.dir}/by-path`,
      delays: [10, 10],
    })
    const info = {
      driver_volume_type: 'iscsi',
      target_portal: '192.0.2.5:3260',
      target_iqn: iqn,
      target_lun: 0,
      auth_method: 'CHAP',
      auth_username: 'fuxi',
      auth_password: 's3cret-chap',
    }
    const dev = await iscsi.connect(info, log, 'volume-1')
    assert.match(dev, /^\/dev\/loop\d+$/)
    assert.equal(backing(dev), img)
    assert.equal(
      await iscsi.connect(info, log, 'volume-1'),
      dev,
      'a second connect reuses the session',
    )
    assert.deepEqual(s.argv('iscsiadm').slice(0, 5), [
      `-m node -T ${iqn} -p 192.0.2.5:3260 --op new`,
      `-m node -T ${iqn} -p 192.0.2.5:3260 --op update -n node.session.auth.authmethod -v CHAP`,
      `-m node -T ${iqn} -p 192.0.2.5:3260 --op update -n node.session.auth.username -v fuxi`,
      `-m node -T ${iqn} -p 192.0.2.5:3260 --op update -n node.session.auth.password -v s3cret-chap`,
      `-m node -T ${iqn} -p 192.0.2.5:3260 --login`,
    ])
    await iscsi.disconnect(info, log, 'volume-1')
    await iscsi.disconnect(info, log, 'volume-1')
    assert.deepEqual(leaksUnder(s.dir), { mounts: [], loops: [] })

    const wrong = { ...info, auth_password: 'not-it' }
    await assert.rejects(
      iscsi.connect(wrong, log, 'volume-1'),
      /Login failed: authorization failure/,
    )
    await iscsi.disconnect(wrong, log, 'volume-1')
    // A failing command that carries the secret shows *** instead of it.
    const err = await s.exec
      .run('sh', ['-c', 'exit 3', 'sh', 's3cret-chap'], { secrets: ['s3cret-chap'] })
      .catch((e: unknown) => e)
    assert.ok(err instanceof CommandFailedError)
    assert.equal(err.message, 'sh -c exit 3 sh *** failed (exit 3)')
    assert.ok(!err.command.includes('s3cret-chap'))
  })

  it('rbd: maps with the Cinder user and monitors, reuses a mapping, unmaps', async (t) => {
    const s = await standins(t)
    const img = s.image('volumes_volume-2.img')
    const rbd = rbdConnector(s.exec, s.host, { delays: [10, 10] })
    const info = {
      driver_volume_type: 'rbd',
      data: {
        name: 'volumes/volume-2',
        hosts: ['192.0.2.7', '192.0.2.8'],
        ports: ['6789', '6789'],
        auth_enabled: true,
        auth_username: 'cinder',
      },
    }
    const dev = await rbd.connect(info, log, 'volume-1')
    assert.equal(backing(dev), img)
    assert.equal(await rbd.connect(info, log, 'volume-1'), dev)
    assert.equal(
      s
        .argv('rbd')
        .filter((l) => l.startsWith('map'))
        .join('|'),
      'map volumes/volume-2 --id cinder --mon_host 192.0.2.7:6789,192.0.2.8:6789',
      'mapped once',
    )
    await rbd.disconnect(info, log, 'volume-1')
    await rbd.disconnect(info, log, 'volume-1')
    assert.deepEqual(leaksUnder(s.dir), { mounts: [], loops: [] })
    await assert.rejects(
      rbd.connect(
        { driver_volume_type: 'rbd', data: { name: 'volumes/missing' } },
        log,
        'volume-1',
      ),
      /rbd: error opening image volumes\/missing/,
    )
  })
})
