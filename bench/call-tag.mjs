// Loaded into the daemon (NODE_OPTIONS=--import …/bench/call-tag.mjs) and into the bench process:
// tags every outgoing HTTP request (not the plugin socket) with who made it, read from its async
// stack, for the counting proxy (bench/counting-proxy.ts):
//   x-fuxi-bench-poll: 1 when a status wait (src/openstack/wait.ts, waitForStatus) made it;
//   x-fuxi-bench-via:  the functions that made it, innermost first (getVolume<waitForStatus<…).
// Plain JavaScript: the daemon runs the production bundle with plain node. Costs a stack capture
// (a few µs) per OpenStack request; changes nothing else.
import http from 'node:http'

const request = http.request
/** Frames of the HTTP plumbing (axios, the session, the client's call), dropped from `via`. */
const PLUMBING = new Set(['request', 'send', 'call', 'Promise', 'processTicksAndRejections'])

function callers() {
  const prepare = Error.prepareStackTrace
  const limit = Error.stackTraceLimit
  Error.prepareStackTrace = (_e, sites) => sites
  Error.stackTraceLimit = 60
  const holder = {}
  Error.captureStackTrace(holder)
  const sites = holder.stack
  Error.prepareStackTrace = prepare
  Error.stackTraceLimit = limit
  const names = sites.map((s) => s.getFunctionName() ?? '')
  // The innermost frame of the session's request: what follows it is the client and its callers.
  let from = 0
  for (let i = 0; i < names.length; i++) if (names[i] === 'request' || names[i] === 'send') from = i
  const via = names.slice(from + 1).filter((n) => n && !PLUMBING.has(n))
  return { poll: names.some((n) => /^waitFor/.test(n)), via: via.slice(0, 6).join('<') }
}

http.request = function tagged(...args) {
  const opts = typeof args[0] === 'object' && !(args[0] instanceof URL) ? args[0] : args[1]
  if (opts && typeof opts === 'object' && !opts.socketPath) {
    opts.headers ??= {}
    if (opts.headers['x-fuxi-bench-poll'] === undefined) {
      const c = callers()
      opts.headers['x-fuxi-bench-poll'] = c.poll ? '1' : '0'
      opts.headers['x-fuxi-bench-via'] = c.via
    }
  }
  return request.apply(this, args)
}
