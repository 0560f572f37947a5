import { request } from 'node:http'

/**
 * POSTs to the plugin socket the way dockerd does (no Content-Type, JSON body plus newline; an
 * empty body when `body` is undefined) and returns the parsed JSON reply, `Err` included.
 */
export function callPlugin(
  socketPath: string,
  method: string,
  body?: object,
): Promise<Record<string, unknown>> {
  const payload = body === undefined ? '' : `${JSON.stringify(body)}\n`
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path: `/${method}`,
        method: 'POST',
        headers: {
          Accept: 'application/vnd.docker.plugins.v1.2+json',
          'Content-Length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        let data = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => {
          data += c
        })
        res.on('end', () => {
          try {
            resolve(JSON.parse(data) as Record<string, unknown>)
          } catch (e) {
            reject(e)
          }
        })
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}
