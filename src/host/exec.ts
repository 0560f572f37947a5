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

/** The real Exec, over execa. `env` lets tests put stand-in executables first on PATH. */
export function createExec(env?: Readonly<Record<string, string>>): Exec {
  return {
    async run(command, args, opts = {}) {
      const argv = [command, ...args].map((a) => (opts.secrets?.includes(a) ? '***' : a))
      const result = await execa(command, args, {
        reject: false,
        stdin: 'ignore',
        timeout: opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
        env: { LC_ALL: 'C', ...env },
        shell: false,
      })
      const exitCode = result.exitCode
      if (result.failed && exitCode === undefined) {
        throw new CommandFailedError(
          argv,
          undefined,
          String(result.stderr || result.shortMessage || ''),
          result.cause,
        )
      }
      const ok = exitCode === 0 || (exitCode !== undefined && opts.okExitCodes?.includes(exitCode))
      if (!ok)
        throw new CommandFailedError(argv, exitCode, String(result.stderr || result.stdout || ''))
      return {
        stdout: String(result.stdout ?? ''),
        stderr: String(result.stderr ?? ''),
        exitCode: exitCode ?? 0,
      }
    },
  }
}
