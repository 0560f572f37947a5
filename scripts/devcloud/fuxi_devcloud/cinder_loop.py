"""Cinder volume driver for fuxi's dev cloud (test infrastructure, not for production).

Each volume is a sparse file volume-<id>.img; initialize_connection attaches it to a loop device
(reusing one that already backs it) and returns 'local' connection info with device_path, the shape
os-brick's LocalConnector consumes. The last attachment's terminate_connection detaches it.
"""
import os
import subprocess

from oslo_config import cfg
from oslo_log import log as logging

from cinder.volume import configuration
from cinder.volume import driver

LOG = logging.getLogger(__name__)
GIB = 1024 ** 3

loop_opts = [
    cfg.StrOpt('loop_volumes_dir', default='/var/lib/fuxi-devcloud/cinder/volumes',
               help='Directory holding the sparse volume images.'),
]
cfg.CONF.register_opts(loop_opts, group=configuration.SHARED_CONF_GROUP)


class LoopVolumeDriver(driver.VolumeDriver):
    VERSION = '1.0.0'
    CI_WIKI_NAME = 'fuxi-devcloud'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(loop_opts)

    # -- helpers ---------------------------------------------------------------------------------
    def _dir(self):
        return self.configuration.loop_volumes_dir

    def _path(self, name):
        return os.path.join(self._dir(), '%s.img' % name)

    def _loops_for(self, path):
        found = []
        for name in os.listdir('/sys/block'):
            if not name.startswith('loop'):
                continue
            try:
                with open('/sys/block/%s/loop/backing_file' % name) as f:
                    if f.read().strip() == path:
                        found.append('/dev/' + name)
            except OSError:
                pass
        return sorted(found)

    def _attach(self, path):
        existing = self._loops_for(path)
        if existing:
            return existing[0]
        out = subprocess.run(['losetup', '--find', '--show', '--nooverlap', path],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def _detach(self, path):
        for dev in self._loops_for(path):
            subprocess.run(['losetup', '--detach', dev], check=False)

    def _sparse_copy(self, src, dst, size_gib):
        subprocess.run(['cp', '--sparse=always', src, dst], check=True)
        with open(dst, 'r+b') as f:
            f.truncate(max(size_gib * GIB, os.path.getsize(dst)))

    # -- driver API ------------------------------------------------------------------------------
    def do_setup(self, context):
        os.makedirs(self._dir(), exist_ok=True)

    def check_for_setup_error(self):
        if not os.access(self._dir(), os.W_OK):
            raise RuntimeError('%s is not writable' % self._dir())

    def create_volume(self, volume):
        with open(self._path(volume.name), 'wb') as f:
            f.truncate(volume.size * GIB)

    def delete_volume(self, volume):
        path = self._path(volume.name)
        self._detach(path)
        if os.path.exists(path):
            os.unlink(path)

    def create_snapshot(self, snapshot):
        self._sparse_copy(self._path(snapshot.volume.name), self._path(snapshot.name), snapshot.volume_size)

    def delete_snapshot(self, snapshot):
        if os.path.exists(self._path(snapshot.name)):
            os.unlink(self._path(snapshot.name))

    def create_volume_from_snapshot(self, volume, snapshot):
        self._sparse_copy(self._path(snapshot.name), self._path(volume.name), volume.size)

    def create_cloned_volume(self, volume, src_vref):
        self._sparse_copy(self._path(src_vref.name), self._path(volume.name), volume.size)

    def extend_volume(self, volume, new_size):
        path = self._path(volume.name)
        with open(path, 'r+b') as f:
            f.truncate(new_size * GIB)
        for dev in self._loops_for(path):
            subprocess.run(['losetup', '--set-capacity', dev], check=True)

    def ensure_export(self, context, volume):
        # After a host reboot in-use volumes need their loop device back (the number may change).
        if volume.status == 'in-use':
            self._attach(self._path(volume.name))

    def create_export(self, context, volume, connector):
        pass

    def remove_export(self, context, volume):
        pass

    def initialize_connection(self, volume, connector, **kwargs):
        device = self._attach(self._path(volume.name))
        return {'driver_volume_type': 'local', 'data': {'device_path': device, 'access_mode': 'rw'}}

    def terminate_connection(self, volume, connector, **kwargs):
        live = [a for a in (volume.volume_attachment or []) if a.attach_status != 'detached']
        if len(live) > 1:
            LOG.info('volume %s keeps its loop device: %d attachments remain', volume.id, len(live) - 1)
            return
        self._detach(self._path(volume.name))

    def _update_volume_stats(self):
        st = os.statvfs(self._dir())
        self._stats = {
            'volume_backend_name': self.configuration.safe_get('volume_backend_name') or 'loop',
            'vendor_name': 'fuxi',
            'driver_version': self.VERSION,
            'storage_protocol': 'local',
            'total_capacity_gb': st.f_blocks * st.f_frsize // GIB,
            'free_capacity_gb': st.f_bavail * st.f_frsize // GIB,
            'reserved_percentage': 0,
            'thin_provisioning_support': True,
            'thick_provisioning_support': False,
            'max_over_subscription_ratio': 20.0,
            'multiattach': True,
            'QoS_support': False,
        }
