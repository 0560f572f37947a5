import type { Logger } from '../log.ts'
import { inOperation, newRequestId, withRequestId } from '../request-id.ts'
import { totalRefs } from './mount-refs.ts'
import type { PhysicalState } from './provider.ts'
import type { VolumeRecord } from './record.ts'
import { adoptedRecord, mountpointOf, opContext, type VolumeDeps } from './volume-deps.ts'

/** One thing the reconciler did, for logs and the admin endpoint. */
export interface ReconcileAction {
  readonly volume: string
  readonly action: string
}

export interface ReconcileInput {
  /** Names of volumes that running containers use, from the Docker Engine API; undefined = unknown. */
  readonly inUse?: ReadonlySet<string> | undefined
  /** Also adopt provider volumes the journal lacks (lists every cloud volume; default true). */
  readonly adopt?: boolean
}

/**
 * Makes this host agree with the journal after a crash, a restart or a reboot:
 * - adopts provider volumes the journal does not know;
 * - finishes or rolls back an operation a crash interrupted (phase left behind);
 * - voids references from an earlier boot, and of containers the Docker API says are gone;
 * - re-mounts what has references but is not mounted; unmounts/detaches what has none.
 * Every action is logged. Per-volume failures are logged and do not stop the rest. A pass runs
 * under one request id (the caller's, else its own) and is counted by outcome.
 */
export function reconcile(
  d: VolumeDeps,
  log: Logger,
  input: ReconcileInput = {},
): Promise<ReconcileAction[]> {
  return inOperation(async () => {
    const actions: ReconcileAction[] = []
    const failures = { count: 0 }
    try {
      await reconcilePass(d, log, input, actions, failures)
    } catch (err) {
      d.metrics.reconciled('err', actions.length)
      throw err
    }
    d.metrics.reconciled(failures.count ? 'partial' : 'ok', actions.length)
    return actions
  })
}

async function reconcilePass(
  d: VolumeDeps,
  log: Logger,
  input: ReconcileInput,
  actions: ReconcileAction[],
  failures: { count: number },
): Promise<void> {
  const note = (volume: string, action: string, extra: Record<string, unknown> = {}) => {
    actions.push({ volume, action })
    log.info({ op: 'reconcile', volume, ...extra }, action)
  }
  const { store } = d
  for (const p of input.adopt === false ? [] : d.providers.all) {
    for (const b of await p.list().catch((err: unknown) => {
      failures.count++
      log.error({ err, provider: p.name }, 'listing provider volumes failed')
      return []
    })) {
      if (store.get(b.name)) continue
      await store.withLock(b.name, async () => {
        if (store.get(b.name)) return
        await store.save(adoptedRecord(d, p.name, b))
        note(b.name, 'adopted volume found in provider', { provider: p.name })
      })
    }
  }
  // One look at the host for every volume; only volumes that need work take their lock (the
  // check is repeated under the lock, so a concurrent operation cannot be undone by a stale view).
  const records = store.all()
  for (const p of d.providers.all) {
    const mine = records.filter((r) => r.provider === p.name)
    const states = await p
      .inspect(mine.map((r) => ({ name: r.name, mountpoint: mountpointOf(d, r) })))
      .catch((err: unknown) => {
        failures.count++
        // e.g. the cloud is unreachable: leave these volumes as they are until the next reconcile
        log.error(
          { err, provider: p.name },
          'cannot inspect provider volumes; not reconciling them now',
        )
        return undefined
      })
    if (!states) continue
    for (const rec of mine) {
      const phys = states.get(rec.name)
      if (phys && !needsWork(rec, phys, d.bootId, input)) continue
      await store
        .withLock(rec.name, () => reconcileOne(d, log, rec.name, input, note))
        .catch((err: unknown) => {
          failures.count++
          log.error({ op: 'reconcile', volume: rec.name, err }, 'reconcile failed for volume')
        })
    }
  }
}

/**
 * Reconciles every `intervalMs` while fuxi serves: references of containers Docker no longer has
 * (dockerd crashed and sent no Unmount) are dropped and their volumes released. No cloud listing,
 * quiet unless there is work, and a volume is released only after two looks in a row found no
 * container using it (a `docker cp` into a stopped container mounts it for a moment). Nothing
 * happens while the Docker API is unreachable. Returns the function that stops it.
 */
export function startPeriodicReconcile(
  d: VolumeDeps,
  log: Logger,
  o: { intervalMs: number; volumesInUse: () => Promise<ReadonlySet<string> | undefined> },
): () => void {
  let running = false
  const unusedLooks = new Map<string, number>()
  // Each tick is an operation of its own: one request id for the Docker query and the pass.
  const timer = setInterval(() => withRequestId(newRequestId(), tick), o.intervalMs).unref()
  const tick = async () => {
    if (running) return
    running = true
    try {
      const inUse = await o.volumesInUse()
      if (!inUse) return
      const held = new Set(
        d.store
          .all()
          .filter((r) => totalRefs(r.refs) > 0)
          .map((r) => r.name),
      )
      const protect = new Set(inUse)
      for (const name of held) {
        const looks = inUse.has(name) ? 0 : (unusedLooks.get(name) ?? 0) + 1
        unusedLooks.set(name, looks)
        if (looks < 2) protect.add(name)
      }
      for (const name of unusedLooks.keys()) if (!held.has(name)) unusedLooks.delete(name)
      await reconcile(d, log, { inUse: protect, adopt: false })
    } catch (err) {
      log.warn({ err, op: 'reconcile' }, 'periodic reconcile failed; the next one tries again')
    } finally {
      running = false
    }
  }
  return () => clearInterval(timer)
}

/** True when the record and the host disagree, or an operation was left half-done. */
function needsWork(
  rec: VolumeRecord,
  phys: PhysicalState,
  bootId: string,
  input: ReconcileInput,
): boolean {
  if (rec.phase.kind !== 'idle') return true
  const held = totalRefs(rec.refs) > 0
  if (held && (rec.bootId !== bootId || (input.inUse && !input.inUse.has(rec.name)))) return true
  return held ? !phys.mounted : phys.mounted || phys.held.length > 0 || rec.device !== null
}

async function reconcileOne(
  d: VolumeDeps,
  log: Logger,
  name: string,
  input: ReconcileInput,
  note: (volume: string, action: string, extra?: Record<string, unknown>) => void,
): Promise<void> {
  const { store } = d
  const rec = store.get(name)
  if (!rec) return
  const provider = d.providers.of(rec)
  const mp = mountpointOf(d, rec)
  const vlog = log.child({ op: 'reconcile', volume: name, provider: rec.provider })
  let refs = rec.refs
  if (totalRefs(refs) > 0 && rec.bootId !== d.bootId) {
    refs = {}
    note(name, 'dropped mount references from before a host reboot', { refs: rec.refs })
  } else if (totalRefs(refs) > 0 && input.inUse && !input.inUse.has(name)) {
    refs = {}
    note(name, 'dropped mount references: no running container uses the volume', { refs: rec.refs })
  }
  let phase = rec.phase
  switch (phase.kind) {
    case 'creating': {
      // dockerd got no answer for this create. Only what it made (its id, with its marker) may go.
      const made = phase.made
      if (!made) {
        await store.forget(name)
        note(name, 'dropped an interrupted create that had made nothing; nothing deleted')
        return
      }
      const outcome = await provider.discard(made, vlog)
      if (outcome.kind !== 'kept') {
        await store.forget(name)
        note(name, 'rolled back an interrupted create', { id: made.id, outcome: outcome.kind })
        return
      }
      note(name, 'kept what an interrupted create made: it is in use', {
        id: made.id,
        why: outcome.why,
      })
      phase = { kind: 'idle' }
      break
    }
    case 'removing':
      // Written right before the delete: gone means it was deleted; otherwise it stays, as dockerd
      // (which got no answer) still believes.
      if (phase.id !== undefined && !(await provider.exists(phase.id))) {
        await store.forget(name)
        note(name, 'finished an interrupted remove: the volume is gone', { id: phase.id })
        return
      }
      note(name, 'an interrupted remove left the volume in place; remove it again if unwanted')
      phase = { kind: 'idle' }
      break
    case 'mounting':
      if (phase.step === 'formatting') {
        // Finish a format fuxi started (nothing else can be on that device), then apply refs below.
        await provider.mount(name, mp, opContext(d, rec, vlog, 'formatting'))
        note(name, 'finished an interrupted format')
      }
      break
    case 'unmounting':
    case 'idle':
      break
  }
  const phys = (await provider.inspect([{ name, mountpoint: mp }])).get(name) ?? {
    mounted: false,
    held: [],
  }
  let device = rec.device
  if (totalRefs(refs) > 0) {
    if (!phys.mounted || phase.kind === 'mounting') {
      device = await provider.mount(name, mp, opContext(d, rec, vlog))
      note(name, 're-mounted a volume that containers still reference', { device })
    }
  } else if (
    phys.mounted ||
    phys.held.length > 0 ||
    rec.device !== null ||
    // a mount that died before it recorded anything may have left something only the
    // provider can find (a Cinder attachment whose answer was lost)
    phase.kind === 'mounting'
  ) {
    await provider.unmount(name, mp, opContext(d, rec, vlog))
    device = null
    note(name, 'unmounted and detached a volume no container references')
  }
  const next: VolumeRecord = { ...rec, refs, device, bootId: d.bootId, phase: { kind: 'idle' } }
  if (JSON.stringify(next) !== JSON.stringify(rec)) await store.save(next)
}
