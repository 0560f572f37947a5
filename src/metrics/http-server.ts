import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { formatListenAddress, type ListenAddress } from '../config/listen-address.ts'
import { messageOf, VolumeStateError } from '../errors.ts'
import type { Logger } from '../log.ts'

export interface MetricsServer {
  /** Where it listens (the port the kernel gave when 0 was asked for). */
  readonly address: ListenAddress
  close(): Promise<void>
}

type Scrape = () => Promise<{ contentType: string; body: string }>

/** A scraper that sends its request head slowly, or never reads, is cut off. */
const TIMEOUTS_MS = { headers: 5_000, request: 10_000, keepAlive: 5_000 } as const

/**
 * Serves `GET /metrics` (Prometheus text format) on `at`, and nothing else: read-only, no
 * request body is read. A port already taken fails the start, naming the key.
 */
export async function serveMetrics(
  at: ListenAddress,
  scrape: Scrape,
  log: Logger,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try GET /metrics\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end()
      return
    }
    scrape().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'Content-Type': contentType })
        res.end(req.method === 'HEAD' ? undefined : body)
      },
      (err: unknown) => {
        log.error({ err }, 'metrics scrape failed')
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('scrape failed\n')
      },
    )
  })
  server.headersTimeout = TIMEOUTS_MS.headers
  server.requestTimeout = TIMEOUTS_MS.request
  server.keepAliveTimeout = TIMEOUTS_MS.keepAlive
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new VolumeStateError(
          `cannot serve metrics on ${formatListenAddress(at)} ([DEFAULT] metrics_listen): ${messageOf(e)}; pick a free port, or leave metrics_listen empty`,
        ),
      ),
    )
    server.listen(at.port, at.host.replace(/^\[|\]$/g, ''), () => resolve())
  })
  const bound = server.address() as AddressInfo
  return {
    address: { host: at.host, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
