import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import { tmpDir } from '../support/tmp.ts'

const run = promisify(execFile)
const ROOT = new URL('../..', import.meta.url).pathname

describe('--version', () => {
  it("is package.json's version, built into the bundles (they read no package.json)", async (t) => {
    // Built outside the repository: no package.json above the bundle to read.
    const out = await tmpDir(t, 'fuxi-build-')
    await run(process.execPath, ['scripts/build.mjs'], {
      cwd: ROOT,
      env: { ...process.env, FUXI_BUILD_DIR: out },
    })
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      version: string
    }
    const cli = await run(process.execPath, [join(out, 'fuxi-cli.mjs'), '--version'], { cwd: '/' })
    assert.equal(cli.stdout, `fuxi ${version}\n`)
    const server = await run(process.execPath, [join(out, 'fuxi.mjs'), '--version'], { cwd: '/' })
    assert.equal(server.stdout, `fuxi-server ${version}\n`)
    // The production files (the test bundle keeps its dead branches).
    const files = (await readdir(out, { recursive: true })).filter(
      (f) => f.endsWith('.mjs') && f !== 'fuxi-testing.mjs',
    )
    assert.ok(files.length > 2)
    for (const f of files)
      assert.ok(
        !(await readFile(join(out, f), 'utf8')).includes('../package.json'),
        `${f} reads no package.json at run time`,
      )
  })
})
