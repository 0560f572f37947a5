import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { writeFileAtomic } from '../../src/host/files.ts'
import { parseMountInfo } from '../../src/host/mountinfo.ts'
import { createJournal } from '../../src/volumes/journal.ts'
import type { VolumeRecord } from '../../src/volumes/record.ts'
import { memoryLogger, tmpDir } from '../support/tmp.ts'

describe('mountinfo', () => {
  it('parses fields and unescapes octal escapes', () => {
    const text = [
      '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
      '99 22 7:3 / /fuxi/data/local/v\\040x rw,relatime shared:50 master:2 - xfs /dev/loop3 rw,attr2',
      'garbage',
    ].join('\n')
    assert.deepEqual(parseMountInfo(text), [
      { mountPoint: '/', fsType: 'ext4', source: '/dev/vda', dev: '254:0' },
      { mountPoint: '/fuxi/data/local/v x', fsType: 'xfs', source: '/dev/loop3', dev: '7:3' },
    ])
  })
})

const rec = (name: string): VolumeRecord => ({
  name,
  provider: 'local',
  createdAt: '2026-11-22T00:00:00.000Z',
  options: { size: '1' },
  refs: { a: 2 },
  bootId: 'b',
  device: null,
  phase: { kind: 'idle' },
})

describe('journal', () => {
  it('round-trips records and leaves no temp files', async (t) => {
    const dir = await tmpDir(t)
    const j = createJournal(dir, memoryLogger().log)
    await j.write(rec('a'))
    await j.write({ ...rec('a'), refs: {} })
    await j.write(rec('b'))
    const all = (await j.readAll()).sort((x, y) => x.name.localeCompare(y.name))
    assert.deepEqual(
      all.map((r) => [r.name, r.refs]),
      [
        ['a', {}],
        ['b', { a: 2 }],
      ],
    )
    await j.remove('a')
    await j.remove('a')
    assert.deepEqual(
      (await j.readAll()).map((r) => r.name),
      ['b'],
    )
    const { readdir } = await import('node:fs/promises')
    assert.deepEqual(await readdir(dir), ['b.json'])
  })

  it('skips an unreadable record, logs it and keeps the file for the operator', async (t) => {
    const dir = await tmpDir(t)
    const { log, lines } = memoryLogger()
    const j = createJournal(dir, log)
    await j.write(rec('good'))
    await writeFile(`${dir}/bad.json`, '{"v":1,"rec')
    assert.deepEqual(
      (await j.readAll()).map((r) => r.name),
      ['good'],
    )
    assert.ok(
      lines().some((l) => l.msg === 'unreadable journal record skipped; inspect or remove it'),
    )
    assert.equal(await readFile(`${dir}/bad.json`, 'utf8'), '{"v":1,"rec')
  })

  it('refuses to derive a path from an invalid name', async (t) => {
    const j = createJournal(await tmpDir(t), memoryLogger().log)
    await assert.rejects(j.write(rec('../evil')), /invalid volume name/)
  })

  it('writes atomically: the old content survives a failed write', async (t) => {
    const dir = await tmpDir(t)
    await writeFileAtomic(`${dir}/f`, 'old')
    await assert.rejects(writeFileAtomic(`${dir}/missing-dir/f`, 'new'))
    assert.equal(await readFile(`${dir}/f`, 'utf8'), 'old')
  })
})

describe('logging', () => {
  it('redacts secrets', () => {
    const { log, lines } = memoryLogger()
    log.info(
      {
        password: 'S3CRET1',
        cinder: { password: 'S3CRET2', token: 'S3CRET3' },
        headers: { 'x-auth-token': 'S3CRET4' },
      },
      'x',
    )
    const text = JSON.stringify(lines())
    for (const s of ['S3CRET1', 'S3CRET2', 'S3CRET3', 'S3CRET4'])
      assert.ok(!text.includes(s), `${s} leaked: ${text}`)
    assert.ok(text.includes('[redacted]'))
  })
})
