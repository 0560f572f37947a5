"""A Neutron stand-in for fuxi's dev cloud (test infrastructure, not for production).

Nova asks Neutron about a server's ports and security groups even when the server has no network
(`networks: none`); fuxi's tests boot such servers on the fake virt driver and need nothing from
Neutron but those answers. This serves Neutron's v2.0 read API with empty collections, accepts
deletes, and refuses anything else, on 127.0.0.1:9696. It does not check tokens: nothing here is
secret and it listens on loopback only.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

COLLECTIONS = {
    'ports', 'networks', 'subnets', 'security-groups', 'security-group-rules', 'floatingips',
    'extensions', 'quotas', 'trunks', 'segments', 'qos/policies',
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = urlparse(self.path).path.rstrip('/')
        if path in ('', '/'):
            return self._send(200, {'versions': [{'id': 'v2.0', 'status': 'CURRENT', 'links': [
                {'rel': 'self', 'href': 'http://127.0.0.1:9696/v2.0/'}]}]})
        if path == '/v2.0':
            return self._send(200, {'resources': []})
        name = path[len('/v2.0/'):] if path.startswith('/v2.0/') else ''
        if name in COLLECTIONS:
            return self._send(200, {name.replace('-', '_').split('/')[-1]: []})
        return self._send(404, {'NeutronError': {'type': 'NotFound', 'message': path, 'detail': ''}})

    def do_DELETE(self):
        self.send_response(204)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def do_POST(self):
        self._send(400, {'NeutronError': {'type': 'BadRequest', 'message': 'the dev cloud has no networks', 'detail': ''}})

    do_PUT = do_POST

    def log_message(self, fmt, *args):
        sys.stderr.write('%s %s\n' % (self.address_string(), fmt % args))


if __name__ == '__main__':
    ThreadingHTTPServer(('127.0.0.1', 9696), Handler).serve_forever()
