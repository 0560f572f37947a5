"""Cinder volume driver for fuxi's dev cloud (test infrastructure, not for production).

Each volume is a sparse file volume-<id>.img. initialize_connection gives each connector host its
own loop device of that file (reused for that host's further attachments), as separate machines
would each see their own disk of a multiattach volume, and returns 'local' connection info with
device_path, the shape os-brick's LocalConnector consumes. A host's last attachment's
terminate_connection detaches that host's device. Which host has which device is kept beside the
image (volume-<id>.loops.json).
"""
import json
import os
import subprocess
import threading

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

    _lock = threading.Lock()

    def _map_file(self, path):
        return path[:-len('.img')] + '.loops.json'

    def _read_map(self, path):
        try:
            with open(self._map_file(path)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _write_map(self, path, mapping):
        tmp = self._map_file(path) + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(mapping, f)
        os.replace(tmp, self._map_file(path))

    def _attach(self, path, host):
        """The loop device of `path` for connector host `host`: its own, made on first use."""
        with self._lock:
            mapping = self._read_map(path)
            live = self._loops_for(path)
            device = mapping.get(host)
            if device not in live:
                out = subprocess.run(['losetup', '--find', '--show', path],
                                     check=True, capture_output=True, text=True)
                device = out.stdout.strip()
                mapping[host] = device
                self._write_map(path, mapping)
            return device

    def _detach_host(self, path, host):
        with self._lock:
            mapping = self._read_map(path)
            device = mapping.pop(host, None)
            if device in self._loops_for(path):
                subprocess.run(['losetup', '--detach', device], check=False)
            self._write_map(path, mapping)

    def _detach(self, path):
        with self._lock:
            for dev in self._loops_for(path):
                subprocess.run(['losetup', '--detach', dev], check=False)
            if os.path.exists(self._map_file(path)):
                os.unlink(self._map_file(path))

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
        # After a host reboot in-use volumes need their loop devices back (numbers may change).
        if volume.status == 'in-use':
            path = self._path(volume.name)
            for host in list(self._read_map(path)):
                self._attach(path, host)

    def create_export(self, context, volume, connector):
        pass

    def remove_export(self, context, volume):
        pass

    @staticmethod
    def _host(connector):
        return (connector or {}).get('host') or '-'

    def initialize_connection(self, volume, connector, **kwargs):
        device = self._attach(self._path(volume.name), self._host(connector))
        return {'driver_volume_type': 'local', 'data': {'device_path': device, 'access_mode': 'rw'}}

    def terminate_connection(self, volume, connector, **kwargs):
        host = self._host(connector)
        live = [a for a in (volume.volume_attachment or [])
                if a.attach_status != 'detached' and self._host(a.connector) == host]
        if len(live) > 1:
            LOG.info('volume %s keeps the loop device of %s: %d of its attachments remain',
                     volume.id, host, len(live) - 1)
            return
        self._detach_host(self._path(volume.name), host)

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
