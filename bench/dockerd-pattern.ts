// Records the plugin calls dockerd makes (DOCKERD_PATTERN in bench/lifecycle.ts comes from it):
// a private dockerd (docker.io) finds fuxi through a logging socket in /run/docker/plugins, and a
// few docker CLI commands print what dockerd sent and what fuxi answered. Root:
// `node scripts/build.mjs && node --import tsx bench/dockerd-pattern.ts` (local provider);
// PATTERN_PROVIDER=cinder (dev cloud running): the Cinder provider, with the API calls each plugin
// call made (counting proxy, polls apart).
import { mkdirSync, rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import { Daemon } from '../test/support/daemon.ts'
import { cloudSession, demoAuthConf, devcloudAuth, uniqueName } from '../test/support/devcloud.ts'
import { Dockerd, TEST_IMAGE } from '../test/support/dockerd.ts'
import { cleanupUnder } from '../test/support/host-cleanup.ts'
import { countingProxy, describeCall, taggedNodeOptions } from './counting-proxy.ts'

mkdirSync('/var/lib/fuxi-test', { recursive: true })
const dir = await mkdtemp('/var/lib/fuxi-test/pattern-')
const driver = `fxp${process.pid}`
const seen: string[] = []
const cinder = process.env.PATTERN_PROVIDER === 'cinder'
const CINDER = 'http://127.0.0.1:8776'
const proxy = cinder ? await countingProxy(CINDER) : undefined
const extra = proxy
  ? [
      'volume_providers = cinder',
      `volume_from = ${uniqueName('pattern')}`,
      'reconcile_interval = 0',
      ...demoAuthConf('cinder'),
      `endpoint_override = ${(await cloudSession(devcloudAuth('openrc-demo')).endpoint('volumev3')).replace(CINDER, proxy.url)}`,
    ]
  : []
const fuxi = await Daemon.create(dir, { extra: ['log_level = warn', ...extra, ''].join('\n') })
fuxi.production = true
fuxi.env = { NODE_OPTIONS: taggedNodeOptions() }
const plugin = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const body = Buffer.concat(chunks)
    const up = request(
      { socketPath: fuxi.socket, method: req.method, path: req.url, headers: req.headers },
      (ur) => {
        const out: Buffer[] = []
        ur.on('data', (c) => out.push(c))
        ur.on('end', () => {
          const ans = Buffer.concat(out).toString()
          seen.push(`${req.url} ${body.toString().trim().slice(0, 80)} -> ${ans.slice(0, 80)}`)
          for (const c of proxy?.log.splice(0) ?? [])
            seen.push(`      ${c.poll ? '(poll) ' : ''}${describeCall(c)}`)
          res.writeHead(ur.statusCode ?? 500, ur.headers).end(ans)
        })
      },
    )
    up.end(body)
  })
})
mkdirSync('/run/docker/plugins', { recursive: true })
await new Promise<void>((r) => plugin.listen(`/run/docker/plugins/${driver}.sock`, r))
const dockerd = await Dockerd.start()
try {
  await fuxi.start()
  await dockerd.ensureImage()
  const step = async (args: string[]) => {
    seen.length = 0
    const r = await dockerd.docker(args)
    console.log(`$ docker ${args.join(' ')}  (exit ${r.code})`)
    for (const s of seen) console.log(`    ${s}`)
  }
  await step(['volume', 'create', '-d', driver, 'pv1'])
  await step(['run', '--rm', '--network', 'none', '-v', 'pv1:/data', TEST_IMAGE, 'true'])
  await step(['volume', 'rm', 'pv1'])
  await step([
    'run',
    '--rm',
    '--network',
    'none',
    '--volume-driver',
    driver,
    '-v',
    'pv2:/data',
    TEST_IMAGE,
    'true',
  ])
  await step(['volume', 'ls'])
  await step(['volume', 'inspect', 'pv2'])
  await step(['volume', 'rm', 'pv2'])
} finally {
  await fuxi.stop()
  await dockerd.stop()
  plugin.close()
  await proxy?.close()
  rmSync(`/run/docker/plugins/${driver}.sock`, { force: true })
  cleanupUnder(dir)
  rmSync(dir, { recursive: true, force: true })
}
