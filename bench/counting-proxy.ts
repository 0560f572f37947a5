/**
 * A loopback HTTP proxy in front of Cinder or Manila that logs every request the daemon (or the
 * bench's by-hand client) makes: method, path, whether a status wait made it (a poll), and which
 * functions made it, as bench/call-tag.mjs tagged them. Bodies are forwarded untouched.
 */
import type { IncomingMessage } from 'node:http'
import { faultProxy, type ProxyEntry } from '../test/support/fault-proxy.ts'

export type Call = ProxyEntry & {
  /** Made by a status wait (repeated GETs until a status): not counted as an API call. */
  poll: boolean
  /** The functions that made it, innermost first ('' when the caller was not tagged). */
  via: string
  /** What a JSON body holds: its top-level key, and the keys under `metadata` or an action. */
  body: string
}

export const BENCH_TAGGER = new URL('./call-tag.mjs', import.meta.url).pathname

/** NODE_OPTIONS that load the tagger into a daemon (keeping any the caller has). */
export const taggedNodeOptions = () =>
  `${process.env.NODE_OPTIONS ?? ''} --import ${BENCH_TAGGER}`.trim()

/** The fault proxy, forwarding everything, with each request's bench tags in its log. */
export function countingProxy(target: string) {
  const header = (req: IncomingMessage, k: string) => String(req.headers[k] ?? '')
  return faultProxy(undefined, target, undefined, (req, body) => ({
    poll: header(req, 'x-fuxi-bench-poll') === '1',
    via: header(req, 'x-fuxi-bench-via'),
    body: bodyKeys(body),
  }))
}

const ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g

function bodyKeys(b: Buffer): string {
  if (!b.length) return ''
  try {
    const j = JSON.parse(b.toString()) as Record<string, unknown>
    return Object.entries(j)
      .map(([k, v]) => {
        const inner = v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined
        const md = inner && 'metadata' in inner ? inner.metadata : k === 'metadata' ? v : undefined
        const keys = md && typeof md === 'object' ? Object.keys(md).join(',') : ''
        return `${k}${keys ? `{${keys}}` : ''}`.replace(ID, '{id}')
      })
      .join(' ')
  } catch {
    return `${b.length} bytes`
  }
}

/** A request line with project and resource ids replaced: `GET /v3/{project}/volumes/{id}`. */
export function describeCall(c: Call): string {
  const [path = '', query] = c.url.split('?')
  const p = path.replace(/\/v[0-9.]+\/[0-9a-f]{32}/, '').replace(ID, '{id}')
  const q = [...new URLSearchParams(query ?? '')]
    .filter(([k]) => k !== 'limit' && k !== 'offset')
    .map(([k, v]) => {
      if (k === 'metadata') {
        try {
          return `metadata={${Object.keys(JSON.parse(v) as object).join(',')}}`
        } catch {
          return k
        }
      }
      return new RegExp(ID.source).test(v) ? `${k}={id}` : k
    })
  return `${c.method} ${p}${q.length ? `?${q.join('&')}` : ''}${c.body ? ` ${c.body}` : ''}`
}
