import { join } from 'node:path'
import type { ServiceSection } from '../config/credential-types.ts'
import type { FuxiConfig, ProviderName } from '../config/schema.ts'
import type { VolumeProvider } from '../volumes/provider.ts'
import type { ProviderDeps } from './provider-deps.ts'

export type { ProviderDeps } from './provider-deps.ts'

export interface ProviderEntry {
  /** The fuxi.conf section with the provider's own options. */
  readonly section: 'local' | 'cinder' | 'manila'
  /** The service sections whose Keystone options the provider needs with this config. */
  keystone(config: FuxiConfig): readonly ServiceSection[]
  /**
   * Builds the provider (its options parser is its parseOptions). Cloud providers are loaded
   * only when enabled: a host serving local volumes never loads the OpenStack clients.
   */
  build(config: FuxiConfig, deps: ProviderDeps): Promise<VolumeProvider>
}

/** Every provider this build of fuxi can serve, by the name [DEFAULT] volume_providers uses. */
export const PROVIDERS: { readonly [N in ProviderName]: ProviderEntry } = {
  local: {
    section: 'local',
    keystone: () => [],
    async build(config, { host, log }) {
      const { createLocalProvider } = await import('./local/local-provider.ts')
      return createLocalProvider(
        {
          dir: join(config.DEFAULT.state_dir, 'local'),
          defaults: {
            size: config.DEFAULT.default_volume_size,
            maxSize: config.local.max_volume_size,
            fstype: config.local.fstype,
          },
        },
        { host, log },
      )
    },
  },
  cinder: {
    section: 'cinder',
    keystone: (c) => (c.cinder.volume_connector === 'openstack' ? ['cinder', 'nova'] : ['cinder']),
    async build(config, deps) {
      const { cinderProviderFromConfig } = await import('./cinder/from-config.ts')
      return cinderProviderFromConfig(config, deps)
    },
  },
  manila: {
    section: 'manila',
    keystone: () => ['manila'],
    async build(config, deps) {
      const { manilaProviderFromConfig } = await import('./manila/from-config.ts')
      return manilaProviderFromConfig(config, deps)
    },
  },
}

/** The service sections whose Keystone credentials the enabled providers use, each once. */
export function keystoneSections(config: FuxiConfig): ServiceSection[] {
  return [...new Set(config.DEFAULT.volume_providers.flatMap((p) => PROVIDERS[p].keystone(config)))]
}
