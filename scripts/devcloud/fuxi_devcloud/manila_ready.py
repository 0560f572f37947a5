"""Waits until the dev cloud's Manila can place a share (test infrastructure).

`manila pool-list` reads the scheduler's cache, and a look taken before manila-share has told the
scheduler its capabilities leaves that cache empty for good; scheduling a share refreshes it. So
this makes a 1 GiB probe share, waits for it, and deletes it; a probe the scheduler could not place
("error") is deleted and tried again, until the deadline (argv[1] seconds). Exit 0 when one became
available. Credentials come from the environment (openrc).
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request


def call(method, url, token=None, body=None, headers=None):
    h = {'Content-Type': 'application/json', 'Accept': 'application/json', **(headers or {})}
    if token:
        h['X-Auth-Token'] = token
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            text = res.read().decode()
            return res.status, dict(res.headers), (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), None


def main():
    deadline = time.time() + float(sys.argv[1] if len(sys.argv) > 1 else 120)
    auth = {'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': os.environ['OS_USERNAME'], 'password': os.environ['OS_PASSWORD'],
            'domain': {'name': os.environ['OS_USER_DOMAIN_NAME']}}}},
        'scope': {'project': {'name': os.environ['OS_PROJECT_NAME'],
                              'domain': {'name': os.environ['OS_PROJECT_DOMAIN_NAME']}}}}}
    status, headers, body = call('POST', os.environ['OS_AUTH_URL'] + '/auth/tokens', body=auth)
    token = headers.get('X-Subject-Token')
    base = next(e['url'] for s in body['token']['catalog'] if s['type'] == 'sharev2'
                for e in s['endpoints'] if e['interface'] == 'public')
    mv = {'X-OpenStack-Manila-API-Version': '2.65'}
    while time.time() < deadline:
        status, _, made = call('POST', base + '/shares', token, {'share': {
            'share_proto': 'NFS', 'size': 1, 'name': 'fuxi-devcloud-probe'}}, mv)
        if status != 202 and status != 200:
            time.sleep(2)
            continue
        sid = made['share']['id']
        state = 'creating'
        while state in ('creating',) and time.time() < deadline:
            time.sleep(0.3)
            _, _, got = call('GET', base + '/shares/' + sid, token, headers=mv)
            state = got['share']['status'] if got else 'gone'
        call('DELETE', base + '/shares/' + sid, token, headers=mv)
        if state == 'available':
            return 0
        time.sleep(2)
    return 1


if __name__ == '__main__':
    sys.exit(main())
