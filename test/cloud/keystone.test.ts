import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CinderClient } from '../../src/openstack/cinder.ts'
import type { AuthOptions } from '../../src/openstack/keystone.ts'
import {
  appCredentialAuth,
  cloudSession,
  devcloudAuth,
  SHORT_TOKEN_KEYSTONE,
  SHORT_TOKEN_TTL_MS,
} from '../support/devcloud.ts'
import { memoryLogger } from '../support/tmp.ts'

const session = (auth: AuthOptions, region = 'RegionOne', iface = 'public') =>
  cloudSession(auth, { region, interface: iface })

describe('real Keystone v3', () => {
  it('password auth as admin: token and Cinder, Manila and Nova endpoints from the catalog', async () => {
    const s = session(devcloudAuth('openrc'))
    const token = await s.token()
    assert.ok(token.value.length > 20)
    assert.ok(token.expiresAt > Date.now())
    assert.match(await s.endpoint('volumev3'), /^http:\/\/127\.0\.0\.1:8776\/v3\/[0-9a-f]{32}$/)
    assert.match(await s.endpoint('sharev2'), /^http:\/\/127\.0\.0\.1:8786\/v2\/[0-9a-f]{32}$/)
    assert.equal(await s.endpoint('compute'), 'http://127.0.0.1:8774/v2.1')
    await s.endpoint('volumev3')
    assert.equal(s.authCount, 1, 'warm session: no further Keystone calls')
  })

  it('password auth as the non-admin user is scoped to its own project', async () => {
    const admin = await session(devcloudAuth('openrc')).token()
    const demo = await session(devcloudAuth('openrc-demo')).token()
    assert.ok(demo.projectId && admin.projectId && demo.projectId !== admin.projectId)
  })

  it('application credential auth', async () => {
    const token = await session(appCredentialAuth()).token()
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
      session(devcloudAuth('openrc')).endpoint('object-store'),
      /no "object-store" service/,
    )
  })
})

describe('short-lived tokens (Keystone on :5001)', { concurrency: true }, () => {
  const shortAuth = () => ({ ...devcloudAuth('openrc'), auth_url: SHORT_TOKEN_KEYSTONE })
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

  it('are renewed before they expire, with no refused call', async () => {
    const mem = memoryLogger()
    const s = cloudSession(shortAuth(), { log: mem.log })
    const cinder = new CinderClient(s)
    await cinder.listVolumes({ name: 'none' })
    await sleep(SHORT_TOKEN_TTL_MS / 2 + 500) // past half of the token's life
    await cinder.listVolumes({ name: 'none' })
    assert.equal(s.authCount, 2)
    assert.equal(
      mem.lines().filter((l) => l.msg === 'token refused (401): renewing once').length,
      0,
    )
  })

  it('a token that expired mid-run (host clock behind Keystone) is renewed on the 401, transparently', async () => {
    const mem = memoryLogger()
    const s = cloudSession(shortAuth(), { log: mem.log, now: () => Date.now() - 3_600_000 })
    const cinder = new CinderClient(s)
    await cinder.listVolumes({ name: 'none' })
    await sleep(SHORT_TOKEN_TTL_MS + 1500) // Keystone's expiry passes; the session thinks it has an hour
    assert.deepEqual(await cinder.listVolumes({ name: 'none' }), [])
    assert.equal(s.authCount, 2)
    assert.equal(
      mem.lines().filter((l) => l.msg === 'token refused (401): renewing once').length,
      1,
    )
  })

  it('concurrent callers share one renewal', async () => {
    const s = cloudSession(shortAuth())
    const cinder = new CinderClient(s)
    await cinder.api.version()
    await sleep(SHORT_TOKEN_TTL_MS / 2 + 500)
    await Promise.all(Array.from({ length: 8 }, () => cinder.listVolumes({ name: 'none' })))
    assert.equal(s.authCount, 2)
  })
})
