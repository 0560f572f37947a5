import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { defaultConfig, parseConfig } from '../../src/config/load.ts'
import { ConfigError, OpenStackHttpError } from '../../src/errors.ts'
import { sessionFromConfig } from '../../src/openstack/connect.ts'
import {
  type AuthOptions,
  authRequestBody,
  effectiveAuth,
  findEndpoint,
  parseTokenResponse,
} from '../../src/openstack/keystone.ts'
import { Session } from '../../src/openstack/session.ts'
import { createTransport } from '../../src/openstack/transport.ts'
import { loadSample, replay, sampleServer } from '../support/sample-server.ts'
import { memoryLogger } from '../support/tmp.ts'

const base = (): AuthOptions => ({ ...defaultConfig().cinder })
const tokenSample = loadSample('keystone-01-auth-tokens-password')

describe('keystone v3 auth', () => {
  it('builds the password request Keystone accepted in the recorded sample', () => {
    const body = authRequestBody(
      {
        ...base(),
        auth_url: 'http://k/v3',
        username: 'admin',
        password: 'admin',
        user_domain_name: 'Default',
        project_name: 'admin',
        project_domain_name: 'Default',
      },
      'cinder',
    )
    assert.deepEqual(body, tokenSample.request.json)
  })

  it('supports ids, application credentials, tokens and the legacy [keystone] fallback', () => {
    const ids = authRequestBody(
      { ...base(), auth_url: 'u', user_id: 'U1', password: 'p', project_id: 'P1' },
      'cinder',
    ) as { auth: Record<string, unknown> }
    assert.deepEqual(ids.auth, {
      identity: { methods: ['password'], password: { user: { id: 'U1', password: 'p' } } },
      scope: { project: { id: 'P1' } },
    })
    const app = authRequestBody(
      {
        ...base(),
        auth_url: 'u',
        auth_type: 'v3applicationcredential',
        application_credential_id: 'A',
        application_credential_secret: 's',
      },
      'cinder',
    ) as { auth: Record<string, unknown> }
    assert.deepEqual(app.auth, {
      identity: {
        methods: ['application_credential'],
        application_credential: { id: 'A', secret: 's' },
      },
    })
    const tok = authRequestBody(
      { ...base(), auth_url: 'u', auth_type: 'token', token: 'T', project_name: 'p' },
      'cinder',
    ) as { auth: { identity: unknown; scope: unknown } }
    assert.deepEqual(tok.auth.identity, { methods: ['token'], token: { id: 'T' } })
    assert.deepEqual(tok.auth.scope, { project: { name: 'p', domain: { id: 'default' } } })
    const legacy = effectiveAuth(base(), {
      auth_url: 'http://k/v3',
      admin_user: 'fuxi',
      admin_tenant_name: 'service',
      admin_password: 'pw',
      admin_token: '',
    })
    assert.equal(legacy.username, 'fuxi')
    assert.equal(legacy.project_name, 'service')
  })

  it('reports every missing piece with its section and key', () => {
    try {
      authRequestBody({ ...base(), auth_type: 'password' }, 'manila')
      assert.fail('expected ConfigError')
    } catch (e) {
      assert.ok(e instanceof ConfigError)
      assert.deepEqual(e.problems, [
        '[manila] auth_url is not set (e.g. https://keystone.example.com:5000/v3)',
        '[manila] password auth needs username or user_id',
        '[manila] password auth needs password',
      ])
    }
    assert.throws(
      () => authRequestBody({ ...base(), auth_url: 'u', auth_type: 'kerberos' }, 'cinder'),
      /auth_type "kerberos" is not supported/,
    )
  })

  it('an answer without a usable token is a Keystone error naming the request', () => {
    const from = { url: 'http://k/v3/auth/tokens', requestId: 'req-1' }
    assert.throws(
      () => parseTokenResponse({}, { token: { expires_at: '2031-05-07T07:08:09Z' } }, from),
      (e: unknown) =>
        e instanceof OpenStackHttpError &&
        e.service === 'keystone' &&
        e.message ===
          'keystone POST http://k/v3/auth/tokens failed: Keystone answered without a token (no X-Subject-Token header or expires_at) [request req-1]',
    )
    assert.throws(
      () => parseTokenResponse({ 'x-subject-token': 't' }, { token: { expires_at: 'soon' } }, from),
      (e: unknown) =>
        e instanceof OpenStackHttpError && /unreadable expires_at "soon"/.test(e.detail),
    )
  })

  it('reads the token, expiry and catalog from the recorded answer', () => {
    // Replayed as if issued at a fixed moment: the recorded token lives 24 hours.
    const sample = loadSample(
      'keystone-01-auth-tokens-password',
      Date.parse('2031-05-06T07:08:09Z'),
    )
    const headers = Object.fromEntries(
      Object.entries(sample.response.headers).map(([k, v]) => [k.toLowerCase(), v]),
    )
    const token = parseTokenResponse(headers, sample.response.json)
    assert.equal(token.value, '<token>')
    assert.equal(new Date(token.expiresAt).toISOString(), '2031-05-07T07:08:09.000Z')
    assert.deepEqual(findEndpoint(token.catalog, 'volumev3', 'RegionOne', 'internal'), {
      url: 'http://127.0.0.1:8776/v3/977104bd9c5b4165b68475897fb45cfe',
    })
    const wrongRegion = findEndpoint(token.catalog, 'volumev3', 'RegionTwo', 'public')
    assert.ok(
      'error' in wrongRegion &&
        /no public endpoint of "volumev3" in region "RegionTwo" \(catalog has: public@RegionOne/.test(
          wrongRegion.error,
        ),
    )
    const missing = findEndpoint(token.catalog, 'compute', '', 'public')
    assert.ok(
      'error' in missing &&
        /no "compute" service \(it has: identity, volumev3, sharev2, share, image\)/.test(
          missing.error,
        ),
    )
  })
})

/** A session as admin against a sample server at `base`. */
function sessionFor(base_: string, password: string, region: string): Session {
  return new Session({
    section: 'cinder',
    auth: {
      ...base(),
      auth_url: `${base_}/v3`,
      username: 'admin',
      password,
      project_name: 'admin',
    },
    region,
    interface: 'public',
    transport: createTransport({ timeoutMs: 2000, log: memoryLogger().log }),
    log: memoryLogger().log,
  })
}

describe('keystone session', () => {
  async function cloud(
    t: Parameters<typeof sampleServer>[0],
    opts: { expiresInMs?: number; rejectFirstToken?: boolean } = {},
  ) {
    let issued = 0
    const srv = await sampleServer(t, (req, res) => {
      if (req.url === '/v3/auth/tokens') {
        issued++
        const s = loadSample('keystone-01-auth-tokens-password')
        s.response.headers['X-Subject-Token'] = `tok-${issued}`
        if (opts.expiresInMs !== undefined)
          (s.response.json as { token: { expires_at: string } }).token.expires_at = new Date(
            Date.now() + opts.expiresInMs,
          ).toISOString()
        return replay(res, s, (text) => text.replaceAll('http://127.0.0.1:8776', srv.base))
      }
      if (opts.rejectFirstToken && req.headers['x-auth-token'] === 'tok-1')
        return replay(res, loadSample('cinder-00-no-token'))
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ token: req.headers['x-auth-token'], url: req.url }))
    })
    const session = sessionFor(srv.base, 'admin', 'RegionOne')
    return { srv, session }
  }

  it('authenticates once for many calls, including concurrent ones, and uses the catalog endpoint', async (t) => {
    const { srv, session } = await cloud(t)
    const replies = await Promise.all(
      Array.from({ length: 10 }, () =>
        session.request('volumev3', { method: 'GET', path: '/volumes/detail' }),
      ),
    )
    assert.equal(session.authCount, 1)
    assert.equal(srv.seen.filter((r) => r.url === '/v3/auth/tokens').length, 1)
    assert.deepEqual(replies[0]?.json, {
      token: 'tok-1',
      url: '/v3/977104bd9c5b4165b68475897fb45cfe/volumes/detail',
    })
  })

  it('renews a token that is about to expire', async (t) => {
    const { session } = await cloud(t, { expiresInMs: 1000 })
    await session.request('volumev3', { method: 'GET', path: '/x' })
    await new Promise((r) => setTimeout(r, 600)) // past half of its life
    const r = await session.request('volumev3', { method: 'GET', path: '/x' })
    assert.equal((r.json as { token: string }).token, 'tok-2')
    assert.equal(session.authCount, 2)
  })

  it('on a 401 renews the token once and retries', async (t) => {
    const { session } = await cloud(t, { rejectFirstToken: true })
    const r = await session.request('volumev3', { method: 'GET', path: '/x' })
    assert.equal((r.json as { token: string }).token, 'tok-2')
    assert.equal(session.authCount, 2)
  })

  it('says what to check when Keystone refuses the credentials', async (t) => {
    const bad = loadSample('keystone-04-auth-tokens-bad-password')
    const srv = await sampleServer(t, (_req, res) => replay(res, bad))
    const session = sessionFor(srv.base, 'wrong', '')
    await assert.rejects(
      session.token(),
      /HTTP 401\): authentication refused: check \[cinder\] username\/user_id, password/,
    )
  })
})

describe('a session from fuxi.conf', () => {
  const conf = (text: string) => parseConfig(text, 'fuxi.conf')

  it('falls back to the legacy [keystone] section, and [x] auth_section borrows another section', async (t) => {
    const srv = await sampleServer(t, (_req, res) => replay(res, tokenSample))
    const legacy = conf(
      `[keystone]\nauth_url = ${srv.base}/v3\nadmin_user = fuxi\nadmin_password = pw\nadmin_tenant_name = service\nregion = RegionOne\n`,
    )
    await sessionFromConfig(legacy, 'manila', memoryLogger().log).token()
    assert.deepEqual(srv.seen[0]?.json, {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'fuxi', domain: { id: 'default' }, password: 'pw' } },
        },
        scope: { project: { name: 'service', domain: { id: 'default' } } },
      },
    })
    const borrowed = conf(
      `[cinder]\nauth_url = ${srv.base}/v3\nusername = c\npassword = p\nproject_name = x\n[nova]\nauth_section = cinder\n`,
    )
    await sessionFromConfig(borrowed, 'nova', memoryLogger().log).token()
    assert.match(JSON.stringify(srv.seen[1]?.json), /"user":\{"name":"c","domain"/)
  })

  it('says which section to fix when there is no Keystone at all, or auth_section is wrong', () => {
    assert.throws(
      () => sessionFromConfig(conf(''), 'cinder', memoryLogger().log),
      /\[cinder\] auth_url is not set \(nor \[keystone\] auth_url\)/,
    )
    assert.throws(
      () =>
        sessionFromConfig(conf('[nova]\nauth_section = keystone\n'), 'nova', memoryLogger().log),
      /\[nova\] auth_section = keystone: must name one of cinder, manila, nova/,
    )
  })
})
