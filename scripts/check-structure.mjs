// Structure rules for src/ (run by `npm run lint`): no import cycle (type imports included), and
// no file over MAX_LINES lines. Prints every violation; exits 1 if there is any.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const MAX_LINES = 300
const root = resolve(dirname(new URL(import.meta.url).pathname), '..')
const src = join(root, 'src')
const files = readdirSync(src, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(src, f))

const problems = []
const graph = new Map()
for (const f of files) {
  const text = readFileSync(f, 'utf8')
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
  if (lines > MAX_LINES)
    problems.push(`${relative(root, f)}: ${lines} lines (at most ${MAX_LINES}): split it`)
  const deps = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)].map(
    (m) => resolve(dirname(f), m[1]),
  )
  graph.set(f, deps)
}

// Depth-first search; a back edge is a cycle.
const state = new Map() // 1 = on the stack, 2 = done
const stack = []
const cycles = new Set()
const visit = (f) => {
  state.set(f, 1)
  stack.push(f)
  for (const d of graph.get(f) ?? []) {
    if (state.get(d) === 1) {
      const cycle = stack.slice(stack.indexOf(d)).concat(d)
      cycles.add(cycle.map((x) => relative(src, x)).join(' -> '))
    } else if (!state.has(d)) visit(d)
  }
  stack.pop()
  state.set(f, 2)
}
for (const f of files) if (!state.has(f)) visit(f)
for (const c of cycles) problems.push(`import cycle: ${c}`)

for (const p of problems) console.error(p)
if (problems.length) process.exit(1)
console.log(
  `structure: ${files.length} files in src/, none over ${MAX_LINES} lines, no import cycle`,
)
