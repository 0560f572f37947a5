import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { describe, it } from 'node:test'
import { OpenStackHttpError } from '../../src/errors.ts'
import { ManilaClient } from '../../src/openstack/manila.ts'
import { cloudSession, IDENTITIES, uniqueName } from '../support/devcloud.ts'

const WAIT = { timeoutMs: 60_000 }

describe('Manila v2 against the dev cloud', { concurrency: IDENTITIES.length }, () => {
  for (const who of IDENTITIES) {
    it(`${who.label}: share, export locations, metadata, access rules, delete`, async (t) => {
      const session = cloudSession(who.auth())
      const manila = new ManilaClient(session)
      const tag = uniqueName('tag')
      const created = await manila.createShare({
        share_proto: 'NFS',
        size: 1,
        name: uniqueName('share'),
        metadata: { 'fuxi-test': tag },
      })
      t.after(async () => {
        if (await manila.getShare(created.id)) {
          await manila.deleteShare(created.id)
          await manila.waitForShare(created.id, [], { ...WAIT, goneIsSuccess: true })
        }
      })
      const share = await manila.waitForShare(created.id, ['available'], WAIT)
      assert.equal(share?.share_proto, 'NFS')
      assert.equal(share?.share_type_name, 'default')
      assert.deepEqual(
        (await manila.listShares({ name: created.name ?? '' })).map((s) => s.id),
        [created.id],
      )
      assert.deepEqual(
        (await manila.listShares({ metadata: { 'fuxi-test': tag }, pageSize: 1 })).map((s) => s.id),
        [created.id],
      )

      const locations = await manila.exportLocations(created.id)
      const preferred = locations.find((l) => l.preferred)
      assert.match(preferred?.path ?? '', /^127\.0\.0\.1:\/.*share-/)
      assert.ok(
        existsSync((preferred?.path ?? '').split(':')[1] ?? ''),
        'the exported directory exists',
      )
      assert.equal(
        locations.some((l) => l.is_admin_only === true),
        who.admin,
        'only admins see the admin-only location',
      )

      assert.deepEqual(await manila.metadata.set(created.id, { k1: 'v1' }), {
        'fuxi-test': tag,
        k1: 'v1',
      })
      await manila.metadata.deleteKey(created.id, 'k1')
      assert.deepEqual((await manila.getShare(created.id))?.metadata, { 'fuxi-test': tag })

      const rule = await manila.allowAccess(created.id, {
        access_type: 'ip',
        access_to: '127.0.0.1',
        metadata: { fuxi: 'host-1' },
      })
      const active = await manila.waitForAccessRule(created.id, rule.id, ['active'], WAIT)
      assert.equal(active?.access_to, '127.0.0.1')
      assert.deepEqual(active?.metadata, { fuxi: 'host-1' })
      const dup = await manila
        .allowAccess(created.id, { access_type: 'ip', access_to: '127.0.0.1' })
        .catch((e: unknown) => e)
      assert.ok(dup instanceof OpenStackHttpError && dup.status === 400)
      assert.match(dup.detail, /exists/)
      await manila.denyAccess(created.id, rule.id)
      await manila.waitForAccessRule(created.id, rule.id, [], { ...WAIT, goneIsSuccess: true })
      assert.deepEqual(await manila.listAccessRules(created.id), [])

      assert.equal(await manila.deleteShare(created.id), true)
      await manila.waitForShare(created.id, [], { ...WAIT, goneIsSuccess: true })
      assert.equal(await manila.getShare(created.id), undefined)
      assert.equal(session.authCount, 1)
    })
  }
})
