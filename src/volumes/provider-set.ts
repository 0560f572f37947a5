import { FuxiError, InvalidRequestError, VolumeExistsError } from '../errors.ts'
import type { VolumeProvider } from './provider.ts'
import type { VolumeRecord } from './record.ts'

/** The enabled providers, in configured order; the first is the default for Create. */
export class ProviderSet {
  readonly all: readonly VolumeProvider[]
  /** Providers whose volumes live in a cloud (other hosts see them, fuxi adopts them). */
  readonly clouds: readonly VolumeProvider[]
  readonly #byName: ReadonlyMap<string, VolumeProvider>

  constructor(providers: readonly VolumeProvider[]) {
    if (!providers.length)
      throw new FuxiError('CONFIG', 'no volume provider is enabled: set [DEFAULT] volume_providers')
    this.all = providers
    this.clouds = providers.filter((p) => p.scope === 'global')
    this.#byName = new Map(providers.map((p) => [p.name, p]))
  }

  /** Docker scope: 'local' if any enabled provider is host-local (it cannot claim cluster scope). */
  get scope(): 'local' | 'global' {
    return this.all.some((p) => p.scope === 'local') ? 'local' : 'global'
  }

  get(name: string): VolumeProvider | undefined {
    return this.#byName.get(name)
  }

  /** The provider a Create asks for with `-o volume_provider`, or the default. */
  forCreate(requested: string | undefined): VolumeProvider {
    if (requested === undefined) return this.all[0] as VolumeProvider
    const p = this.#byName.get(requested)
    if (!p)
      throw new InvalidRequestError(
        `invalid value for option "volume_provider": ${JSON.stringify(requested)}; enabled providers: ${[...this.#byName.keys()].join(', ')}`,
        'INVALID_OPTION',
      )
    return p
  }

  /** The provider of a known volume; an error naming the fix when it is not enabled. */
  of(rec: VolumeRecord): VolumeProvider {
    const p = this.#byName.get(rec.provider)
    if (!p)
      throw new VolumeExistsError(
        `volume "${rec.name}" belongs to provider ${rec.provider}, which is not enabled; add it to [DEFAULT] volume_providers`,
      )
    return p
  }
}
