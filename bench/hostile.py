#!/usr/bin/env python3
"""bench/hostile.py — the clients of bench/serve_hostile.sh, on the loopback only.

Normal load: wrk with bench/check.lua (64 connections from 127.0.0.1, POST /v1/check,
3,000-character bodies) for 10 s alone, then again during the attack. The attack, started between the two:
  slow     N connections from 127.0.1.1-10, each sending a request header a byte every 2 s;
           one the server closes is opened again at once;
  uploads  M connections from 127.0.2.1, each sending the headers of an 8,000,000-byte
           POST /v1/check and 7,900,000 bytes of it, then nothing; answered or closed, it
           starts again a second later;
  probe    GET /healthz on a new connection every 0.2 s (from 127.0.0.1);
  rss      the server's VmRSS every 0.25 s.
Every count and time is bounded: the attack stops after --seconds and every socket is closed.
Prints key=value lines for serve_hostile.sh.
"""
import argparse
import multiprocessing
import os
import selectors
import socket
import subprocess
import threading
import time


HOST = '127.0.0.1'
stop = threading.Event()
lock = threading.Lock()
stats = {'slow_cut': 0, 'slow_refused': 0, 'slow_peak': 0, 'up_started': 0, 'up_503': 0,
         'up_cut': 0, 'up_reset': 0, 'rss': []}


def count(key, n=1):
    with lock:
        stats[key] += n


def wrk(port, bodies, clients, secs):
    """wrk with bench/check.lua: {n, p50, p99, max (ms), err}"""
    lua = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'check.lua')
    p = subprocess.run(['wrk', '-t2', '-c%d' % clients, '-d%ds' % secs, '--timeout', '10s',
                        '-s', lua, 'http://%s:%d' % (HOST, port)],
                       env=dict(os.environ, BODIES=bodies), capture_output=True, text=True,
                       timeout=secs + 60)
    for line in p.stdout.splitlines():
        if line.startswith('RESULT '):
            r = dict(kv.split('=') for kv in line.split()[1:])
            return {'n': r['requests'], 'p50': r['p50_ms'], 'p99': r['p99_ms'],
                    'max': r['max_ms'], 'err': str(sum(int(r[k]) for k in (
                        'non2xx', 'connect', 'read', 'write', 'timeout')))}
    raise SystemExit('wrk gave no result: ' + p.stdout + p.stderr)


def slow_loris(port, n, until):
    """n connections from 10 addresses, a header byte each every 2 s, reopened when closed."""
    header = b'POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n' + \
        b''.join(b'X-Pad-%d: %d\r\n' % (i, i) for i in range(2000))
    sel = selectors.DefaultSelector()
    conns = {}  # socket -> [source index, bytes sent]

    def open_one(k):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.bind(('127.0.1.%d' % (k % 10 + 1), 0))
            s.connect_ex((HOST, port))
        except OSError:
            s.close()
            count('slow_refused')
            return
        conns[s] = [k, 0]
        sel.register(s, selectors.EVENT_READ)

    for k in range(n):
        open_one(k)
    next_tick = time.time()
    while time.time() < until and not stop.is_set():
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b''
            if not data:  # closed by the server (deadline): open another
                k = conns.pop(s)[0]
                sel.unregister(s)
                s.close()
                count('slow_cut')
                open_one(k)
        if time.time() >= next_tick:
            next_tick += 2
            for s, st in list(conns.items()):
                try:
                    s.send(header[st[1]:st[1] + 1])
                    st[1] += 1
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    pass  # the read side notices the close
            with lock:
                stats['slow_peak'] = max(stats['slow_peak'], len(conns))
    for s in conns:
        s.close()


def uploader(port, until):
    """8 MB POSTs that stop 100 KB short of the end; again a second after each ends."""
    size, sent_max = 8000000, 7900000
    chunk = b'{"text":"' + b'x' * 65536
    while time.time() < until and not stop.is_set():
        s = socket.socket()
        s.settimeout(2)
        try:
            s.bind(('127.0.2.1', 0))
            s.connect((HOST, port))
            count('up_started')
            s.sendall(b'POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: '
                      b'application/json\r\nContent-Length: %d\r\n\r\n' % size)
            sent = 0
            while sent < sent_max:
                sent += s.send(chunk[:min(len(chunk), sent_max - sent)])
            # stalled: wait for the server to give up on it (or the attack to end)
            s.settimeout(1)
            while time.time() < until and not stop.is_set():
                try:
                    d = s.recv(4096)
                except socket.timeout:
                    continue
                if not d:
                    count('up_cut')
                    break
                if b' 503 ' in d.split(b'\r\n')[0]:
                    count('up_503')
                    break
        except OSError:
            # refused while sending: the 503 came before the body was read (and may be lost
            # to the reset of a socket closed with unread data)
            try:
                d = s.recv(4096)
            except OSError:
                d = b''
            count('up_503' if b' 503 ' in d.split(b'\r\n')[0] else 'up_reset')
        finally:
            s.close()
        time.sleep(1)


def probe(port, t0, until, pipe):
    """/healthz every 0.2 s, in a process of its own (the attack's threads do not delay it):
    sends [(seconds since t0, milliseconds or None for a failure)]."""
    got = []
    while time.time() < until:
        t = time.time()
        try:
            s = socket.create_connection((HOST, port), timeout=5)
            s.sendall(b'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
            d = b''
            while True:
                x = s.recv(4096)
                if not x:
                    break
                d += x
            s.close()
            ok = d.startswith(b'HTTP/1.1 200')
        except OSError:
            ok = False
        got.append((t - t0, (time.time() - t) * 1e3 if ok else None))
        time.sleep(max(0, 0.2 - (time.time() - t)))
    pipe.send(got)


def rss_of(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return 0


def sample_rss(pid, until):
    while time.time() < until and not stop.is_set():
        try:
            stats['rss'].append(rss_of(pid))
        except OSError:
            return
        time.sleep(0.25)


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * q))] if v else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--pid', type=int, required=True)
    ap.add_argument('--bodies', required=True)
    ap.add_argument('--seconds', type=int, default=60)
    ap.add_argument('--slow', type=int, default=1000)
    ap.add_argument('--uploads', type=int, default=40)
    ap.add_argument('--clients', type=int, default=64)
    a = ap.parse_args()

    base = wrk(a.port, a.bodies, a.clients, 10)
    rss0 = rss_of(a.pid)
    until = time.time() + a.seconds + 5
    t0 = time.time()
    recv, send = multiprocessing.Pipe(False)
    prober = multiprocessing.get_context('fork').Process(target=probe,
                                                         args=(a.port, t0, until, send))
    prober.start()
    threads = [threading.Thread(target=slow_loris, args=(a.port, a.slow, until)),
               threading.Thread(target=sample_rss, args=(a.pid, until))]
    threads += [threading.Thread(target=uploader, args=(a.port, until))
                for _ in range(a.uploads)]
    for t in threads:
        t.start()
    time.sleep(3)  # the attack in place
    try:
        att = wrk(a.port, a.bodies, a.clients, a.seconds)
    finally:
        stop.set()
        for t in threads:
            t.join()
    probes = recv.recv()
    prober.join()
    hz = [ms for _, ms in probes if ms is not None]
    slow_hz = ['%.0fs:%.0fms' % (t, ms) for t, ms in probes if ms is not None and ms > 1000]
    peak = max(stats['rss'] or [rss0])
    out = {
        'base_n': base['n'], 'base_p50': base['p50'], 'base_p99': base['p99'],
        'base_max': base['max'], 'base_err': base['err'],
        'att_n': att['n'], 'att_p50': att['p50'], 'att_p99': att['p99'], 'att_max': att['max'],
        'att_err': att['err'],
        'hz_n': len(hz), 'hz_p99': '%.1f' % pct(hz, .99), 'hz_max': '%.1f' % max(hz or [0]),
        'hz_err': sum(ms is None for _, ms in probes),
        'hz_over_1s': ' '.join(slow_hz) or 'none',
        'slow_peak': stats['slow_peak'], 'slow_cut': stats['slow_cut'],
        'slow_refused': stats['slow_refused'],
        'up_started': stats['up_started'], 'up_503': stats['up_503'], 'up_cut': stats['up_cut'],
        'up_reset': stats['up_reset'],
        'rss0': '%.0f' % rss0, 'rss_peak': '%.0f' % peak, 'rss_growth': '%.0f' % (peak - rss0),
    }
    met = (int(att['n']) > 0 and float(att['max']) <= 1000 and int(att['err']) == 0 and hz and max(hz) <= 1000 and
           not slow_hz and len(hz) == len(probes) and peak - rss0 < 100)
    out['verdict'] = 'met' if met else 'NOT met'
    for k, v in out.items():
        print('%s=%s' % (k, v))


if __name__ == '__main__':
    main()
