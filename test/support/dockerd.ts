import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { cleanupUnder } from './host-cleanup.ts'

export const TEST_IMAGE = 'fuxi-test-busybox:latest'
const DOCKER = '/usr/bin/docker' // Debian docker.io's client, not whatever else is on PATH

export interface DockerResult {
  code: number
  stdout: string
  stderr: string
}

/**
 * A private dockerd (its own data-root, exec-root and API socket) for one test file, so tests run
 * in parallel with each other and with any dockerd the machine already has. Plugins are still
 * discovered in /run/docker/plugins, which is why each test uses its own plugin name.
 */
export class Dockerd {
  readonly root: string
  readonly execRoot: string
  readonly socket: string
  proc: ChildProcess | undefined
  /** Runs dockerd through this command (e.g. nsenter into a simulated host's namespaces). */
  readonly prefix: readonly string[]
  #log = ''

  private constructor(
    root: string,
    execRoot: string,
    o: { socket?: string; prefix?: readonly string[] } = {},
  ) {
    this.root = root
    this.execRoot = execRoot
    this.socket = o.socket ?? join(execRoot, 'docker.sock')
    this.prefix = o.prefix ?? []
  }

  /**
   * A private dockerd. `root`, `socket`: where its data and API socket go (default: new temp
   * dirs); `prefix`: a command that dockerd is run through (nsenter, for a simulated host).
   */
  static async start(
    o: { root?: string; socket?: string; prefix?: readonly string[] } = {},
  ): Promise<Dockerd> {
    if (!existsSync('/usr/sbin/dockerd'))
      throw new Error(
        'dockerd missing: apt-get install -y docker.io (scripts/install-test-deps.sh)',
      )
    await mkdir('/var/lib/fuxi-test', { recursive: true })
    const root = o.root ?? (await mkdtemp('/var/lib/fuxi-test/dockerd-'))
    // exec-root holds containerd's socket: keep the path short (sun_path is 108 bytes).
    const execRoot = await mkdtemp('/run/fxd-')
    const d = new Dockerd(root, execRoot, o)
    await d.#spawn()
    return d
  }

  async #spawn(): Promise<void> {
    const args = [
      '--iptables=false',
      '--ip-masq=false',
      '--bridge=none',
      `--data-root=${this.root}`,
      `--exec-root=${this.execRoot}`,
      `--pidfile=${join(this.execRoot, 'dockerd.pid')}`,
      `--host=unix://${this.socket}`,
      '--log-level=warn',
    ]
    const [cmd, ...pre] = [...this.prefix, '/usr/sbin/dockerd']
    const proc = spawn(cmd as string, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.proc = proc
    proc.stdout?.on('data', (c) => {
      this.#log += String(c)
    })
    proc.stderr?.on('data', (c) => {
      this.#log += String(c)
    })
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`dockerd exited ${proc.exitCode}:\n${this.#log}`)
      if (await this.#ping()) return
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`dockerd did not come up:\n${this.#log}`)
  }

  #ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request({ socketPath: this.socket, path: '/_ping', timeout: 1000 }, (res) => {
        res.resume()
        resolve(res.statusCode === 200)
      })
      req.on('error', () => resolve(false))
      req.on('timeout', () => req.destroy())
      req.end()
    })
  }

  get log(): string {
    return this.#log
  }

  /** Run the docker CLI against this daemon (argv only, never a shell). */
  docker(args: string[], timeoutMs = 120_000): Promise<DockerResult> {
    return new Promise((resolve) => {
      execFile(
        DOCKER,
        args,
        {
          env: { ...process.env, DOCKER_HOST: `unix://${this.socket}` },
          timeout: timeoutMs,
          maxBuffer: 16 << 20,
        },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
          resolve({ code, stdout: String(stdout), stderr: String(stderr) })
        },
      )
    })
  }

  /** docker ... that must succeed; returns trimmed stdout. */
  async ok(args: string[]): Promise<string> {
    const r = await this.docker(args)
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr}`)
    return r.stdout.trim()
  }

  /** A busybox image made with `docker import` (no registry here). */
  async ensureImage(): Promise<void> {
    if ((await this.docker(['image', 'inspect', TEST_IMAGE])).code === 0) return
    const rootfs = await mkdtemp('/var/lib/fuxi-test/rootfs-')
    try {
      await mkdir(join(rootfs, 'bin'), { recursive: true })
      await mkdir(join(rootfs, 'tmp'))
      await copyFile('/bin/busybox', join(rootfs, 'bin/busybox'))
      for (const a of [
        'sh',
        'cat',
        'echo',
        'sleep',
        'ls',
        'test',
        'sync',
        'dd',
        'touch',
        'mkdir',
        'rm',
        'wc',
        'df',
        'stat',
        'true',
        'seq',
        'grep',
        'sha256sum',
        'head',
        'date',
      ]) {
        await symlink('busybox', join(rootfs, 'bin', a))
      }
      const tar = spawn('tar', ['-C', rootfs, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] })
      const imp = spawn(DOCKER, ['import', '-c', 'CMD ["/bin/sh"]', '-', TEST_IMAGE], {
        env: { ...process.env, DOCKER_HOST: `unix://${this.socket}` },
        stdio: ['pipe', 'ignore', 'pipe'],
      })
      tar.stdout?.pipe(imp.stdin as NodeJS.WritableStream)
      let err = ''
      imp.stderr?.on('data', (c) => {
        err += String(c)
      })
      const code = await new Promise<number | null>((r) => imp.on('exit', r))
      if (code !== 0) throw new Error(`docker import failed: ${err}`)
    } finally {
      await rm(rootfs, { recursive: true, force: true })
    }
  }

  /** kill -9, as a crash would (containers keep running under their shims). */
  async kill(): Promise<void> {
    const p = this.proc
    if (!p || p.exitCode !== null || p.signalCode !== null) return
    const done = new Promise((r) => p.once('exit', r))
    p.kill('SIGKILL')
    await done
  }

  /** Start again after kill() or a stop of the process (same data root and sockets). */
  async respawn(): Promise<void> {
    await this.#spawn()
  }

  /** Stop and start again on the same data (volumes and containers survive). */
  async restart(): Promise<void> {
    await this.#terminate()
    await this.#spawn()
  }

  async #terminate(): Promise<void> {
    const p = this.proc
    if (!p || p.exitCode !== null) return
    const done = new Promise((r) => p.once('exit', r))
    p.kill('SIGTERM')
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000)
    await done
    clearTimeout(timer)
  }

  /** Stop, remove every container first, and delete the private roots. */
  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      const ids = (await this.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean)
      if (ids.length) await this.docker(['rm', '-f', ...ids])
    }
    await this.#terminate()
    // A build on the host network leaves dockerd's netns/default mounted under exec-root, and a
    // plugin disabled with -f may leave its propagated mounts under the data root.
    cleanupUnder(this.execRoot)
    cleanupUnder(this.root)
    await rm(this.execRoot, { recursive: true, force: true })
    await rm(this.root, { recursive: true, force: true }).catch(() => undefined)
  }
}
