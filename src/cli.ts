import { existsSync } from 'node:fs'
import { defaultConfig, loadConfigFile } from './config/load.ts'
import { DaemonError, InvalidRequestError, isFuxiError, messageOf } from './errors.ts'
import { callPlugin } from './protocol/client.ts'

const DEFAULT_CONFIG_FILE = '/etc/fuxi/fuxi.conf'
const USAGE = `usage: fuxi [--config-file PATH] COMMAND

Talks to the running fuxi daemon over its socket.
  ls               volumes with provider, size, mount state and references
  inspect NAME     everything fuxi knows about one volume (JSON)
  reconcile        repair what a crash or reboot left (re-mount / release / finish interrupted steps)
  stats            uptime, volume count, memory
  check-config     validate the configuration file and exit
  doctor [--json]  check everything fuxi needs (config, tools, kernel, daemon, Docker, clouds):
                   one line per check with the fix; exit status 0 only when nothing fails
`

/** Admin command line: prints, never changes volumes except through the daemon's reconcile. */
async function main(argv: string[]): Promise<number> {
  let file: string | undefined
  const rest: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--config-file') file = argv[++i]
    else if (a.startsWith('--config-file=')) file = a.slice(14)
    else rest.push(a)
  }
  const [cmd, arg] = rest
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(USAGE)
    return cmd ? 0 : 2
  }
  file ??= existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined
  if (cmd === 'doctor') return doctor(file, rest.includes('--json'))
  const config = file ? await loadConfigFile(file) : defaultConfig()
  const socket = config.DEFAULT.socket_path
  const call = (method: string, body: object = {}) => post(socket, method, body)
  switch (cmd) {
    case 'check-config':
      process.stdout.write(`${file ?? '(embedded default)'}: OK\n`)
      return 0
    case 'ls': {
      const { Volumes } = (await call('VolumeDriver.List')) as { Volumes: { Name: string }[] }
      const rows = [['NAME', 'PROVIDER', 'SIZE', 'FSTYPE', 'MOUNTED', 'REFS', 'PHASE']]
      for (const v of Volumes) {
        const { Volume } = (await call('VolumeDriver.Get', { Name: v.Name })) as {
          Volume?: { Status: Record<string, unknown> }
        }
        const s = Volume?.Status ?? {}
        rows.push([
          v.Name,
          String(s.provider ?? ''),
          s.size ? `${s.size}G` : '',
          String(s.fstype ?? ''),
          s.mounted ? 'yes' : 'no',
          String(s.refs ?? ''),
          String(s.phase ?? ''),
        ])
      }
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
      for (const r of rows)
        process.stdout.write(
          `${r
            .map((c, i) => c.padEnd(widths[i] ?? 0))
            .join('  ')
            .trimEnd()}\n`,
        )
      return 0
    }
    case 'inspect': {
      if (!arg) throw new InvalidRequestError('inspect needs a volume name')
      process.stdout.write(
        `${JSON.stringify((await call('VolumeDriver.Get', { Name: arg })).Volume, null, 2)}\n`,
      )
      return 0
    }
    case 'reconcile': {
      const { Actions } = (await call('Fuxi.Reconcile')) as {
        Actions: { volume: string; action: string }[]
      }
      if (!Actions.length)
        process.stdout.write('nothing to do: journal, mounts and devices agree\n')
      for (const a of Actions) process.stdout.write(`${a.volume}: ${a.action}\n`)
      return 0
    }
    case 'stats':
      process.stdout.write(`${JSON.stringify(await call('Fuxi.Stats'), null, 2)}\n`)
      return 0
    default:
      process.stderr.write(`unknown command "${cmd}"\n${USAGE}`)
      return 2
  }
}

async function doctor(file: string | undefined, json: boolean): Promise<number> {
  const [{ runChecks, report }, { hostDoctorDeps }] = await Promise.all([
    import('./doctor/checks.ts'),
    import('./doctor/deps.ts'),
  ])
  const loaded = await (file ? loadConfigFile(file) : Promise.resolve(defaultConfig())).then(
    (config) => ({ config }),
    (e: unknown) => ({ configError: messageOf(e) }),
  )
  const { text, code } = report(await runChecks({ file, ...loaded }, hostDoctorDeps()), json)
  process.stdout.write(text)
  return code
}

async function post(
  socketPath: string,
  method: string,
  body: object,
): Promise<Record<string, unknown>> {
  const reply = await callPlugin(socketPath, method, body).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
      ? new DaemonError(
          'DAEMON_UNREACHABLE',
          `fuxi is not running on ${socketPath} (start it with fuxi-server, or see README "Operations")`,
          { cause: e },
        )
      : e
  })
  if (typeof reply.Err === 'string' && reply.Err) throw new DaemonError('DAEMON_REFUSED', reply.Err)
  return reply
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`fuxi: ${isFuxiError(e) ? e.message : messageOf(e)}\n`)
    process.exit(1)
  },
)
