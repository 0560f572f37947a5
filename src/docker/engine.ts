import { unixRequest } from '../protocol/client.ts'

/**
 * States in which a container has released its volume mounts. Anything else (running, paused,
 * restarting, and `created`, which a container is in while dockerd mounts its volumes at start)
 * counts as holding them: dropping a live reference would unmount under a container.
 */
const RELEASED_STATES = new Set(['exited', 'dead'])
const ENGINE_TIMEOUT_MS = 3_000

/** The slice of the Docker Engine API the reconciler uses. */
export interface DockerEngine {
  /** Names of volumes that containers may hold mounted now; undefined if the API is unreachable. */
  volumesInUse(): Promise<Set<string> | undefined>
}

interface ContainerSummary {
  State?: string
  Mounts?: { Type?: string; Name?: string; Driver?: string }[]
}

export function createDockerEngine(socketPath: string): DockerEngine {
  return {
    async volumesInUse() {
      const res = await unixRequest(socketPath, {
        method: 'GET',
        path: '/containers/json?all=1',
        timeoutMs: ENGINE_TIMEOUT_MS,
      }).catch(() => undefined)
      if (res?.status !== 200) return undefined
      const list = JSON.parse(res.text) as ContainerSummary[]
      const names = new Set<string>()
      for (const c of list) {
        if (RELEASED_STATES.has(c.State ?? '')) continue
        for (const m of c.Mounts ?? [])
          if (m.Type === 'volume' && m.Name && m.Driver !== 'local') names.add(m.Name)
      }
      return names
    },
  }
}
