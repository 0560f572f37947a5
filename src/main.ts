import { existsSync } from 'node:fs'
import { createApp } from './app.ts'
import { defaultConfig, loadConfigFile } from './config/load.ts'
import type { FuxiConfig } from './config/schema.ts'
import { exposure, secretFiles } from './config/secret-files.ts'
import { systemSources } from './config/sources.ts'
import { ConfigError, exitStatusOf, isFuxiError, messageOf, UsageError } from './errors.ts'
import { fileMode } from './host/tools.ts'
import { createLogger, type Logger } from './log.ts'
import { keystoneSections } from './providers/registry.ts'
import { fuxiVersion } from './version.ts'

/** False in the production bundle (scripts/build.mjs); true in the test bundle; unset from source. */
declare const __FUXI_TEST_HOOKS__: boolean | undefined

const DEFAULT_CONFIG_FILE = '/etc/fuxi/fuxi.conf'
const USAGE = `usage: fuxi-server [--config-file PATH] [--check-config] [--version]

Serves Docker's volume plugin protocol on /run/docker/plugins/fuxi.sock.
  --config-file PATH  fuxi.conf to read (default ${DEFAULT_CONFIG_FILE} if it exists,
                      else the embedded default: provider "local" only)
  --check-config      validate the configuration (and its credentials) and exit
  --version           print fuxi's version and exit
Exit status: 0 done, 1 failed, 2 wrong command line, 3 invalid configuration.
Environment (the managed plugin's settings):
  FUXI_CONFIG_FILE    fuxi.conf to read when --config-file is not given
  FUXI_LOG_LEVEL      trace, debug, info, warn, error or fatal: overrides the config's log_level
`
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal']

function logLevelFromEnv(value: string | undefined): string | undefined {
  if (!value) return undefined
  if (!LOG_LEVELS.includes(value))
    throw new ConfigError('the environment', [
      `FUXI_LOG_LEVEL=${value}: use one of ${LOG_LEVELS.join(', ')}`,
    ])
  return value
}

/** Process entry: argv, config, logger, app, signals. The only place that exits the process. */
async function main(argv: string[]): Promise<void> {
  const t0 = performance.now()
  const args = parseArgs(argv)
  if (args.help) {
    process.stdout.write(USAGE)
    return
  }
  if (args.version) {
    process.stdout.write(`fuxi-server ${fuxiVersion()}\n`)
    return
  }
  // The managed plugin's settings arrive as environment variables (docker plugin set).
  const file =
    args.configFile ||
    process.env.FUXI_CONFIG_FILE ||
    (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined)
  const config: FuxiConfig = file ? await loadConfigFile(file, systemSources()) : defaultConfig()
  if (args.checkConfig) {
    process.stdout.write(`${file ?? '(embedded default)'}: OK\n`)
    return
  }
  const d = config.DEFAULT
  const log = createLogger({
    level: logLevelFromEnv(process.env.FUXI_LOG_LEVEL) ?? (d.debug ? 'debug' : d.log_level),
    file: d.log_file || undefined,
  })
  await logCredentialSources(file, config, log)
  // Test-only crash points: the production bundle defines __FUXI_TEST_HOOKS__ as false, and
  // this branch is not in it.
  const crashAt =
    typeof __FUXI_TEST_HOOKS__ === 'undefined' || __FUXI_TEST_HOOKS__
      ? process.env.FUXI_TEST_CRASH_AT
      : undefined
  const app = await createApp(config, log, {
    fault: crashAt
      ? (point) => {
          if (point === crashAt) {
            log.warn({ point }, 'FUXI_TEST_CRASH_AT: killing myself')
            log.flush()
            process.kill(process.pid, 'SIGKILL')
          }
        }
      : undefined,
  })
  // A cloud that is down must not keep the daemon (and the local volumes) from serving.
  await app
    .reconcile()
    .catch((err: unknown) =>
      log.error({ err }, 'reconcile at start failed; serving anyway (fuxi reconcile retries it)'),
    )
  await app.listen()
  log.info(
    {
      config: file ?? '(embedded default)',
      socket: d.socket_path,
      providers: d.volume_providers,
      startupMs: Math.round(performance.now() - t0),
    },
    'fuxi ready',
  )
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'stopping: finishing in-flight requests; mounts stay in place')
    app.close().then(
      () => {
        log.info('stopped')
        log.flush()
        process.exit(0)
      },
      (err: unknown) => {
        log.error({ err }, 'error while stopping')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

/** At start: which files holding secrets others than root can read; where credentials come from. */
async function logCredentialSources(
  file: string | undefined,
  config: FuxiConfig,
  log: Logger,
): Promise<void> {
  for (const f of secretFiles(file, config)) {
    const m = await fileMode(f)
    const bad = m && exposure(f, m)
    if (bad) log.warn({ file: f, fix: bad.fix }, bad.problem)
  }
  for (const s of keystoneSections(config)) {
    const c = config.credentials[s]
    if (!('problems' in c)) log.info({ section: s, from: c.where, files: c.files }, 'credentials')
  }
}

interface Args {
  configFile?: string
  checkConfig: boolean
  help: boolean
  version: boolean
}

function parseArgs(argv: string[]): Args {
  const out: Args = { checkConfig: false, help: false, version: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--config-file' || a === '--config_file') out.configFile = argv[++i]
    else if (a.startsWith('--config-file=')) out.configFile = a.slice('--config-file='.length)
    else if (a === '--check-config') out.checkConfig = true
    else if (a === '-h' || a === '--help') out.help = true
    else if (a === '--version' || a === '-V') out.version = true
    else throw new UsageError(`unknown argument "${a}"\n${USAGE}`)
  }
  if ('configFile' in out && !out.configFile)
    throw new UsageError(`--config-file needs a path\n${USAGE}`)
  return out
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`fuxi-server: ${isFuxiError(e) ? e.message : messageOf(e)}\n`)
  process.exit(exitStatusOf(e))
})
