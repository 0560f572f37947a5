import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { TestContext } from 'node:test'

/** A recorded real request/response pair from shared/reference/openstack-samples. */
export interface Sample {
  request: { method: string; url: string; headers: Record<string, string>; json: unknown }
  response: { status: number; headers: Record<string, string>; json: unknown }
}

const SAMPLES = new URL('../fixtures/openstack-samples/', import.meta.url)

/**
 * A sample as if it had been recorded just now by the test's own clock: every moment in it
 * (`issued_at`, `expires_at`, `created_at`, …) moves by the same amount, so a token keeps its
 * lifetime and a volume its age, and no test passes or fails by today's date.
 */
export function loadSample(name: string, now = Date.now()): Sample {
  const sample = JSON.parse(readFileSync(new URL(`${name}.json`, SAMPLES), 'utf8')) as Sample
  return shiftToNow(sample, now)
}

/** Keys whose values are moments of the recording (the version documents' `updated` is not). */
const MOMENT_KEYS = new Set([
  'issued_at',
  'expires_at',
  'created_at',
  'updated_at',
  'attached_at',
  'detached_at',
  'timestamp',
])
const MOMENT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z?)$/

function visitMoments(
  value: unknown,
  visit: (holder: Record<string, unknown>, key: string) => void,
) {
  if (Array.isArray(value)) for (const v of value) visitMoments(v, visit)
  else if (value && typeof value === 'object') {
    const holder = value as Record<string, unknown>
    for (const [k, v] of Object.entries(holder)) {
      if (MOMENT_KEYS.has(k) && typeof v === 'string' && MOMENT.test(v)) visit(holder, k)
      else visitMoments(v, visit)
    }
  }
}

const parseMoment = (text: string) => Date.parse(text.endsWith('Z') ? text : `${text}Z`)

/** Moves every moment so that the latest one that is not an expiry is `now`; keeps each format. */
export function shiftToNow(sample: Sample, now: number): Sample {
  let recordedAt = Number.NEGATIVE_INFINITY
  const parts = [sample.request.json, sample.response.json]
  for (const part of parts)
    visitMoments(part, (holder, key) => {
      if (key !== 'expires_at')
        recordedAt = Math.max(recordedAt, parseMoment(holder[key] as string))
    })
  if (!Number.isFinite(recordedAt)) return sample
  const delta = now - recordedAt
  for (const part of parts)
    visitMoments(part, (holder, key) => {
      const text = holder[key] as string
      const [, , fraction = '', zone = ''] = MOMENT.exec(text) ?? []
      const moved = new Date(parseMoment(text) + delta).toISOString() // …T12:34:56.789Z
      const digits = fraction
        ? `.${moved
            .slice(20, 23)
            .padEnd(fraction.length - 1, '0')
            .slice(0, fraction.length - 1)}`
        : ''
      holder[key] = `${moved.slice(0, 19)}${digits}${zone}`
    })
  return sample
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
