import type { AuthOptions } from '../openstack/keystone.ts'

/** The config sections that talk to an OpenStack service, each with keystoneauth options. */
export type ServiceSection = 'cinder' | 'manila' | 'nova'
export const SERVICE_SECTIONS: readonly ServiceSection[] = ['cinder', 'manila', 'nova']

/** How a service section reaches Keystone, once fuxi.conf, clouds.yaml and OS_* are stacked. */
export interface Credentials {
  /** The section whose auth options were used (itself, or the one its auth_section names). */
  readonly section: ServiceSection
  /** Where the credentials come from, for messages: `[cinder]`, `[cinder] cloud = x (file)`, … */
  readonly where: string
  readonly auth: AuthOptions
  readonly region: string
  readonly interface: string
  readonly tls: {
    readonly cafile: string
    readonly certfile: string
    readonly keyfile: string
    readonly insecure: boolean
  }
  /** Each option that is set, and where its value came from (never the value). */
  readonly origins: Readonly<Record<string, string>>
  /** Files besides fuxi.conf the credentials were read from (clouds.yaml, secure.yaml). */
  readonly files: readonly string[]
}

/** A section's credentials, or why it has none. */
export type CredentialsOrProblems = Credentials | { readonly problems: readonly string[] }
