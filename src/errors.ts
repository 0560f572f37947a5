/**
 * fuxi's errors: a few classes, each with a stable `code`, a message that says what failed and
 * what to do, and an optional `cause`. Only `protocol/` turns them into Docker's `{"Err": ...}`.
 */
export const ERROR_CODES = [
  'INVALID_REQUEST',
  'INVALID_NAME',
  'INVALID_OPTION',
  'VOLUME_NOT_FOUND',
  'VOLUME_EXISTS',
  'VOLUME_IN_USE',
  'VOLUME_STATE',
  'COMMAND_FAILED',
  'TIMEOUT',
  'CONFIG',
  'OPENSTACK',
  'DAEMON_UNREACHABLE',
  'DAEMON_REFUSED',
  'INTERNAL',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

export class FuxiError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'FuxiError'
  }
}

/** A request or option the caller must fix; nothing was changed. */
export class InvalidRequestError extends FuxiError {
  constructor(
    message: string,
    code: 'INVALID_REQUEST' | 'INVALID_NAME' | 'INVALID_OPTION' = 'INVALID_REQUEST',
  ) {
    super(code, message)
  }
}

export class VolumeNotFoundError extends FuxiError {
  constructor(name: string) {
    super('VOLUME_NOT_FOUND', `volume "${name}" not found`)
  }
}

export class VolumeExistsError extends FuxiError {
  constructor(message: string) {
    super('VOLUME_EXISTS', message)
  }
}

export class VolumeInUseError extends FuxiError {
  constructor(message: string) {
    super('VOLUME_IN_USE', message)
  }
}

/** The volume or the host is not in a state that allows the operation. */
export class VolumeStateError extends FuxiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VOLUME_STATE', message, options)
  }
}

/** A host command exited non-zero or could not be started. */
export class CommandFailedError extends FuxiError {
  readonly command: readonly string[]
  readonly exitCode: number | undefined
  readonly stderr: string
  /** The command is not installed (not found on PATH). */
  readonly notFound: boolean
  constructor(
    command: readonly string[],
    exitCode: number | undefined,
    stderr: string,
    o: { cause?: unknown; notFound?: boolean } = {},
  ) {
    const tail = stderr.trim().split('\n').slice(-3).join(' | ')
    super(
      'COMMAND_FAILED',
      `${command.join(' ')} failed${exitCode === undefined ? '' : ` (exit ${exitCode})`}${tail ? `: ${tail}` : ''}`,
      { cause: o.cause },
    )
    this.command = command
    this.exitCode = exitCode
    this.stderr = stderr
    this.notFound = o.notFound === true
  }
}

/** An OpenStack API answered with an error status or with something unusable, or could not be reached. */
export class OpenStackHttpError extends FuxiError {
  readonly service: string
  readonly status: number | undefined
  /** The error's name in the body (itemNotFound, badRequest, forbidden, ...), when there is one. */
  readonly kind: string | undefined
  /** The service's own message (or what went wrong on the way). */
  readonly detail: string
  readonly requestId: string | undefined
  constructor(
    fields: {
      service: string
      method: string
      url: string
      status?: number
      kind?: string
      requestId?: string
      detail: string
    },
    cause?: unknown,
  ) {
    const where = `${fields.service} ${fields.method} ${fields.url}`
    const status = fields.status === undefined ? '' : ` (HTTP ${fields.status})`
    const rid = fields.requestId ? ` [request ${fields.requestId}]` : ''
    super('OPENSTACK', `${where} failed${status}: ${fields.detail}${rid}`, { cause })
    this.service = fields.service
    this.status = fields.status
    this.kind = fields.kind
    this.detail = fields.detail
    this.requestId = fields.requestId
  }
}

/** The cloud cannot do what fuxi needs (API too old, feature missing); names the version needed. */
export class OpenStackVersionError extends FuxiError {
  constructor(message: string) {
    super('OPENSTACK', message)
  }
}

/** Something fuxi waited on (a socket, a device) did not answer in time. */
export class TimeoutError extends FuxiError {
  constructor(message: string) {
    super('TIMEOUT', message)
  }
}

/** A resource ended in an error state, or did not reach the wanted state before the deadline. */
export class OpenStackWaitError extends FuxiError {
  readonly lastStatus: string | undefined
  constructor(code: 'OPENSTACK' | 'TIMEOUT', message: string, lastStatus: string | undefined) {
    super(code, message)
    this.lastStatus = lastStatus
  }
}

/** The `fuxi` command line's view of the daemon: not running on its socket, or it answered `Err`. */
export class DaemonError extends FuxiError {
  constructor(
    code: 'DAEMON_UNREACHABLE' | 'DAEMON_REFUSED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options)
  }
}

/**
 * A bug in fuxi: something its own code guarantees did not hold. protocol/ answers it as HTTP 500
 * "internal error: ..." rather than as a refusal.
 */
export class InternalError extends FuxiError {
  constructor(message: string) {
    super('INTERNAL', message)
  }
}

/** The command line itself is wrong (unknown command or flag, missing argument). */
export class UsageError extends FuxiError {
  constructor(message: string) {
    super('INVALID_REQUEST', message)
  }
}

export class ConfigError extends FuxiError {
  readonly problems: readonly string[]
  constructor(file: string, problems: readonly string[]) {
    super('CONFIG', `invalid configuration in ${file}:\n  - ${problems.join('\n  - ')}`)
    this.problems = problems
  }
}

export function isFuxiError(e: unknown): e is FuxiError {
  return e instanceof FuxiError
}

/** The message of any thrown value, for logs and `{Err}` replies. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/**
 * Exit statuses of `fuxi` and `fuxi-server` (README "Exit status"): 0 done; 1 failed (an
 * operation, the daemon's answer, a doctor check); 2 the command line is wrong; 3 the
 * configuration is invalid (fuxi.conf, clouds.yaml, OS_* variables); 4 no daemon answers.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, config: 3, unreachable: 4 } as const

/** The exit status for an error that ends a command. */
export function exitStatusOf(e: unknown): number {
  if (!isFuxiError(e)) return EXIT.failed
  if (e instanceof UsageError) return EXIT.usage
  if (e.code === 'CONFIG') return EXIT.config
  if (e.code === 'DAEMON_UNREACHABLE') return EXIT.unreachable
  return EXIT.failed
}
