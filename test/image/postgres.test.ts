import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DOCKER_SKIP, type DockerEnv, startDockerEnv } from '../support/docker-env.ts'
import { ensureBaseImage } from '../support/image-base.ts'

const IMAGE = 'fuxi-test-postgres:15'
const PGDATA = '/var/lib/postgresql/data'

/**
 * What the official postgres image's entry point does, in short, with Debian's PostgreSQL 15:
 * as root, give the data folder to postgres; then initdb (first run), start, run SQL, stop.
 * `init`: initdb and a table with three rows; `read`: the rows, one line.
 */
const SCRIPT = `#!/bin/sh
set -eu
BIN=/usr/lib/postgresql/15/bin
chown postgres:postgres ${PGDATA}
chmod 700 ${PGDATA}
pg() { runuser -u postgres -- "$@"; }
if [ "$1" = init ]; then pg $BIN/initdb -D ${PGDATA} >/dev/null; fi
pg $BIN/pg_ctl -D ${PGDATA} -w -s -l /tmp/pg.log -o "-c listen_addresses= -k /tmp" start
if [ "$1" = init ]; then
  pg psql -h /tmp -q -c "create table kept (v text)" -c "insert into kept values ('one'), ('two'), ('three')"
fi
pg psql -h /tmp -At -c "select string_agg(v, ',' order by v) from kept"
pg $BIN/pg_ctl -D ${PGDATA} -w -s stop
`

/**
 * A real database on a fuxi volume (issue 13): PostgreSQL from Debian's package in a container
 * built on the debootstrapped base, its data directory the folder fuxi hands to Docker.
 */
describe('PostgreSQL on a fuxi volume (local provider)', { skip: DOCKER_SKIP }, () => {
  let env: DockerEnv
  before(async () => {
    env = await startDockerEnv()
    const base = await ensureBaseImage(env.dockerd)
    const ctx = await mkdtemp('/var/lib/fuxi-test/pg-image-')
    try {
      await writeFile(join(ctx, 'pg.sh'), SCRIPT)
      await writeFile(
        join(ctx, 'Dockerfile'),
        [
          `FROM ${base}`,
          'RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 && rm -rf /var/lib/apt/lists/*',
          'COPY pg.sh /pg.sh',
          'ENTRYPOINT ["/bin/sh", "/pg.sh"]',
          '',
        ].join('\n'),
      )
      const built = await env.dockerd.docker(
        ['build', '--network', 'host', '-t', IMAGE, ctx],
        10 * 60_000,
      )
      assert.equal(built.code, 0, `${built.stderr}\n${built.stdout.slice(-3000)}`)
    } finally {
      await rm(ctx, { recursive: true, force: true })
    }
  })
  after(async () => {
    await env?.close()
  })

  const pg = (volume: string, mode: 'init' | 'read') =>
    env.dockerd.docker(
      ['run', '--rm', '--network', 'none', '-v', `${volume}:${PGDATA}`, IMAGE, mode],
      5 * 60_000,
    )

  it('initdb on a fresh volume, rows written, then read back by a new container', {
    timeout: 10 * 60_000,
  }, async () => {
    await env.createVolume('pgdata', 'size=1')
    const init = await pg('pgdata', 'init')
    assert.equal(init.code, 0, init.stderr)
    assert.equal(init.stdout.trim(), 'one,three,two')
    const read = await pg('pgdata', 'read')
    assert.equal(read.code, 0, read.stderr)
    assert.equal(read.stdout.trim(), 'one,three,two', 'the rows outlive the first container')
    assert.deepEqual(env.leaks(), { mounts: [], loops: [] })
    await env.dockerd.ok(['volume', 'rm', 'pgdata'])
  })

  it("the filesystem's root (-o subdir=) is what initdb refused before: lost+found", {
    timeout: 5 * 60_000,
  }, async () => {
    await env.createVolume('pgroot', 'size=1', 'subdir=')
    const init = await pg('pgroot', 'init')
    assert.notEqual(init.code, 0)
    assert.match(init.stderr, /lost\+found/)
    await env.dockerd.ok(['volume', 'rm', 'pgroot'])
  })
})
