import { VolumeNotFoundError } from '../errors.ts'
import type { Locks } from '../host/locks.ts'
import type { Logger } from '../log.ts'
import { type Metrics, NO_METRICS } from '../metrics/metrics.ts'
import type { Journal } from './journal.ts'
import type { VolumeRecord } from './record.ts'

/**
 * What fuxi remembers about its volumes: one record per volume, in memory and in the journal
 * (journal first, so memory never runs ahead of disk), and one lock per volume name that every
 * change is made under.
 */
export class VolumeStore {
  readonly #records = new Map<string, VolumeRecord>()
  readonly #forgotten: ((name: string) => void)[] = []

  readonly #journal: Journal
  readonly #locks: Locks
  readonly #metrics: Pick<Metrics, 'lockWaited'>

  constructor(journal: Journal, locks: Locks, metrics: Pick<Metrics, 'lockWaited'> = NO_METRICS) {
    this.#journal = journal
    this.#locks = locks
    this.#metrics = metrics
  }

  /** Load the journal into memory. Call once before serving. */
  async load(): Promise<void> {
    for (const r of await this.#journal.readAll()) this.#records.set(r.name, r)
  }

  get(name: string): VolumeRecord | undefined {
    return this.#records.get(name)
  }

  /** The record of `name`; VolumeNotFoundError when there is none. */
  require(name: string): VolumeRecord {
    const rec = this.#records.get(name)
    if (!rec) throw new VolumeNotFoundError(name)
    return rec
  }

  all(): VolumeRecord[] {
    return [...this.#records.values()]
  }

  get size(): number {
    return this.#records.size
  }

  /** Runs `fn` holding the lock of volume `name` (in this process and against other processes). */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now()
    return this.#locks.withLock(name, () => {
      this.#metrics.lockWaited((performance.now() - t0) / 1000)
      return fn()
    })
  }

  /** Persist then publish a record. */
  async save(rec: VolumeRecord): Promise<VolumeRecord> {
    await this.#journal.write(rec)
    this.#records.set(rec.name, rec)
    return rec
  }

  /**
   * The journal write after a failed operation: its own failure (a full disk) is logged and the
   * operation's error is what the caller gets; the journal keeps the phase, which the next call
   * or the reconciler finishes.
   */
  async saveAfterError(rec: VolumeRecord, log: Logger): Promise<void> {
    await this.save(rec).catch((e: unknown) =>
      log.error({ err: e }, 'could not record the failed operation in the journal'),
    )
  }

  async forget(name: string): Promise<void> {
    await this.#journal.remove(name)
    this.#records.delete(name)
    for (const f of this.#forgotten) f(name)
  }

  /** `f` hears of every volume forgotten (removed, or a create undone). */
  onForget(f: (name: string) => void): void {
    this.#forgotten.push(f)
  }
}
