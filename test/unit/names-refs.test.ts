import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { addRef, releaseRef, totalRefs } from '../../src/volumes/mount-refs.ts'
import { MAX_NAME_LENGTH, mountpointFor, validateVolumeName } from '../../src/volumes/names.ts'

describe('volume names', () => {
  it('accepts ordinary names', () => {
    for (const n of ['pgdata', 'a', 'A1', 'x_y-z.1', '9lives', 'a'.repeat(MAX_NAME_LENGTH)])
      assert.equal(validateVolumeName(n), n)
  })
  it('refuses traversal, separators, shell syntax, odd characters and overlong names', () => {
    const bad = [
      '',
      '..',
      '.',
      '../x',
      'a/b',
      '/tmp/x',
      'a..b',
      '.hidden',
      '-x',
      '_x',
      'a b',
      'a\\b',
      '$(id)',
      '`id`',
      'a;b',
      'ä',
      'a\nb',
      'a'.repeat(MAX_NAME_LENGTH + 1),
    ]
    for (const n of bad)
      assert.throws(() => validateVolumeName(n), /volume name/, JSON.stringify(n))
    for (const n of [undefined, null, 42, {}]) assert.throws(() => validateVolumeName(n), /missing/)
  })
  it('maps names to paths only through the whitelist', () => {
    assert.equal(mountpointFor('/fuxi/data', 'local', 'pg'), '/fuxi/data/local/pg')
    assert.throws(() => mountpointFor('/fuxi/data', 'local', '../../etc'))
  })
})

describe('mount references', () => {
  it('counts repeated IDs (docker cp reuses the container ID)', () => {
    let r = addRef({}, 'A')
    r = addRef(r, 'A')
    r = addRef(r, 'B')
    assert.equal(totalRefs(r), 3)
    assert.deepEqual(r, { A: 2, B: 1 })
    const one = releaseRef(r, 'A')
    assert.deepEqual(one, { refs: { A: 1, B: 1 }, released: true })
    const two = releaseRef(one.refs, 'A')
    assert.deepEqual(two.refs, { B: 1 })
  })
  it('treats an unknown ID as a no-op', () => {
    const r = { A: 1 }
    assert.deepEqual(releaseRef(r, 'Z'), { refs: r, released: false })
    assert.equal(totalRefs({}), 0)
  })
})
