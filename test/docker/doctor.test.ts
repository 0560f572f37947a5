import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import { DOCKER_SKIP, useDockerEnv } from '../support/docker-env.ts'
import { runDoctor, statusOf } from '../support/doctor.ts'

describe('fuxi doctor with a real dockerd', { skip: DOCKER_SKIP }, () => {
  const env = useDockerEnv(before, after)

  it('finds the plugin as dockerd does; a socket dockerd cannot find is a warning, a dead daemon a failure', async () => {
    const e = env()
    const ran = await runDoctor(e.fuxi.configFile)
    assert.equal(ran.code, 0, ran.out)
    assert.equal(statusOf(ran.report, 'docker'), 'ok')
    assert.equal(statusOf(ran.report, 'docker plugin'), 'ok', ran.out)
    assert.equal(statusOf(ran.report, 'daemon'), 'ok')

    // Planted: the config names a socket no daemon listens on, so dockerd finds no such driver.
    const moved = `${e.dir}/moved.conf`
    const missing = `/run/docker/plugins/${e.driver}x.sock`
    await writeFile(
      moved,
      `[DEFAULT]\nstate_dir = ${e.dir}/state\nvolume_dir = ${e.dir}/data\nsocket_path = ${missing}\ndocker_socket = ${e.dockerd.socket}\n`,
      { mode: 0o600 },
    )
    const broken = await runDoctor(moved)
    assert.equal(broken.code, 1)
    assert.equal(statusOf(broken.report, 'daemon'), 'fail')
    const plugin = broken.report.checks.find((c) => c.name === 'docker plugin')
    assert.equal(plugin?.status, 'warn')
    assert.match(plugin?.detail ?? '', new RegExp(`"${e.driver}x"`))
  })
})
