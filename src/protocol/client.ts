import { request } from 'node:http'
import { TimeoutError } from '../errors.ts'

/** One HTTP request over a unix socket. */
export interface UnixRequest {
  method: 'GET' | 'POST'
  path: string
  headers?: Record<string, string | number>
  body?: string
  /** Give up when the socket is idle this long (default: wait as long as it takes). */
  timeoutMs?: number
}

/**
 * fuxi's one HTTP client over a unix socket: the CLI calling the plugin (as dockerd does) and the
 * reconciler asking the Docker Engine API. Answers the status and body whatever the status;
 * rejects when the socket cannot be reached (ENOENT, ECONNREFUSED) or stays silent too long.
 */
export function unixRequest(
  socketPath: string,
  r: UnixRequest,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path: r.path,
        method: r.method,
        headers: r.headers,
        ...(r.timeoutMs === undefined ? {} : { timeout: r.timeoutMs }),
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => {
          text += c
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      },
    )
    // Only with a timeout of our own: Node's global agent idles sockets out after 5 s, and a
    // plugin call (a whole reconcile) may take longer.
    if (r.timeoutMs !== undefined)
      req.on('timeout', () =>
        req.destroy(new TimeoutError(`no answer on ${socketPath} within ${r.timeoutMs} ms`)),
      )
    req.on('error', reject)
    req.end(r.body)
  })
}

/**
 * POSTs to the plugin socket the way dockerd does (no Content-Type, JSON body plus newline; an
 * empty body when `body` is undefined) and returns the parsed JSON reply, `Err` included.
 */
export async function callPlugin(
  socketPath: string,
  method: string,
  body?: object,
): Promise<Record<string, unknown>> {
  const payload = body === undefined ? '' : `${JSON.stringify(body)}\n`
  const res = await unixRequest(socketPath, {
    method: 'POST',
    path: `/${method}`,
    headers: {
      Accept: 'application/vnd.docker.plugins.v1.2+json',
      'Content-Length': Buffer.byteLength(payload),
    },
    body: payload,
  })
  return JSON.parse(res.text) as Record<string, unknown>
}
