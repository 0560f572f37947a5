import { type ChildProcess, spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { callPlugin } from '../../src/protocol/client.ts'

const ROOT = new URL('../..', import.meta.url).pathname

/** The daemon as a separate process (bundle if built and FUXI_USE_DIST=1, else through tsx). */
export class Daemon {
  readonly dir: string
  readonly configFile: string
  readonly socket: string
  proc: ChildProcess | undefined
  /** Environment every start gets (e.g. PATH with test stand-ins first). */
  env: Record<string, string> = {}
  /** Always run the production bundle (dist/fuxi.mjs), whatever FUXI_USE_DIST says. */
  production = false
  /** Runs the daemon through this command (e.g. nsenter into a simulated host's namespaces). */
  prefix: readonly string[] = []
  /** Where Activate is checked (the socket as seen from this process; default: `socket`). */
  probeSocket: string | undefined
  #log = ''
  constructor(dir: string, configFile: string, socket: string) {
    this.dir = dir
    this.configFile = configFile
    this.socket = socket
  }

  static async create(
    dir: string,
    opts: { socket?: string; extra?: string } = {},
  ): Promise<Daemon> {
    const configFile = join(dir, 'fuxi.conf')
    const socket = opts.socket ?? join(dir, 'fuxi.sock')
    await writeFile(
      configFile,
      `[DEFAULT]\nstate_dir = ${dir}/state\nvolume_dir = ${dir}/data\nsocket_path = ${socket}\nlog_level = debug\n${opts.extra ?? ''}`,
    )
    return new Daemon(dir, configFile, socket)
  }

  /** Start and wait until Activate answers. */
  async start(env: Record<string, string> = {}): Promise<void> {
    // Crash points exist only in the test bundle (and in the source); the production bundle
    // ignores FUXI_TEST_CRASH_AT.
    const bundle = env.FUXI_TEST_CRASH_AT && !this.production ? 'fuxi-testing.mjs' : 'fuxi.mjs'
    const args =
      process.env.FUXI_USE_DIST === '1' || this.production
        ? ['--enable-source-maps', join(ROOT, 'dist', bundle)]
        : ['--import', 'tsx', join(ROOT, 'src/main.ts')]
    const [cmd, ...pre] = [...this.prefix, process.execPath]
    const proc = spawn(cmd as string, [...pre, ...args, '--config-file', this.configFile], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.proc = proc
    proc.stdout?.on('data', (c) => {
      this.#log += String(c)
    })
    proc.stderr?.on('data', (c) => {
      this.#log += String(c)
    })
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline) {
      if (proc.exitCode !== null)
        throw new Error(`fuxi exited with ${proc.exitCode}:\n${this.#log}`)
      try {
        const r = await this.call('Plugin.Activate')
        if (r.Implements) return
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 5))
    }
    throw new Error(`fuxi did not start:\n${this.#log}`)
  }

  get log(): string {
    return this.#log
  }

  /** Wait for the process to end (e.g. after an injected crash). */
  async exited(): Promise<number | null> {
    const p = this.proc
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null
    return new Promise((resolve) => p.once('exit', (code) => resolve(code)))
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const p = this.proc
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null
    const done = this.exited()
    p.kill(signal)
    const timer = setTimeout(() => p.kill('SIGKILL'), 15_000)
    try {
      return await done
    } finally {
      clearTimeout(timer)
    }
  }

  /** POST like dockerd: no Content-Type, JSON body with a trailing newline. */
  call(method: string, body?: object): Promise<Record<string, unknown> & { Err?: string }> {
    return callPlugin(this.probeSocket ?? this.socket, method, body)
  }

  /** kill -9, as a crash would. */
  async kill(): Promise<void> {
    await this.stop('SIGKILL')
  }
}
