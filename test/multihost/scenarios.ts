import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { TEST_IMAGE } from '../support/dockerd.ts'
import { type Cluster, type SimHost, startCluster } from '../support/multihost.ts'

export const MULTIHOST_SKIP =
  process.getuid?.() !== 0
    ? 'the multihost tier needs root (namespaces, dockerd, loop devices)'
    : false

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number) {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(500)
  }
}

/** fuxi's Cinder attachment records on a host (its own attachments). */
const records = (h: SimHost) => {
  try {
    return readdirSync(`${h.dir}/state/cinder`).filter((f) => f.endsWith('.json'))
  } catch {
    return []
  }
}

/** A volume another host made shows in `docker volume ls` within a listing's freshness (2 s). */
async function listedOn(h: SimHost, name: string) {
  const t0 = Date.now()
  await waitFor(
    `${name} in docker volume ls on ${h.label}`,
    async () => {
      const names = (await h.ok(['volume', 'ls', '--format', '{{.Name}}'])).split('\n')
      return names.includes(name) ? true : undefined
    },
    10_000,
  )
  assert.ok(Date.now() - t0 < 5_000, `listed after ${Date.now() - t0} ms`)
}

/** The last lines of both hosts' fuxi logs, for a failed scenario. */
function tails(c: Cluster | undefined): string {
  if (!c) return ''
  return [c.a, c.b]
    .map((h) => `--- fuxi on ${h.label}:\n${h.fuxi.log.split('\n').slice(-40).join('\n')}`)
    .join('\n')
}

/** `docker volume create -d fuxi -o <opt>... name` on a host. */
const createVolume = (h: SimHost, name: string, ...opts: string[]) =>
  h.ok(['volume', 'create', '-d', 'fuxi', ...opts.flatMap((o) => ['-o', o]), name])
const MULTIATTACH = ['volume_type=multiattach', 'multiattach=true']

/** How many times a host's fuxi formatted a volume. */
const formats = (h: SimHost) =>
  h.fuxi.log.split('\n').filter((l) => l.includes('formatting new volume')).length

/**
 * The two-host scenarios, through each host's real docker CLI, for Cinder and Manila. Run once
 * with hosts sharing a host name and an address (VMs cloned from one image) and once with
 * distinct ones: the outcome must be the same.
 */
export function twoHostScenarios(o: { sameHostname: boolean; swarmAddresses: [string, string] }) {
  describe(`two Docker hosts, ${o.sameHostname ? 'one host name (cloned VMs)' : 'distinct host names'}`, {
    skip: MULTIHOST_SKIP,
  }, () => {
    let c: Cluster
    before(async () => {
      c = await startCluster({ sameHostname: o.sameHostname })
      // dockerd lists a socket plugin among its node's plugins (for Swarm) once it has used it.
      await Promise.all([c.a.ok(['volume', 'ls']), c.b.ok(['volume', 'ls'])])
    })
    after(async () => {
      await c?.close()
    })
    /** A scenario; a failure carries both hosts' recent fuxi logs. */
    const scenario = (title: string, fn: () => Promise<void>) =>
      it(title, async () => {
        try {
          await fn()
        } catch (e) {
          throw Object.assign(e as Error, { message: `${(e as Error).message}\n${tails(c)}` })
        }
      })

    it('the hosts have distinct ids whatever their names', () => {
      assert.notEqual(c.a.hostId(), c.b.hostId())
      if (o.sameHostname) assert.equal(c.a.hostname, c.b.hostname)
    })

    scenario(
      'cinder: made on A, used on B; refused on B while A uses it; then B reads A data byte for byte',
      async () => {
        const { a, b } = c
        await a.ok(['volume', 'create', '-d', 'fuxi', 'pgdata'])
        await listedOn(b, 'pgdata')
        const writer = await a.runDetached(
          'pgdata',
          'sh',
          '-c',
          'head -c 1048576 /dev/urandom > /data/blob && sha256sum /data/blob > /data/blob.sum && sync && sleep 3600',
        )
        const sum = await waitFor(
          'A to write',
          async () => {
            const r = await a.docker(['exec', writer, 'cat', '/data/blob.sum'])
            return r.code === 0 && r.stdout.includes('/data/blob')
              ? r.stdout.split(' ')[0]
              : undefined
          },
          30_000,
        )
        const t0 = Date.now()
        const refused = await b.run('pgdata', 'cat', '/data/blob')
        const ms = Date.now() - t0
        assert.notEqual(refused.code, 0)
        assert.match(
          refused.stderr,
          new RegExp(`attached to ${a.hostId()} \\(attachment [0-9a-f-]{36}, read-write`),
        )
        assert.ok(ms < 15_000, `refused in ${ms} ms`)
        // nothing half-attached on B: no mount, no attachment record, no attachment in Cinder
        assert.deepEqual(b.mounts(), [])
        assert.deepEqual(records(b), [])
        const [v] = await c.cinder.listVolumes({
          name: 'pgdata',
          metadata: { volume_from: c.volumeFrom },
        })
        assert.equal(v?.attachments.length, 1)
        const keys = Object.entries(v?.metadata ?? {}).filter(([k]) =>
          k.startsWith('fuxi_attachment_'),
        )
        assert.deepEqual(
          keys.map(([, x]) => x.split(';')[0]),
          [a.hostId()],
        )
        await a.ok(['rm', '-f', writer])
        const read = await b.run('pgdata', 'sha256sum', '/data/blob')
        assert.equal(read.code, 0, read.stderr)
        assert.equal(read.stdout.split(' ')[0], sum, 'B read what A wrote, byte for byte')
        assert.deepEqual(b.mounts(), [])
        await b.ok(['volume', 'rm', 'pgdata'])
      },
    )

    scenario('manila: a share made on A is written on both hosts at once', async () => {
      const { a, b } = c
      await a.ok(['volume', 'create', '-d', 'fuxi', '-o', 'volume_provider=manila', 'web'])
      await listedOn(b, 'web')
      const onA = await a.runDetached('web', 'sh', '-c', 'echo from-a > /data/a && sleep 3600')
      const onB = await b.runDetached('web', 'sh', '-c', 'echo from-b > /data/b && sleep 3600')
      await waitFor(
        'both files',
        async () => {
          const r = await a.docker(['exec', onA, 'cat', '/data/a', '/data/b'])
          return r.code === 0 ? r.stdout : undefined
        },
        30_000,
      )
      assert.equal(
        (await b.ok(['exec', onB, 'cat', '/data/a', '/data/b'])).trim(),
        'from-a\nfrom-b',
      )
      // B's rm is refused while A has access, naming A; the share stays
      await b.ok(['rm', '-f', onB])
      const rm = await b.docker(['volume', 'rm', 'web'])
      assert.notEqual(rm.code, 0)
      assert.match(rm.stderr, new RegExp(`used by ${a.hostId()}`))
      assert.equal((await a.ok(['exec', onA, 'cat', '/data/b'])).trim(), 'from-b', 'A still reads')
      await a.ok(['rm', '-f', onA])
      await b.ok(['volume', 'rm', 'web'])
    })

    scenario(
      'cinder multiattach: refused read-write on B while A writes; with readonly-many B reads',
      async () => {
        const { a, b } = c
        await createVolume(a, 'ma', ...MULTIATTACH)
        const writer = await a.runDetached(
          'ma',
          'sh',
          '-c',
          'echo a > /data/f && sync && sleep 3600',
        )
        await waitFor(
          'A',
          async () =>
            (await a.docker(['exec', writer, 'cat', '/data/f'])).code === 0 ? true : undefined,
          30_000,
        )
        const refused = await b.run('ma', 'cat', '/data/f')
        assert.notEqual(refused.code, 0)
        assert.match(refused.stderr, /a multiattach volume is written by one host at a time/)
        assert.match(refused.stderr, new RegExp(a.hostId()))
        await a.ok(['rm', '-f', writer])

        await createVolume(a, 'shared', ...MULTIATTACH, 'access=readonly-many')
        const w = await a.runDetached(
          'shared',
          'sh',
          '-c',
          'echo written-on-a > /data/f && sync && sleep 3600',
        )
        await waitFor(
          'A',
          async () =>
            (await a.docker(['exec', w, 'cat', '/data/f'])).code === 0 ? true : undefined,
          30_000,
        )
        const read = await b.run(
          'shared',
          'sh',
          '-c',
          'cat /data/f; echo x > /data/g || echo read-only',
        )
        assert.equal(read.code, 0, read.stderr)
        assert.equal(read.stdout.trim().split('\n')[0], 'written-on-a')
        assert.match(read.stdout, /read-only/)
        await a.ok(['rm', '-f', w])
        for (const v of ['ma', 'shared']) await a.ok(['volume', 'rm', v])
      },
    )

    scenario(
      'creates of one name on both hosts at once end with one volume (cinder and manila)',
      async () => {
        const { a, b } = c
        for (const provider of ['cinder', 'manila']) {
          const name = `race-${provider}`
          const made = await Promise.all(
            [a, b].map((h) =>
              h.docker([
                'volume',
                'create',
                '-d',
                'fuxi',
                '-o',
                `volume_provider=${provider}`,
                name,
              ]),
            ),
          )
          assert.deepEqual(
            made.map((r) => r.code),
            [0, 0],
            made.map((r) => r.stderr).join('\n'),
          )
          const live =
            provider === 'cinder'
              ? (
                  await c.cinder.listVolumes({ name, metadata: { volume_from: c.volumeFrom } })
                ).filter((v) => v.status !== 'deleting')
              : (
                  await c.manila.listShares({ name, metadata: { volume_from: c.volumeFrom } })
                ).filter((s) => s.status !== 'deleting')
          assert.equal(live.length, 1, `${provider}: ${live.map((x) => x.id).join(', ')}`)
          await a.ok(['volume', 'rm', name])
        }
      },
    )

    scenario(
      'a blank multiattach volume started on both hosts at once is formatted exactly once',
      async () => {
        const { a, b } = c
        await createVolume(a, 'blank', ...MULTIATTACH, 'access=readonly-many')
        await b.ok(['volume', 'inspect', 'blank'])
        const before = formats(a) + formats(b)
        const runs = await Promise.all([a, b].map((h) => h.run('blank', 'ls', '/data')))
        assert.deepEqual(
          runs.map((r) => r.code),
          [0, 0],
          runs.map((r) => r.stderr).join('\n'),
        )
        assert.equal(formats(a) + formats(b) - before, 1, 'one mkfs in all')
        await a.ok(['volume', 'rm', 'blank'])
      },
    )

    scenario(
      'A killed hard: B is refused by default; with takeover = stale it takes the volume once A is silent',
      async () => {
        const { a, b } = c
        await a.ok(['volume', 'create', '-d', 'fuxi', 'orphan'])
        const holder = await a.runDetached(
          'orphan',
          'sh',
          '-c',
          'echo before-the-crash > /data/f && sync && sleep 3600',
        )
        await waitFor(
          'A',
          async () =>
            (await a.docker(['exec', holder, 'cat', '/data/f'])).code === 0 ? true : undefined,
          30_000,
        )
        await a.killHard()
        const refused = await b.run('orphan', 'cat', '/data/f')
        assert.notEqual(refused.code, 0)
        assert.match(
          refused.stderr,
          new RegExp(`attached to ${a.hostId()} .*last heard from \\d+ s ago.*attachment-delete`),
        )
        await b.reconfigure('takeover = stale\ntakeover_after = 6')
        const t0 = Date.now()
        const read = await waitFor(
          'the takeover',
          async () => {
            const r = await b.run('orphan', 'cat', '/data/f')
            return r.code === 0 ? r : undefined
          },
          60_000,
        )
        assert.equal(read.stdout, 'before-the-crash\n')
        assert.ok(Date.now() - t0 < 40_000)
        assert.match(b.fuxi.log, /takeover: deleting the attachments of hosts that are gone/)
        // A comes back: its container is gone with its dockerd's restart; it holds nothing.
        await b.reconfigure('')
        await a.restart()
        await a.docker(['rm', '-f', holder])
        await waitFor(
          'A to release',
          async () => (a.mounts().length === 0 && records(a).length === 0 ? true : undefined),
          30_000,
        )
        await b.ok(['volume', 'rm', 'orphan'])
      },
    )

    scenario(
      'swarm: a one-replica service on A moves to B with its volume and its data',
      async () => {
        const { a, b } = c
        const [ipA, ipB] = o.swarmAddresses
        await a.ok(['swarm', 'init', '--listen-addr', `${ipA}:2377`, '--advertise-addr', ipA])
        try {
          const token = await a.ok(['swarm', 'join-token', '-q', 'worker'])
          await b.ok([
            'swarm',
            'join',
            '--token',
            token,
            '--listen-addr',
            `${ipB}:2377`,
            '--advertise-addr',
            ipB,
            `${ipA}:2377`,
          ])
          const nodeA = await a.ok(['info', '--format', '{{.Swarm.NodeID}}'])
          const nodeB = await b.ok(['info', '--format', '{{.Swarm.NodeID}}'])
          // The scheduler places a task only on nodes that report the volume plugin.
          await waitFor(
            'both nodes to report the fuxi plugin',
            async () => {
              const ok = await Promise.all(
                [nodeA, nodeB].map(async (n) =>
                  (
                    await a.ok([
                      'node',
                      'inspect',
                      '--format',
                      '{{range .Description.Engine.Plugins}}{{.Type}}/{{.Name}} {{end}}',
                      n,
                    ])
                  ).includes('Volume/fuxi'),
                ),
              )
              return ok.every(Boolean) ? true : undefined
            },
            60_000,
          )
          await a.ok([
            'service',
            'create',
            '--detach',
            '--name',
            'mover',
            '--replicas',
            '1',
            '--no-resolve-image',
            '--stop-grace-period',
            '1s',
            '--constraint',
            `node.id==${nodeA}`,
            '--mount',
            'type=volume,source=svcdata,target=/data,volume-driver=fuxi',
            TEST_IMAGE,
            'sh',
            '-c',
            'test -f /data/first || cat /proc/sys/kernel/random/uuid > /data/first; cat /data/first; sync; sleep 3600',
          ])
          const running = (node: string) => async () => {
            const states = await a.ok([
              'node',
              'ps',
              node,
              '--filter',
              'desired-state=running',
              '--format',
              '{{.CurrentState}}',
            ])
            return /Running/.test(states) ? true : undefined
          }
          await waitFor('the task on A', running(nodeA), 60_000)
          const onA = await a.ok([
            'ps',
            '-q',
            '--filter',
            'label=com.docker.swarm.service.name=mover',
          ])
          const first = await waitFor(
            'the first line',
            async () => (await a.ok(['logs', onA])).trim() || undefined,
            30_000,
          )
          await a.ok([
            'service',
            'update',
            '--detach',
            '--constraint-rm',
            `node.id==${nodeA}`,
            '--constraint-add',
            `node.id==${nodeB}`,
            'mover',
          ])
          await waitFor('the task on B', running(nodeB), 90_000)
          const onB = await b.ok([
            'ps',
            '-q',
            '--filter',
            'label=com.docker.swarm.service.name=mover',
          ])
          const moved = await waitFor(
            'the line on B',
            async () => (await b.ok(['logs', onB])).trim() || undefined,
            30_000,
          )
          assert.equal(moved, first, 'the data went with the service')
          assert.deepEqual(a.mounts(), [], 'A released the volume')
          await a.ok(['service', 'rm', 'mover'])
          await waitFor(
            'B to release',
            async () => (b.mounts().length === 0 ? true : undefined),
            30_000,
          )
        } finally {
          await b.docker(['swarm', 'leave', '--force'])
          await a.docker(['swarm', 'leave', '--force'])
        }
        await b.ok(['volume', 'rm', 'svcdata'])
      },
    )
  })
}
