import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { AuthOptions } from '../../src/openstack/keystone.ts'
import { Session } from '../../src/openstack/session.ts'
import { createTransport } from '../../src/openstack/transport.ts'
import { devcloudAppCredential, devcloudAuth } from '../support/devcloud.ts'
import { memoryLogger } from '../support/tmp.ts'

// Needs the dev cloud: sh scripts/devcloud/up.sh (npm run test:cloud runs it first).
const session = (auth: AuthOptions, region = 'RegionOne', iface = 'public') =>
  new Session({
    section: 'cinder',
    auth,
    region,
    interface: iface,
    transport: createTransport({ timeoutMs: 10_000, log: memoryLogger().log }),
    log: memoryLogger().log,
  })

describe('real Keystone v3', () => {
  it('password auth as admin: token and Cinder/Manila endpoints from the catalog', async () => {
    const s = session(devcloudAuth('openrc'))
    const token = await s.token()
    assert.ok(token.value.length > 20)
    assert.ok(token.expiresAt > Date.now())
    assert.match(await s.endpoint('volumev3'), /^http:\/\/127\.0\.0\.1:8776\/v3\/[0-9a-f]{32}$/)
    assert.match(await s.endpoint('sharev2'), /^http:\/\/127\.0\.0\.1:8786\/v2\/[0-9a-f]{32}$/)
    await s.endpoint('volumev3')
    assert.equal(s.authCount, 1, 'warm session: no further Keystone calls')
  })

  it('password auth as the non-admin user is scoped to its own project', async () => {
    const admin = await session(devcloudAuth('openrc')).token()
    const demo = await session(devcloudAuth('openrc-demo')).token()
    assert.ok(demo.projectId && admin.projectId && demo.projectId !== admin.projectId)
  })

  it('application credential auth', async () => {
    const { id, secret } = devcloudAppCredential()
    const auth = {
      ...devcloudAuth('openrc-demo'),
      auth_type: 'v3applicationcredential',
      username: '',
      password: '',
      project_name: '',
      application_credential_id: id,
      application_credential_secret: secret,
    }
    const token = await session(auth).token()
    assert.ok(token.value)
    assert.equal(token.projectId, (await session(devcloudAuth('openrc-demo')).token()).projectId)
  })

  it('wrong password, wrong project, wrong region and a missing service each name the cause', async () => {
    await assert.rejects(
      session({ ...devcloudAuth('openrc'), password: 'nope' }).token(),
      /HTTP 401\): authentication refused: check \[cinder\]/,
    )
    await assert.rejects(
      session({ ...devcloudAuth('openrc'), project_name: 'no-such-project' }).token(),
      /HTTP 401/,
    )
    await assert.rejects(
      session(devcloudAuth('openrc'), 'RegionTwo').endpoint('volumev3'),
      /no public endpoint of "volumev3" in region "RegionTwo"/,
    )
    await assert.rejects(
      session(devcloudAuth('openrc')).endpoint('compute'),
      /no "compute" service/,
    )
  })
})
