import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { cp, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Dockerd } from './dockerd.ts'

/**
 * The Dockerfile's BASE for tests, which reach no image registry: a Debian bookworm root made with
 * debootstrap (from the Debian mirror this machine's apt uses), with this machine's Node.js and npm
 * at /usr/local/bin as the official node images have them (bookworm's own nodejs is 18, too old).
 * The debootstrapped root is kept in CACHE between runs (it takes about 2 minutes to make).
 */
const CACHE = '/var/lib/fuxi-test/cache/debian-bookworm-minbase'
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'

export function baseImageTag(): string {
  return `fuxi-test-base:bookworm-node${process.versions.node}`
}

/** The first Debian archive URL in apt's sources (deb822 or one-line form). */
export function debianMirror(): string {
  const files = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']
  for (const f of files) {
    if (!existsSync(f)) continue
    const text = readFileSync(f, 'utf8')
    const m =
      text.match(/^URIs:\s*(\S+\/debian)\/?\s*$/m) ??
      text.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+bookworm\b/m)
    if (m?.[1]) return m[1]
  }
  return 'http://deb.debian.org/debian'
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`))
        : resolve(stdout),
    )
  })
}

async function debootstrapped(): Promise<string> {
  if (existsSync(join(CACHE, 'etc/debian_version'))) return CACHE
  if (!existsSync('/usr/sbin/debootstrap'))
    throw new Error(
      'debootstrap missing: apt-get install -y debootstrap (scripts/install-deps.sh --test)',
    )
  await mkdir(dirname(CACHE), { recursive: true })
  const tmp = await mkdtemp(`${CACHE}.tmp-`)
  try {
    await run(
      '/usr/sbin/debootstrap',
      ['--variant=minbase', 'bookworm', tmp, debianMirror()],
      15 * 60_000,
    )
  } catch (e) {
    await rm(tmp, { recursive: true, force: true })
    throw e
  }
  // Two test files may make it at once (one tier): the first rename wins, the other's copy goes.
  await rename(tmp, CACHE).catch(async (e: unknown) => {
    await rm(tmp, { recursive: true, force: true })
    if (!existsSync(join(CACHE, 'etc/debian_version'))) throw e
  })
  return CACHE
}

/** Makes (once per dockerd) and returns the base image tag. */
export async function ensureBaseImage(dockerd: Dockerd): Promise<string> {
  const tag = baseImageTag()
  if ((await dockerd.docker(['image', 'inspect', tag])).code === 0) return tag
  const root = await debootstrapped()
  const work = await mkdtemp('/var/lib/fuxi-test/base-')
  try {
    // What the base adds to the Debian root, laid out as in the image.
    const extra = join(work, 'extra')
    const local = join(extra, 'usr/local')
    await mkdir(join(local, 'bin'), { recursive: true })
    await mkdir(join(local, 'lib/node_modules'), { recursive: true })
    await mkdir(join(local, 'etc'), { recursive: true })
    await cp(process.execPath, join(local, 'bin/node'))
    const npm = join(dirname(process.execPath), '../lib/node_modules/npm')
    await cp(npm, join(local, 'lib/node_modules/npm'), { recursive: true })
    await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(local, 'bin/npm'))
    await symlink('../lib/node_modules/npm/bin/npx-cli.js', join(local, 'bin/npx'))
    const added = ['./usr/local/bin/node', './usr/local/bin/npm', './usr/local/bin/npx']
    added.push('./usr/local/lib/node_modules')
    // This machine reaches the npm registry through a proxy whose CA only its own bundle trusts:
    // the base trusts what the machine trusts, so npm ci inside the build works as npm ci here.
    const env: string[] = []
    if (existsSync(CA_BUNDLE) && !existsSync(join(root, CA_BUNDLE))) {
      await mkdir(join(extra, dirname(CA_BUNDLE)), { recursive: true })
      await cp(CA_BUNDLE, join(extra, CA_BUNDLE))
      await writeFile(join(local, 'etc/npmrc'), `cafile=${CA_BUNDLE}\n`)
      added.push(`.${CA_BUNDLE}`, './usr/local/etc/npmrc')
      env.push('-c', `ENV NODE_EXTRA_CA_CERTS=${CA_BUNDLE}`)
    }
    // One tar: the Debian root, then the added files (files only: docker import refuses a path
    // that is in the tar twice, and the root has usr/local/bin already).
    const tar = join(work, 'base.tar')
    await run('tar', ['-C', root, '-c', '-f', tar, '.'], 5 * 60_000)
    await run('tar', ['-C', extra, '-r', '-f', tar, ...added], 5 * 60_000)
    await dockerd.ok(['import', ...env, '-c', 'CMD ["node"]', tar, tag])
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  return tag
}
