"""Manila share driver for fuxi's dev cloud (test infrastructure, not for production).

DHSS=False, NFS and CEPHFS. Each share is a directory <root>/share-<share id>. An NFS share's export
locations are 127.0.0.1:<dir> (preferred), localhost:<dir> and, for admins only, the bare path; a
CEPHFS share's is 127.0.0.1:6789:<dir> (monitors, then the path, as Manila's CephFS driver gives it).
Nothing speaks NFS or Ceph on this machine: a consumer bind-mounts the path (fuxi's tests use
mount.nfs and mount.ceph stand-ins that do exactly that). The share's access rules are written to
<dir>.access, one "<type> <level> <to> [<key>]" line per rule, for the stand-ins to enforce; a cephx
rule gets an access key derived from the share and the client id, as Manila's CephFS driver returns.
"""
import base64
import hashlib
import os
import shutil

from oslo_config import cfg
from oslo_log import log as logging

from manila.share import driver

LOG = logging.getLogger(__name__)
GIB = 1024 ** 3

dir_opts = [
    cfg.StrOpt('dir_shares_root', default='/var/lib/fuxi-devcloud/manila/shares',
               help='Directory holding one directory per share.'),
]
cfg.CONF.register_opts(dir_opts)


class DirShareDriver(driver.ShareDriver):
    def __init__(self, *args, **kwargs):
        super().__init__(False, *args, **kwargs)
        self.configuration.append_config_values(dir_opts)

    def _root(self):
        return self.configuration.dir_shares_root

    def _path(self, share):
        return os.path.join(self._root(), 'share-%s' % (share.get('share_id') or share['id']))

    def _exports(self, path, proto='NFS'):
        if proto.upper() == 'CEPHFS':
            return [{'path': '127.0.0.1:6789:%s' % path, 'is_admin_only': False,
                     'metadata': {'preferred': True}}]
        return [
            {'path': '127.0.0.1:%s' % path, 'is_admin_only': False, 'metadata': {'preferred': True}},
            {'path': 'localhost:%s' % path, 'is_admin_only': False, 'metadata': {'preferred': False}},
            {'path': path, 'is_admin_only': True, 'metadata': {'preferred': False}},
        ]

    def do_setup(self, context):
        os.makedirs(self._root(), exist_ok=True)

    def check_for_setup_error(self):
        if not os.access(self._root(), os.W_OK):
            raise RuntimeError('%s is not writable' % self._root())

    def create_share(self, context, share, share_server=None):
        if share['share_proto'].upper() not in ('NFS', 'CEPHFS'):
            raise ValueError('the dev cloud directory driver serves NFS and CEPHFS only')
        path = self._path(share)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o777)
        self._write_access(path, [])
        return self._exports(path, share['share_proto'])

    def delete_share(self, context, share, share_server=None):
        path = self._path(share)
        shutil.rmtree(path, ignore_errors=True)
        if os.path.exists(path + '.access'):
            os.remove(path + '.access')

    def ensure_share(self, context, share, share_server=None):
        return self._exports(self._path(share), share['share_proto'])

    @staticmethod
    def _key(share_id, client):
        digest = hashlib.sha256(('%s/%s' % (share_id, client)).encode()).digest()
        return base64.b64encode(digest[:16]).decode()

    def _write_access(self, path, lines):
        tmp = path + '.access.tmp'
        with open(tmp, 'w') as f:
            f.write(''.join(line + '\n' for line in lines))
        os.rename(tmp, path + '.access')

    def update_access(self, context, share, access_rules, add_rules, delete_rules,
                      share_server=None):
        share_id = share.get('share_id') or share['id']
        lines, updates = [], {}
        for r in access_rules:
            line = '%s %s %s' % (r['access_type'], r['access_level'], r['access_to'])
            if r['access_type'] == 'cephx':
                key = self._key(share_id, r['access_to'])
                line += ' ' + key
                updates[r['access_id']] = {'access_key': key}
            lines.append(line)
        self._write_access(self._path(share), lines)
        LOG.info('share %s: %d access rules', share_id, len(access_rules))
        return updates

    def extend_share(self, share, new_size, share_server=None):
        pass

    def shrink_share(self, share, new_size, share_server=None):
        pass

    def get_network_allocations_number(self):
        return 0

    def _update_share_stats(self, data=None):
        st = os.statvfs(self._root())
        super()._update_share_stats({
            'share_backend_name': self.configuration.safe_get('share_backend_name') or 'dir',
            'vendor_name': 'fuxi',
            'driver_version': '1.0',
            'storage_protocol': 'NFS_CEPHFS',
            'total_capacity_gb': st.f_blocks * st.f_frsize // GIB,
            'free_capacity_gb': st.f_bavail * st.f_frsize // GIB,
            'snapshot_support': False,
            'create_share_from_snapshot_support': False,
        })
