import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { describe, it } from 'node:test'
import { createDockerEngine } from '../../src/docker/engine.ts'
import { tmpDir } from '../support/tmp.ts'

describe('Docker Engine API client', () => {
  it('counts volumes of containers that may hold mounts, not of exited ones', async (t) => {
    const dir = await tmpDir(t)
    const containers = [
      {
        State: 'running',
        Mounts: [
          { Type: 'volume', Name: 'a', Driver: 'fuxi' },
          { Type: 'bind', Name: '', Driver: '' },
        ],
      },
      { State: 'created', Mounts: [{ Type: 'volume', Name: 'starting', Driver: 'fuxi' }] },
      { State: 'exited', Mounts: [{ Type: 'volume', Name: 'gone', Driver: 'fuxi' }] },
      { State: 'running', Mounts: [{ Type: 'volume', Name: 'plain', Driver: 'local' }] },
    ]
    const server = createServer((req, res) => {
      assert.equal(req.url, '/containers/json?all=1')
      res.end(JSON.stringify(containers))
    })
    await new Promise<void>((r) => server.listen(`${dir}/docker.sock`, r))
    t.after(() => server.close())
    const names = await createDockerEngine(`${dir}/docker.sock`).volumesInUse()
    assert.deepEqual([...(names ?? [])].sort(), ['a', 'starting'])
  })

  it('says "unknown" when the API answers with an error status', async (t) => {
    const dir = await tmpDir(t)
    const server = createServer((_req, res) => {
      res.writeHead(500).end('{"message":"daemon busy"}')
    })
    await new Promise<void>((r) => server.listen(`${dir}/docker.sock`, r))
    t.after(() => server.close())
    assert.equal(await createDockerEngine(`${dir}/docker.sock`).volumesInUse(), undefined)
  })

  it('says "unknown" when the API is unreachable', async (t) => {
    const dir = await tmpDir(t)
    assert.equal(await createDockerEngine(`${dir}/none.sock`).volumesInUse(), undefined)
  })
})
