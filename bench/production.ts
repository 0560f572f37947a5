/** The daemon as production starts it: bin/fuxi-server (node with its flags, dist/fuxi.mjs). */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { Daemon } from '../test/support/daemon.ts'
import { now } from './stats.ts'

export const FUXI_SERVER = new URL('../bin/fuxi-server', import.meta.url).pathname

/** Like Daemon, but started by bin/fuxi-server (FUXI_NODE_OPTIONS in `env` changes its flags). */
export class ProductionDaemon extends Daemon {
  output = ''
  /** The command that starts it (another build or node flags: [node, ...flags, bundle]). */
  command: readonly string[] = [FUXI_SERVER]

  static async make(dir: string, extra: string): Promise<ProductionDaemon> {
    const d = await Daemon.create(dir, { extra })
    return new ProductionDaemon(d.dir, d.configFile, d.socket)
  }

  /** Starts it and waits until Activate answers; returns the ms from spawn to that answer. */
  override async start(env: Record<string, string> = {}): Promise<void> {
    await this.timedStart(env)
  }

  async timedStart(env: Record<string, string> = {}): Promise<number> {
    const t0 = now()
    const [cmd = FUXI_SERVER, ...args] = this.command
    const proc = spawn(cmd, [...args, '--config-file', this.configFile], {
      env: { ...process.env, ...this.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.proc = proc
    this.output = ''
    proc.stdout?.on('data', (c) => {
      this.output += String(c)
    })
    proc.stderr?.on('data', (c) => {
      this.output += String(c)
    })
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline) {
      if (proc.exitCode !== null)
        throw new Error(`fuxi exited with ${proc.exitCode}:\n${this.output}`)
      if (await activated(this.socket)) return now() - t0
      await new Promise((r) => setTimeout(r, 1))
    }
    throw new Error(`fuxi did not start:\n${this.output}`)
  }

  /** VmRSS of the daemon (bin/fuxi-server execs node: same pid), MB. */
  rssMb(): number {
    const status = readFileSync(`/proc/${this.proc?.pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
  }
}

/** One Activate on the socket; false while nothing answers there. */
function activated(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, method: 'POST', path: '/Plugin.Activate' }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode === 200))
    })
    req.on('error', () => resolve(false))
    req.end()
  })
}

/** ms from spawning `node -e 0` to its exit: the floor a node program's start is compared with. */
export function bareNode(): Promise<number> {
  const t0 = now()
  const p = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' })
  return new Promise((resolve, reject) => {
    p.on('error', reject)
    p.on('exit', () => resolve(now() - t0))
  })
}
