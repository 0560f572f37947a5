/** The config sections that talk to an OpenStack service, each with keystoneauth options. */
export type ServiceSection = 'cinder' | 'manila' | 'nova'
export const SERVICE_SECTIONS: readonly ServiceSection[] = ['cinder', 'manila', 'nova']

type Values = Readonly<Record<string, Readonly<Record<string, unknown>> | undefined>>

const WHY: Record<ServiceSection, string> = {
  cinder:
    'the cinder provider needs Keystone; set auth_url, username, password, project_name (or application credentials) in [cinder]',
  manila:
    'the manila provider needs Keystone; set auth_url, username, password, project_name (or application credentials) in [manila]',
  nova: 'volume_connector = openstack attaches through Nova; set [nova] auth options, or auth_section = cinder',
}

/**
 * The one place that decides where a service's Keystone options come from: its own section, the
 * section its `auth_section` names, or the legacy [keystone] section when that has no auth_url.
 * Returns that section and what is missing (empty when Keystone can be reached).
 */
export function keystoneSectionOf(
  values: Values,
  svc: ServiceSection,
): { from: ServiceSection; legacy: boolean; problems: string[] } {
  const named = String(values[svc]?.auth_section ?? '')
  if (named && !SERVICE_SECTIONS.includes(named as ServiceSection))
    return {
      from: svc,
      legacy: false,
      problems: [
        `[${svc}] auth_section = ${named}: must name one of ${SERVICE_SECTIONS.join(', ')}`,
      ],
    }
  const from = (named || svc) as ServiceSection
  const legacy = !values[from]?.auth_url
  const problems =
    legacy && !values.keystone?.auth_url
      ? [`[${svc}] auth_url is not set (nor [keystone] auth_url): ${WHY[svc]}`]
      : []
  return { from, legacy, problems }
}
