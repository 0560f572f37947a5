import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { defaultConfig } from '../../src/config/load.ts'
import { CinderClient } from '../../src/openstack/cinder.ts'
import { ManilaClient } from '../../src/openstack/manila.ts'
import { Session } from '../../src/openstack/session.ts'
import { createTransport } from '../../src/openstack/transport.ts'
import {
  loadSample,
  replay,
  type Sample,
  type SeenRequest,
  sampleServer,
} from '../support/sample-server.ts'
import { memoryLogger } from '../support/tmp.ts'

/**
 * One in-process server standing for Keystone, Cinder and Manila, answering only with recorded
 * samples. The recorded hosts are mapped to path prefixes on this server (/keystone, /cinder,
 * /manila), so each service has its own version document. Every call other than auth and version
 * documents must be the next one the test `expect`s, with the recorded method, path, query and
 * body; anything else is answered 599 and reported by `assertDone`.
 */
export async function fakeCloud(t: TestContext) {
  const queue: Sample[] = []
  const problems: string[] = []
  const versionDocs: Record<string, Sample> = {
    '/cinder/': loadSample('cinder-01-versions'),
    '/manila/': loadSample('manila-01-versions'),
  }
  let authCount = 0
  const srv = await sampleServer(t, (req: SeenRequest, res) => {
    if (req.method === 'POST' && req.url === '/keystone/v3/auth/tokens') {
      authCount++
      return replay(res, loadSample('keystone-01-auth-tokens-password'), toLocal)
    }
    const doc = req.method === 'GET' ? versionDocs[req.url] : undefined
    if (doc) return replay(res, doc, toLocal)
    const next = queue.shift()
    const refuse = (problem: string) => {
      problems.push(problem)
      res.writeHead(599, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ fakeCloud: { message: problem } }))
    }
    if (!next) return refuse(`unexpected ${req.method} ${req.url}`)
    const want = next.request
    const wantUrl = new URL(toLocal(want.url))
    const gotUrl = new URL(req.url, srv.base)
    try {
      assert.equal(`${req.method} ${gotUrl.pathname}`, `${want.method} ${wantUrl.pathname}`)
      assert.deepEqual(
        Object.fromEntries(gotUrl.searchParams),
        Object.fromEntries(wantUrl.searchParams),
      )
      assert.deepEqual(req.json ?? null, want.json ?? null)
    } catch (e) {
      return refuse(
        `expected ${want.method} ${want.url}, got another request: ${(e as Error).message}`,
      )
    }
    replay(res, next, toLocal)
  })
  const toLocal = (text: string) =>
    text
      .replaceAll('http://127.0.0.1:5000', `${srv.base}/keystone`)
      .replaceAll('http://127.0.0.1:8776', `${srv.base}/cinder`)
      .replaceAll('http://127.0.0.1:8786', `${srv.base}/manila`)

  const session = new Session({
    section: 'cinder',
    auth: {
      ...defaultConfig().cinder,
      auth_url: `${srv.base}/keystone/v3`,
      username: 'admin',
      password: 'admin',
      project_name: 'admin',
      user_domain_name: 'Default',
      project_domain_name: 'Default',
    },
    region: 'RegionOne',
    interface: 'public',
    transport: createTransport({ timeoutMs: 2000, log: memoryLogger().log, sleep: async () => {} }),
    log: memoryLogger().log,
  })
  return {
    srv,
    session,
    cinder: new CinderClient(session),
    manila: new ManilaClient(session),
    /** The next call must be this sample's request (`edit` may adjust the recorded pair first). */
    expect(name: string, edit?: (s: Sample) => void) {
      const s = loadSample(name)
      edit?.(s)
      queue.push(s)
    },
    /** Make a service's version document offer microversions only up to `max` (an older cloud). */
    offerUpTo(service: 'cinder' | 'manila', max: string) {
      const s = structuredClone(versionDocs[`/${service}/`] as Sample)
      for (const v of (s.response.json as { versions: { status: string; version: string }[] })
        .versions)
        if (v.status === 'CURRENT') v.version = max
      versionDocs[`/${service}/`] = s
    },
    get authCount() {
      return authCount
    },
    /** Requests other than auth and version documents, as the server saw them. */
    calls: () => srv.seen.filter((r) => !r.url.endsWith('/auth/tokens') && !(r.url in versionDocs)),
    assertDone() {
      assert.deepEqual(problems, [])
      assert.deepEqual(
        queue.map((q) => q.request.url),
        [],
        'every expected call was made',
      )
    },
  }
}
