import assert from 'node:assert/strict'
import { lstat, mkdir, readdir, symlink } from 'node:fs/promises'
import { describe, it } from 'node:test'
import {
  dataPath,
  encodeLayout,
  layoutOf,
  layoutOptions,
  parseLayoutOptions,
} from '../../src/volumes/layout.ts'
import { buildApp } from '../support/build.ts'

const ROOT = process.getuid?.() === 0

describe('the folder handed to Docker (subdir, uid, gid, mode)', () => {
  it('parses the options: data/ by default, the root on request, checked ids and mode', () => {
    assert.deepEqual(parseLayoutOptions({}), { subdir: 'data' })
    assert.deepEqual(parseLayoutOptions({ subdir: '' }), { subdir: '' })
    assert.deepEqual(parseLayoutOptions({ subdir: 'pg', uid: '999', gid: '0', mode: '700' }), {
      subdir: 'pg',
      uid: '999',
      gid: '0',
      mode: '0700',
    })
    for (const [opts, re] of [
      [{ subdir: '../etc' }, /option "subdir".*folder name/],
      [{ subdir: 'a/b' }, /option "subdir"/],
      [{ subdir: '.hidden' }, /option "subdir"/],
      [{ uid: 'postgres' }, /option "uid".*numeric uid/],
      [{ gid: '4294967295' }, /option "gid"/],
      [{ mode: '999' }, /option "mode".*octal/],
      [{ mode: '4755' }, /option "mode"/],
      [{ subdir: '', uid: '1' }, /uid, gid and mode apply to the data folder/],
    ] as const)
      assert.throws(() => parseLayoutOptions(opts), re, JSON.stringify(opts))
  })

  it('keeps the layout in one metadata value and reads it back; none (made before) is the root', () => {
    const options = parseLayoutOptions({ uid: '70', mode: '0750' })
    assert.equal(encodeLayout(options), 'subdir=data,uid=70,mode=0750')
    assert.deepEqual(layoutOptions(encodeLayout(options)), options)
    assert.deepEqual(layoutOf(layoutOptions(undefined)), { subdir: '' })
    assert.deepEqual(layoutOf(layoutOptions('subdir=/etc')), { subdir: '' }, 'bad: the root')
    assert.deepEqual(layoutOf(options), { subdir: 'data', uid: 70, mode: 0o750 })
    assert.equal(dataPath('/m', { size: '1', fstype: 'ext4' }), '/m', 'a record from before')
    assert.equal(dataPath('/m', options), '/m/data')
  })

  it('Mount hands data/, made once with its owner and mode; a legacy volume hands its root', async (t) => {
    const { app, dir } = await buildApp(t)
    await app.volumes.create('pg', { uid: '70', gid: '71', mode: '0700' })
    const path = await app.volumes.mount('pg', 'c1')
    assert.equal(path, `${dir}/data/local/pg/data`)
    const st = await lstat(path)
    assert.ok(st.isDirectory())
    assert.equal(st.mode & 0o777, 0o700)
    if (ROOT) assert.deepEqual([st.uid, st.gid], [70, 71])
    assert.equal(app.volumes.get('pg')?.mountpoint, path, 'Get says the same path')
    await app.volumes.unmount('pg', 'c1')

    await app.volumes.create('old', { subdir: '' })
    assert.equal(await app.volumes.mount('old', 'c1'), `${dir}/data/local/old`)
    assert.deepEqual(await readdir(`${dir}/data/local/old`), [], 'nothing made in the root')
    await app.volumes.unmount('old', 'c1')
  })

  it('refuses a symlink where the folder should be (it could point the bind anywhere) and undoes the mount', async (t) => {
    const { app, dir, host } = await buildApp(t)
    await app.volumes.create('evil', {})
    const mp = `${dir}/data/local/evil`
    await mkdir(mp, { recursive: true })
    await symlink('/etc', `${mp}/data`)
    await assert.rejects(app.volumes.mount('evil', 'c1'), /data is a symbolic link/)
    assert.equal(app.volumes.get('evil')?.status.mounted, false)
    assert.deepEqual((host as { table: unknown[] }).table, [], 'the failed mount was rolled back')
  })
})
