import { existsSync } from 'node:fs'
import { lsTable } from './cli-format.ts'
import { defaultConfig, loadConfigFile } from './config/load.ts'
import type { FuxiConfig } from './config/schema.ts'
import { NO_SOURCES, systemSources } from './config/sources.ts'
import {
  ConfigError,
  DaemonError,
  EXIT,
  exitStatusOf,
  isFuxiError,
  messageOf,
  UsageError,
} from './errors.ts'
import { callPlugin } from './protocol/client.ts'
import { fuxiVersion } from './version.ts'

const DEFAULT_CONFIG_FILE = '/etc/fuxi/fuxi.conf'
const USAGE = `usage: fuxi [--config-file PATH] [--json] COMMAND
       fuxi --version

Talks to the running fuxi daemon over its socket.
  ls               volumes with provider, size, mount state and references
  inspect NAME     everything fuxi knows about one volume (JSON)
  resize NAME GIB  grow a volume to GIB GiB, online when it is mounted (local volumes; never shrinks)
  reconcile        repair what a crash or reboot left (re-mount / release / finish interrupted steps)
  stats            uptime, volume count, memory
  check-config     validate the configuration (and its credentials) and exit
  doctor           check everything fuxi needs (config, tools, kernel, daemon, Docker, clouds):
                   one line per check with the fix; exit status 0 only when nothing fails
  version          fuxi's version

--json: one JSON object on stdout, errors too ({"ok": false, "error": {"code", "message"}}).
Exit status: 0 done, 1 failed, 2 wrong command line, 3 invalid configuration, 4 daemon not running.
`

interface Args {
  file?: string
  json: boolean
  cmd?: string
  operands: string[]
}

function parseArgs(argv: readonly string[]): Args {
  const out: Args = { json: false, operands: [] }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--config-file') {
      out.file = argv[++i]
      if (!out.file) throw new UsageError('--config-file needs a path')
    } else if (a.startsWith('--config-file=')) out.file = a.slice('--config-file='.length)
    else if (a === '--json') out.json = true
    else if (a === '--version' || a === '-V') out.cmd ??= 'version'
    else if (a === '-h' || a === '--help') out.cmd ??= 'help'
    else if (a.startsWith('-')) throw new UsageError(`unknown option "${a}"`)
    else if (out.cmd === undefined) out.cmd = a
    else out.operands.push(a)
  }
  return out
}

/** What a command prints: the human text, and the JSON object for --json. */
type Output = { text: string; json: object; status?: number }

/** Admin command line: prints, never changes volumes except through the daemon's reconcile. */
async function run(args: Args): Promise<Output> {
  const { cmd, operands } = args
  const arity = (n: number, what: string) => {
    if (operands.length !== n) throw new UsageError(`${cmd} takes ${what}`)
  }
  if (cmd === undefined) throw new UsageError('no command given')
  const file = args.file ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined)
  switch (cmd) {
    case 'help':
      return { text: USAGE, json: { ok: true, usage: USAGE } }
    case 'version': {
      arity(0, 'no arguments')
      const version = fuxiVersion()
      return { text: `fuxi ${version}\n`, json: { ok: true, version } }
    }
    case 'check-config': {
      arity(0, 'no arguments')
      const c = file ? await loadConfigFile(file, systemSources()) : defaultConfig()
      const where = file ?? '(embedded default)'
      return {
        text: `${where}: OK\n`,
        json: { ok: true, file: where, providers: c.DEFAULT.volume_providers },
      }
    }
    case 'doctor':
      arity(0, 'no arguments')
      return doctor(file)
    default:
      return daemonCommand(cmd, operands, file, arity)
  }
}

/** The commands that ask the running daemon. */
async function daemonCommand(
  cmd: string,
  operands: readonly string[],
  file: string | undefined,
  arity: (n: number, what: string) => void,
): Promise<Output> {
  const operandCount = Object.hasOwn(DAEMON_COMMANDS, cmd) ? DAEMON_COMMANDS[cmd] : undefined
  if (operandCount === undefined) throw new UsageError(`unknown command "${cmd}"`)
  arity(
    operandCount,
    ['no arguments', 'one volume name', 'a volume name and a size in GiB'][operandCount] as string,
  )
  const call = await daemonCaller(file)
  switch (cmd) {
    case 'ls': {
      const { Volumes } = (await call('Fuxi.List')) as { Volumes: VolumeAnswer[] }
      const volumes = Volumes.map((v) => ({
        name: v.Name,
        mountpoint: v.Mountpoint,
        createdAt: v.CreatedAt,
        status: v.Status ?? {},
      }))
      return { text: lsTable(volumes), json: { ok: true, volumes } }
    }
    case 'inspect': {
      const { Volume } = await call('VolumeDriver.Get', { Name: operands[0] })
      return { text: `${JSON.stringify(Volume, null, 2)}\n`, json: { ok: true, volume: Volume } }
    }
    case 'resize': {
      const { Size } = (await call('Fuxi.Resize', { Name: operands[0], Size: operands[1] })) as {
        Size: string
      }
      return {
        text: `${operands[0]}: ${Size} GiB\n`,
        json: { ok: true, volume: operands[0], size: Number(Size) },
      }
    }
    case 'reconcile': {
      const { Actions } = (await call('Fuxi.Reconcile')) as {
        Actions: { volume: string; action: string }[]
      }
      const text = Actions.length
        ? Actions.map((a) => `${a.volume}: ${a.action}\n`).join('')
        : 'nothing to do: journal, mounts and devices agree\n'
      return { text, json: { ok: true, actions: Actions } }
    }
    case 'stats': {
      const { Err: _, ...stats } = await call('Fuxi.Stats')
      return { text: `${JSON.stringify(stats, null, 2)}\n`, json: { ok: true, ...stats } }
    }
    default:
      throw new UsageError(`unknown command "${cmd}"`)
  }
}

/** The commands that ask the daemon, and how many operands each takes. */
const DAEMON_COMMANDS: Readonly<Record<string, number>> = {
  ls: 0,
  inspect: 1,
  resize: 2,
  reconcile: 0,
  stats: 0,
}

interface VolumeAnswer {
  Name: string
  Mountpoint: string
  CreatedAt?: string
  Status?: Record<string, unknown>
}

/**
 * Calls on the daemon's socket. Only socket_path is needed from the config: credentials are the
 * daemon's business (this shell's environment is not the daemon's), so they are not checked here.
 */
async function daemonCaller(file: string | undefined) {
  const config: FuxiConfig = file
    ? await loadConfigFile(file, NO_SOURCES, { checkCredentials: false })
    : defaultConfig()
  const socket = config.DEFAULT.socket_path
  return async (method: string, body: object = {}): Promise<Record<string, unknown>> => {
    const reply = await callPlugin(socket, method, body).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
        ? new DaemonError(
            'DAEMON_UNREACHABLE',
            `fuxi is not running on ${socket} (start it with fuxi-server, or see README "Operations")`,
            { cause: e },
          )
        : e
    })
    if (typeof reply.Err === 'string' && reply.Err) {
      const old = reply.Err.startsWith('unknown endpoint') && method.startsWith('Fuxi.')
      throw new DaemonError(
        'DAEMON_REFUSED',
        old ? `the running daemon is older than this fuxi (${reply.Err}): restart it` : reply.Err,
      )
    }
    return reply
  }
}

async function doctor(file: string | undefined): Promise<Output> {
  const [{ runChecks, report }, { hostDoctorDeps }] = await Promise.all([
    import('./doctor/checks.ts'),
    import('./doctor/deps.ts'),
  ])
  const loaded = await (file
    ? loadConfigFile(file, systemSources())
    : Promise.resolve(defaultConfig())
  ).then(
    (config) => ({ config }),
    (e: unknown) => ({ configError: messageOf(e) }),
  )
  const checks = await runChecks({ file, ...loaded }, hostDoctorDeps())
  const human = report(checks, false)
  return { text: human.text, json: JSON.parse(report(checks, true).text), status: human.code }
}

/** The JSON for an error: its stable code, its message, and a config error's problems. */
function errorJson(e: unknown): object {
  return {
    ok: false,
    error: {
      code: isFuxiError(e) ? e.code : 'INTERNAL',
      message: messageOf(e),
      ...(e instanceof ConfigError ? { problems: e.problems } : {}),
    },
  }
}

async function main(argv: string[]): Promise<number> {
  let json = argv.includes('--json')
  try {
    const args = parseArgs(argv)
    json = args.json
    const out = await run(args)
    process.stdout.write(json ? `${JSON.stringify(out.json, null, 1)}\n` : out.text)
    return out.status ?? EXIT.ok
  } catch (e) {
    const status = exitStatusOf(e)
    if (json) process.stdout.write(`${JSON.stringify(errorJson(e), null, 1)}\n`)
    else
      process.stderr.write(
        `fuxi: ${messageOf(e)}${status === EXIT.usage ? ' (fuxi --help lists the commands)' : ''}\n`,
      )
    return status
  }
}

void main(process.argv.slice(2)).then((code) => process.exit(code))
