import { execFile } from 'node:child_process'
import { STANDIN_PATH } from './standins.ts'

export interface DoctorReport {
  ok: boolean
  checks: { name: string; status: string; detail: string; fix?: string }[]
}

/**
 * `fuxi doctor --json` with this config file (stand-ins first on PATH): its report and exit
 * status. `prefix`: a command the doctor runs through (e.g. faketime, to plant a clock skew).
 */
export function runDoctor(
  configFile: string,
  prefix: readonly string[] = [],
): Promise<{ report: DoctorReport; code: number; out: string }> {
  const [cmd, ...pre] = [...prefix, process.execPath]
  return new Promise((resolve) => {
    execFile(
      cmd as string,
      [...pre, '--import', 'tsx', 'src/cli.ts', '--config-file', configFile, 'doctor', '--json'],
      { env: { ...process.env, PATH: STANDIN_PATH } },
      (err, stdout) => {
        const code = err ? Number((err as { code?: number }).code ?? 1) : 0
        resolve({ report: JSON.parse(stdout) as DoctorReport, code, out: stdout })
      },
    )
  })
}

/** The status of the named line of a report. */
export const statusOf = (r: DoctorReport, name: string) =>
  r.checks.find((c) => c.name === name)?.status
