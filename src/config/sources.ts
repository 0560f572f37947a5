import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'

/**
 * What credential resolution reads besides fuxi.conf: the process environment (OS_* variables,
 * OS_CLOUD, OS_CLIENT_CONFIG_FILE) and clouds.yaml / secure.yaml. Passed in, so that tests hand in
 * their own and never read the real HOME or environment.
 */
export interface CredentialSources {
  readonly env: Readonly<Record<string, string | undefined>>
  /** A file's text; undefined when it does not exist (other errors throw). */
  readFile(path: string): string | undefined
  /** `~` in the clouds.yaml search path. */
  readonly home: string
  /** `./clouds.yaml` is looked for here. */
  readonly cwd: string
}

/** No environment and no files: fuxi.conf alone (tests, the embedded default). */
export const NO_SOURCES: CredentialSources = {
  env: {},
  readFile: () => undefined,
  home: '/nonexistent',
  cwd: '/nonexistent',
}

/** This process's environment, home and working directory, and the real files. */
export function systemSources(): CredentialSources {
  return {
    env: process.env,
    readFile(path) {
      try {
        return readFileSync(path, 'utf8')
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw e
      }
    },
    home: process.env.HOME || homedir(),
    cwd: process.cwd(),
  }
}
