import { execa } from 'execa'
import { CommandFailedError } from '../errors.ts'

export interface ExecResult {
  stdout: string
  stderr: string
  exitCode: number
}

export interface ExecOptions {
  /** Kill the command after this long (default {@link DEFAULT_COMMAND_TIMEOUT_MS}). */
  timeoutMs?: number
  /** Exit codes that are answers rather than failures (e.g. blkid's 2 = "nothing found"). */
  okExitCodes?: readonly number[]
  /** Arguments that are secrets (e.g. a CHAP password): shown as *** in errors and logs. */
  secrets?: readonly string[]
}

/** Runs host commands. argv arrays only: nothing ever goes through a shell. */
export interface Exec {
  run(command: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult>
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 60_000

/** Replaces every secret in `text` (and any argument equal to one) with ***. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text
  for (const s of secrets) if (s) out = out.split(s).join('***')
  return out
}

/**
 * The real Exec, over execa. `env` lets tests put stand-in executables first on PATH. Arguments
 * marked secret appear as *** in every error (argv, stderr, and the reason a command could not
 * run): execa's own error, which quotes the whole command line, is never passed on.
 */
export function createExec(env?: Readonly<Record<string, string>>): Exec {
  return {
    async run(command, args, opts = {}) {
      const secrets = opts.secrets ?? []
      const argv = [command, ...args].map((a) => (secrets.includes(a) ? '***' : a))
      const result = await execa(command, args, {
        reject: false,
        stdin: 'ignore',
        timeout: opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
        env: { LC_ALL: 'C', ...env },
        shell: false,
      })
      const exitCode = result.exitCode
      const stderr = redact(String(result.stderr ?? ''), secrets)
      if (result.failed && exitCode === undefined) {
        const why = result.timedOut
          ? `timed out after ${opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS} ms`
          : ((result.cause as NodeJS.ErrnoException | undefined)?.code ?? 'could not run')
        throw new CommandFailedError(
          argv,
          undefined,
          stderr || (why === 'ENOENT' ? `${command}: command not found` : why),
          { notFound: why === 'ENOENT' },
        )
      }
      const ok = exitCode === 0 || (exitCode !== undefined && opts.okExitCodes?.includes(exitCode))
      if (!ok)
        throw new CommandFailedError(
          argv,
          exitCode,
          stderr || redact(String(result.stdout ?? ''), secrets),
        )
      return {
        stdout: String(result.stdout ?? ''),
        stderr: String(result.stderr ?? ''),
        exitCode: exitCode ?? 0,
      }
    },
  }
}
