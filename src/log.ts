import pino, { type Logger } from 'pino'
import { currentRequestId } from './request-id.ts'

export type { Logger }

/** Keys whose values never reach a log line. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'admin_password',
  '*.admin_password',
  'token',
  '*.token',
  'admin_token',
  '*.admin_token',
  'application_credential_secret',
  '*.application_credential_secret',
  'auth_password',
  '*.auth_password',
  'access_key',
  '*.access_key',
  'connection_info',
  '*.connection_info',
  'connectionInfo',
  '*.connectionInfo',
  'key',
  '*.key',
  // Keystone auth options and resolved credentials (config.credentials), whole.
  'auth',
  '*.auth',
  'credentials',
  '*.credentials',
  'headers["x-auth-token"]',
  '*.headers["x-auth-token"]',
  'headers["X-Auth-Token"]',
  '*.headers["X-Auth-Token"]',
]

export interface LogOptions {
  level: string
  /** Append to this file instead of stdout. */
  file?: string | undefined
}

/** The root logger: JSON lines, secrets redacted, no worker-thread transports (bundle-safe). */
export function createLogger(opts: LogOptions, stream?: pino.DestinationStream): Logger {
  const destination =
    stream ??
    (opts.file
      ? pino.destination({ dest: opts.file, mkdir: true, sync: false })
      : pino.destination(1))
  return pino(
    {
      level: opts.level,
      base: { name: 'fuxi' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // The id of the plugin request (or fuxi's own operation) the line belongs to.
      mixin: () => {
        const reqId = currentRequestId()
        return reqId === undefined ? {} : { reqId }
      },
    },
    destination,
  )
}
