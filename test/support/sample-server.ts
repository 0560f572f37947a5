import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { TestContext } from 'node:test'

/** A recorded real request/response pair from shared/reference/openstack-samples. */
export interface Sample {
  request: { method: string; url: string; headers: Record<string, string>; json: unknown }
  response: { status: number; headers: Record<string, string>; json: unknown }
}

const SAMPLES = new URL('../fixtures/openstack-samples/', import.meta.url)

export function loadSample(name: string): Sample {
  return JSON.parse(readFileSync(new URL(`${name}.json`, SAMPLES), 'utf8')) as Sample
}

export interface SeenRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  json: unknown
}

type Handler = (req: SeenRequest, res: ServerResponse) => void

/** An in-process HTTP server on 127.0.0.1:0; handlers answer with recorded samples. */
export async function sampleServer(t: TestContext, handler: Handler) {
  const seen: SeenRequest[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => {
      body += String(c)
    })
    req.on('end', () => {
      const r = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        json: body ? JSON.parse(body) : undefined,
      }
      seen.push(r)
      handler(r, res)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.after(() => new Promise((r) => server.close(r)))
  const port = (server.address() as { port: number }).port
  return { base: `http://127.0.0.1:${port}`, seen, port }
}

/** Reply with a sample's response; `rewrite` maps the recorded hosts to this server. */
export function replay(res: ServerResponse, s: Sample, rewrite?: (text: string) => string): void {
  const text = JSON.stringify(s.response.json)
  const headers = { ...s.response.headers }
  delete headers['Content-Length']
  res.writeHead(s.response.status, headers)
  res.end(rewrite ? rewrite(text) : text)
}
