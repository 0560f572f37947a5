"""Manila share driver for fuxi's dev cloud (test infrastructure, not for production).

DHSS=False, NFS only. Each share is a directory <root>/share-<share id>; its export locations are
127.0.0.1:<dir> (preferred), localhost:<dir> and, for admins only, the bare path. Nothing speaks NFS
on this machine: a consumer bind-mounts the path after the ':' (fuxi's tests use a mount.nfs
stand-in that does exactly that). Access rules are only recorded: Manila moves them to 'active'.
"""
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

    def _exports(self, path):
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
        if share['share_proto'].upper() != 'NFS':
            raise ValueError('the dev cloud directory driver serves NFS only')
        path = self._path(share)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o777)
        return self._exports(path)

    def delete_share(self, context, share, share_server=None):
        shutil.rmtree(self._path(share), ignore_errors=True)

    def ensure_share(self, context, share, share_server=None):
        return self._exports(self._path(share))

    def update_access(self, context, share, access_rules, add_rules, delete_rules,
                      share_server=None):
        LOG.info('share %s: %d access rules', share['id'], len(access_rules))

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
            'storage_protocol': 'NFS',
            'total_capacity_gb': st.f_blocks * st.f_frsize // GIB,
            'free_capacity_gb': st.f_bavail * st.f_frsize // GIB,
            'snapshot_support': False,
            'create_share_from_snapshot_support': False,
        })
