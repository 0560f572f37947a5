/**
 * Every key fuxi.conf accepts, by section: all keys of the original fuxi (oslo.config,
 * keystoneauth1 and oslo.log options included, so an old file loads unchanged) plus fuxi's own.
 * This table drives parsing, validation (through convict), and `etc/fuxi.conf.sample`.
 */
import type { CredentialsOrProblems, ServiceSection } from './credential-types.ts'
import { bool, compat, int, type OptionSpec, oneOf, path, secret, str } from './option-spec.ts'

export type { OptionKind, OptionSpec, OptionValue } from './option-spec.ts'

export const PROVIDER_NAMES = ['local', 'cinder', 'manila'] as const
export type ProviderName = (typeof PROVIDER_NAMES)[number]
export const FSTYPES = ['ext4', 'xfs'] as const

/** keystoneauth1 auth + session options, accepted in [cinder], [nova] and [manila]. */
const keystoneAuthOptions = (service: string) => ({
  region_name: str(`Region of the ${service} endpoint in the service catalog.`),
  auth_type: str(
    'Keystone auth plugin: password, v3password, v3applicationcredential, token, v3token.',
    service === 'cinder' ? 'password' : '',
  ),
  auth_section: str('Take the auth options from this section instead.'),
  cloud: str(
    'Take the credentials from this clouds.yaml entry (README "Credentials"); keys set here win.',
  ),
  auth_url: str('Keystone URL, e.g. https://keystone.example.com:5000/v3.'),
  username: str('User name (password auth).'),
  user_id: str('User id (password auth).'),
  password: secret('Password (password auth).'),
  user_domain_name: str('Domain name of the user.'),
  user_domain_id: str('Domain id of the user.'),
  project_name: str('Project to scope the token to.'),
  project_id: str('Project id to scope the token to.'),
  project_domain_name: str('Domain name of the project.'),
  project_domain_id: str('Domain id of the project.'),
  domain_name: str('Domain to scope the token to (domain-scoped token).'),
  domain_id: str('Domain id to scope the token to.'),
  default_domain_id: str('Domain id used when user/project domain is not given.'),
  default_domain_name: str('Domain name used when user/project domain is not given.'),
  trust_id: str('Trust to use as trustee.'),
  tenant_name: str('Keystone v2 project name (legacy alias of project_name).'),
  tenant_id: str('Keystone v2 project id (legacy alias of project_id).'),
  token: secret('Existing token (token auth).'),
  system_scope: str('System scope, e.g. all.'),
  application_credential_id: str('Application credential id.'),
  application_credential_name: str('Application credential name (needs username or user_id).'),
  application_credential_secret: secret('Application credential secret.'),
  endpoint_override: str(`Use this ${service} URL instead of the catalog's.`),
  interface: oneOf('Catalog endpoint interface.', ['public', 'internal', 'admin'], 'public'),
  cafile: str('CA bundle to verify TLS certificates.'),
  certfile: str('Client certificate (PEM).'),
  keyfile: str('Client certificate key (PEM).'),
  insecure: bool('Skip TLS certificate verification (never do this in production).', false),
  timeout: int('HTTP timeout in seconds for each request.', 30, 1, 600),
  collect_timing: bool('keystoneauth timing collection.', false, true),
  split_loggers: bool('keystoneauth split loggers.', false, true),
})

/** oslo.log options the original accepted in [DEFAULT]; fuxi logs JSON and maps only debug/log_file. */
const osloLogOptions = {
  debug: bool('Log at debug level (same as log_level = debug).', false),
  verbose: bool('Deprecated oslo.log switch.', false, true),
  log_file: str('Append logs to this file instead of standard output.'),
  log_dir: str('Directory for log_file when it is relative.'),
  use_syslog: bool('oslo.log syslog switch.', false, true),
  syslog_log_facility: compat('oslo.log syslog facility'),
  use_stderr: bool('oslo.log stderr switch.', false, true),
  use_journal: bool('oslo.log journal switch.', false, true),
  use_json: bool('oslo.log JSON switch (fuxi always logs JSON).', false, true),
  log_config_append: compat('oslo.log logging config file'),
  log_date_format: compat('oslo.log date format'),
  default_log_levels: {
    kind: { type: 'list' as const },
    default: [] as readonly string[],
    doc: 'oslo.log per-library levels (accepted for compatibility; not used by fuxi)',
    ignored: true,
  },
  logging_context_format_string: compat('oslo.log format'),
  logging_default_format_string: compat('oslo.log format'),
  logging_debug_format_suffix: compat('oslo.log format'),
  logging_exception_prefix: compat('oslo.log format'),
  instance_format: compat('oslo.log format'),
  instance_uuid_format: compat('oslo.log format'),
  publish_errors: bool('oslo.log switch.', false, true),
  fatal_deprecations: bool('oslo.log switch.', false, true),
  watch_log_file: bool('oslo.log switch.', false, true),
} satisfies Record<string, OptionSpec>

export const SCHEMA = {
  DEFAULT: {
    my_ip: str(
      "This host's IP address: the initiator address for Cinder and the client address for Manila access rules.",
    ),
    host_id: {
      kind: {
        type: 'string',
        pattern: {
          re: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
          hint: 'use 1 to 63 letters, digits, _ . - starting with a letter or digit',
        },
      },
      default: '',
      doc: "This host's identity in the cloud: every attachment and access-rule marker fuxi writes names it. Must differ on every host. Empty: made once (<hostname>-<8 hex>) and kept in <state_dir>/host-id.",
    },
    volume_providers: {
      kind: { type: 'list', values: PROVIDER_NAMES },
      default: ['local'],
      doc: 'Enabled providers, in order; the first is the default for `docker volume create` without `-o volume_provider=`.',
    },
    volume_dir: path('Mountpoints live under <volume_dir>/<provider>/<name>.', '/fuxi/data'),
    volume_from: str(
      'Metadata value `volume_from=` that marks Cinder volumes and Manila shares as fuxi volumes.',
      'fuxi',
    ),
    default_volume_size: int('Size in GiB when `-o size` is not given.', 1, 1, 65536),
    fuxi_port: {
      kind: { type: 'port' },
      default: 7879,
      doc: 'TCP port, used only when tcp_listen = true.',
    },
    threaded: bool(
      'Original Flask threading switch; fuxi always serves requests concurrently.',
      true,
      true,
    ),
    rootwrap_config: str(
      'Original rootwrap config; fuxi runs as root and needs none.',
      '/etc/fuxi/rootwrap.conf',
      true,
    ),
    state_dir: path('Journal, locks and local images live here.', '/var/lib/fuxi'),
    socket_path: path(
      'Unix socket dockerd finds the plugin on (root only).',
      '/run/docker/plugins/fuxi.sock',
    ),
    tcp_listen: bool(
      'Also listen on TCP (plain HTTP, no authentication). Off unless you need it.',
      false,
    ),
    tcp_host: str(
      'Address for TCP; anything but loopback exposes volume deletion to the network.',
      '127.0.0.1',
    ),
    log_level: oneOf('Log level.', ['trace', 'debug', 'info', 'warn', 'error', 'fatal'], 'info'),
    reconcile_interval: int(
      'Seconds between reconciles while running (drops references of containers Docker no longer has, e.g. after dockerd restarted, and releases what nothing uses); 0: only at start and with fuxi reconcile.',
      60,
      0,
      86400,
    ),
    metrics_listen: str(
      'Serve Prometheus metrics over plain HTTP at http://<this>/metrics, e.g. 127.0.0.1:9464 (an IP address or localhost, and a port; IPv6 in brackets). Empty: no metrics, nothing listens. Anyone who reaches it reads volume counts and API call rates: keep it on loopback or a management network.',
    ),
    docker_socket: path(
      'Docker Engine API socket, read at start to release mount references of containers that are gone.',
      '/var/run/docker.sock',
    ),
    ...osloLogOptions,
  },
  keystone: {
    region: str('Legacy fallback region.'),
    auth_url: str(
      'Legacy fallback Keystone URL (used when a service section has no auth options).',
    ),
    admin_user: str('Legacy fallback user name.'),
    admin_tenant_name: str('Legacy fallback project name.'),
    admin_password: secret('Legacy fallback password.'),
    admin_token: secret('Legacy fallback token.'),
    auth_ca_cert: str('Legacy fallback CA bundle.'),
    auth_insecure: bool(
      'Legacy fallback: skip TLS verification. The original defaulted to true; fuxi defaults to false.',
      false,
    ),
  },
  cinder: {
    volume_connector: oneOf(
      'How volumes reach this host: osbrick (host attach through the attachments API) or openstack (Nova attach; inside an instance).',
      ['osbrick', 'openstack'],
      'osbrick',
    ),
    availability_zone: str('Default availability zone for new volumes.'),
    instance_id: str(
      "This instance's Nova server id, for volume_connector = openstack; empty: asked from the metadata service.",
    ),
    volume_type: str('Default volume type for new volumes.'),
    fstype: oneOf('Filesystem for new volumes.', FSTYPES, 'ext4'),
    multiattach: bool('Default for `-o multiattach`.', false),
    takeover: oneOf(
      "A volume another host holds: never = refuse, naming that host and the command that detaches it (default); stale = take it when that host's fuxi has not been heard from for takeover_after seconds; force = also take it from holders fuxi never heard from (the original fuxi, the CLI). A holder heard from within takeover_after is never detached. stale/force suit hosts that die whole (VMs): a host whose fuxi alone stopped while its containers still write would be cut off.",
      ['never', 'stale', 'force'],
      'never',
    ),
    takeover_after: int(
      "Seconds without a heartbeat after which a holder counts as gone (takeover = stale or force). Keep it well above heartbeat_interval plus the hosts' clock skew.",
      300,
      2,
      86400,
    ),
    heartbeat_interval: int(
      'Seconds between the heartbeats this host writes on the volumes it has attached (read by takeover).',
      60,
      1,
      3600,
    ),
    local_connection: bool(
      "Accept Cinder's `local` connection type (a device path already on this host: a Cinder volume service on this host, or test back ends). Off: only connectors that make the device themselves (iscsi, rbd).",
      false,
    ),
    all_tenants: bool(
      'List and look up volumes in every project (needs admin). The original defaulted to true.',
      false,
    ),
    ...keystoneAuthOptions('cinder'),
  },
  nova: {
    ...keystoneAuthOptions('nova'),
  },
  manila: {
    volume_connector: oneOf('How shares reach this host (only osbrick).', ['osbrick'], 'osbrick'),
    share_proto: oneOf(
      'Default share protocol (NFS or CEPHFS; GLUSTERFS is not supported by fuxi).',
      ['NFS', 'CEPHFS', 'GLUSTERFS'],
      'NFS',
    ),
    proto_access_type_map: {
      kind: { type: 'dict' },
      default: {},
      doc: 'Access type per protocol; fuxi supports NFS:ip and CEPHFS:cephx (the defaults).',
    },
    availability_zone: str('Default availability zone for new shares.'),
    share_type: str('Default share type for new shares (empty: the cloud default).'),
    share_network: str('Default share network for new shares (needed by DHSS=True back ends).'),
    access_to: str(
      "NFS: the address or CIDR this host's `ip` access rules name; empty: [DEFAULT] my_ip.",
    ),
    cephx_id: str('CephFS: the cephx client id this host is given access as.', 'fuxi'),
    cephfs_client: oneOf(
      'CephFS: kernel (mount.ceph, key in a 0600 secret file) or fuse (ceph-fuse, keyring file).',
      ['kernel', 'fuse'],
      'kernel',
    ),
    nfs_mount_options: {
      kind: { type: 'list' as const },
      default: [] as readonly string[],
      doc: 'Extra mount.nfs -o options, e.g. vers=4.1,hard.',
    },
    cephfs_mount_options: {
      kind: { type: 'list' as const },
      default: [] as readonly string[],
      doc: 'Extra CephFS client -o options.',
    },
    export_cidr: str(
      'Mount only export locations whose address is in this CIDR (e.g. the storage network); empty: any.',
    ),
    keep_access: bool(
      "Keep this host's access rule after the last container stops (faster next mount; the share stays open to this host).",
      false,
    ),
    remove_shared: bool(
      '`docker volume rm` deletes a share even while other hosts hold access rules to it.',
      false,
    ),
    access_to_for_cert: str(
      'access_to for cert access (GlusterFS; accepted for compatibility, not used by fuxi).',
      '',
      true,
    ),
    ...keystoneAuthOptions('manila'),
  },
  local: {
    fstype: oneOf('Filesystem for new local volumes.', FSTYPES, 'ext4'),
    max_volume_size: int('Largest `-o size` (GiB) accepted for a local volume.', 1024, 1, 65536),
  },
} as const satisfies Record<string, Record<string, OptionSpec>>

export type SectionName = keyof typeof SCHEMA

type ValueOf<S> = S extends { kind: { type: 'bool' } }
  ? boolean
  : S extends { kind: { type: 'enum'; values: readonly (infer V)[] } }
    ? V
    : S extends { kind: { type: 'int' } } | { kind: { type: 'port' } }
      ? number
      : S extends { kind: { type: 'list'; values: readonly (infer V)[] } }
        ? readonly V[]
        : S extends { kind: { type: 'list' } }
          ? readonly string[]
          : S extends { kind: { type: 'dict' } }
            ? Readonly<Record<string, string>>
            : string

/** The validated, frozen configuration: one typed object per section, and the credentials. */
export type FuxiConfig = {
  readonly [S in SectionName]: {
    readonly [K in keyof (typeof SCHEMA)[S]]: ValueOf<(typeof SCHEMA)[S][K]>
  }
} & { readonly credentials: Readonly<Record<ServiceSection, CredentialsOrProblems>> }
