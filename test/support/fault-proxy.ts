import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer, type ServerOptions } from 'node:https'
import type { Socket } from 'node:net'
import type { TestContext } from 'node:test'

/** What the proxy does to one request instead of (or before) forwarding it. */
export type Fault =
  | { kind: 'status'; status: number } // answer this status without forwarding
  | { kind: 'reset' } // drop the connection without an answer
  | { kind: 'delay'; ms: number } // forward, but hold the answer this long

export interface ProxyEntry {
  method: string
  url: string
  fault: Fault['kind'] | 'none'
  /** The upstream status, when the request reached the service. */
  upstream?: number
  /** Time the service took (forwarded requests), ms. */
  ms?: number
}

/**
 * A loopback HTTP(S) proxy in front of a real service. Faults are queued per request matching a
 * method (and path regex); everything else is forwarded untouched. `log` records every request,
 * with what `note` makes of it (the benches: which function made it).
 */
export async function faultProxy<X extends object = object>(
  t: TestContext | undefined,
  target: string,
  tls?: ServerOptions,
  note?: (req: IncomingMessage, body: Buffer) => X,
) {
  const upstream = new URL(target)
  const faults: { method: string; path: RegExp; fault: Fault }[] = []
  const log: (ProxyEntry & X)[] = []
  const sockets = new Set<Socket>()

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    entry: ProxyEntry,
    delayMs = 0,
  ) => {
    const t0 = performance.now()
    const up = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (ur) => {
        entry.upstream = ur.statusCode
        const chunks: Buffer[] = []
        ur.on('data', (c: Buffer) => chunks.push(c))
        ur.on('end', () => {
          entry.ms = performance.now() - t0
          setTimeout(() => {
            if (res.destroyed) return
            res.writeHead(ur.statusCode ?? 502, ur.headers)
            res.end(Buffer.concat(chunks))
          }, delayMs)
        })
      },
    )
    up.on('error', () => res.destroy())
    up.end(body)
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const i = faults.findIndex((f) => f.method === req.method && f.path.test(req.url ?? ''))
      const fault = i >= 0 ? faults.splice(i, 1)[0]?.fault : undefined
      const entry = {
        method: req.method ?? '',
        url: req.url ?? '',
        fault: fault?.kind ?? 'none',
        ...note?.(req, body),
      } as ProxyEntry & X
      log.push(entry)
      if (!fault) return forward(req, res, body, entry)
      switch (fault.kind) {
        case 'status':
          res.writeHead(fault.status, { 'Content-Type': 'application/json' })
          res.end(
            JSON.stringify({
              proxyFault: { code: fault.status, message: `injected ${fault.status}` },
            }),
          )
          return
        case 'reset':
          req.socket.destroy()
          return
        case 'delay':
          return forward(req, res, body, entry, fault.ms)
      }
    })
  }

  const server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler)
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy()
      server.close(() => r())
    })
  t?.after(close)
  const port = (server.address() as { port: number }).port
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    /** Closed after the test when one was given; otherwise call this. */
    close,
    log,
    /** The next `times` requests with this method (and path) get `fault`. */
    inject(method: string, fault: Fault, o: { path?: RegExp; times?: number } = {}) {
      for (let i = 0; i < (o.times ?? 1); i++) faults.push({ method, path: o.path ?? /./, fault })
    },
  }
}
