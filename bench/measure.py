#!/usr/bin/env python3
"""measure.py — time tongyuan and its peers on the pairs made by gen.py; print and record.

usage: measure.py --bin TONGYUAN --data DIR --work DIR --last FILE --csv FILE [--repeat R]

One run measures, on the same files (page cache warmed first, so every tool reads from RAM):
  tongyuan   `compare --pairs --format jsonl` with --threads 1 and 2, on the spun pairs and on
             the unrelated pairs; detected = distinct (src, sus) pairs in its JSONL output.
  ssdeep     context-triggered piecewise hashes; detected = match score > 0.
  tlsh       locality-sensitive hashes; detected = distance <= TLSH_T (100, the threshold most
             often quoted for "similar"; <= 50 is reported beside it).
  xxhsum -H3 read + hash every byte of the same files: the physical bound for any tool that must
             at least read its input.
Every timed command runs R times (default 3, or $BENCH_REPEAT), and short ones again until a
second was spent (at most 30 runs); the best wall time is kept (the least disturbed run). Peak
RSS is GNU time's %M (KiB), the highest over the runs; without /usr/bin/time the same figure
comes from wait4()'s rusage. The CPU time other processes used meanwhile is reported too: on a
shared machine every figure drops, and the report then says so.

How the peers are timed ("compare these N pairs", as fast as each tool fairly can):
  Neither ssdeep nor tlsh has a mode that takes a list of pairs. Running one process per pair
  (`ssdeep -d a b`, `tlsh -c a -f b`) would mostly measure process start-up, and their
  one-against-all modes compare N x N. So each tool hashes all 2N files of the pairs in one
  process (ssdeep: one call with every file; tlsh: `-r` on the src/ and sus/ folders, which hold
  exactly those files) — that is where nearly all the work is — and the N digest comparisons
  are charged pro rata from the tool's own all-against-all run: ssdeep `-k src.sigs sus.sigs`
  does N*N comparisons, so N of them cost T/N; tlsh `-xref -l` over the 2N digests does
  2N(2N-1)/2. Those runs also give the scores, computed by the tools themselves (no port of
  their scoring code here). The pro-rated comparison cost is well under a millisecond; the
  figure is the hashing time plus that.
Standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

TLSH_T = 100
TLSH_T2 = 50
GNU_TIME = '/usr/bin/time'


class Run:
    """Best wall time (s) and peak RSS (KiB) of a command repeated R times."""

    def __init__(self, wall, rss, rc):
        self.wall, self.rss, self.rc = wall, rss, rc


def run_once(cmd, stdout_path):
    """Run cmd with stdout to stdout_path; return (wall seconds, peak RSS KiB, exit code)."""
    with open(stdout_path, 'wb') as out:
        if os.access(GNU_TIME, os.X_OK):
            fd, tpath = tempfile.mkstemp(prefix='bench-time-')
            os.close(fd)
            t0 = time.perf_counter()
            p = subprocess.run([GNU_TIME, '-f', '%M', '-o', tpath] + cmd, stdout=out,
                               stderr=subprocess.PIPE)
            wall = time.perf_counter() - t0
            with open(tpath) as f:
                lines = [x for x in f.read().split('\n') if x.strip()]
            os.unlink(tpath)
            # GNU time writes "Command exited with non-zero status N" before the figure
            rss = int(lines[-1]) if lines and lines[-1].strip().isdigit() else 0
        else:
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
            p.returncode = os.waitstatus_to_exitcode(status)
            p.stderr.read()
            rss = ru.ru_maxrss
    return wall, rss, p.returncode


def timed(cmds, stdout_paths, repeat, ok=(0,), min_total=1.0, max_runs=30):
    """Run a job (a sequence of commands) at least `repeat` times and, for short jobs, until
    `min_total` seconds were spent (at most `max_runs` times): a 20 ms run is mostly noise on
    its own. Returns the best total wall time and the highest peak RSS."""
    best, peak, rc, runs, spent = None, 0, 0, 0, 0.0
    while runs < repeat or (spent < min_total and runs < max_runs):
        total = 0.0
        for cmd, outp in zip(cmds, stdout_paths):
            w, r, rc = run_once(cmd, outp)
            if rc not in ok:
                sys.exit('bench: %s exited %d' % (' '.join(cmd[:3]), rc))
            total += w
            peak = max(peak, r)
        best = total if best is None else min(best, total)
        runs += 1
        spent += total
    return Run(best, peak, rc)


def read_pairs(path):
    with open(path) as f:
        return [tuple(x.rstrip('\n').split('\t')) for x in f if x.strip()]


def pair_bytes(pairs):
    return sum(os.path.getsize(s) + os.path.getsize(u) for s, u in pairs)


def b(path):
    return os.path.basename(path)


# ---------------------------------------------------------------- tongyuan

def tongyuan_found(jsonl):
    """Distinct (src, sus) basenames in tongyuan's JSONL output."""
    found = set()
    with open(jsonl, encoding='utf-8') as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                found.add((b(d['src']), b(d['sus'])))
    return found


def coverage(pairs, jsonl):
    """Mean share of each suspect's code points inside tongyuan's passages (capped at 1)."""
    cov = {}
    with open(jsonl, encoding='utf-8') as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                k = (b(d['src']), b(d['sus']))
                cov[k] = cov.get(k, 0) + d['sus_len']
    tot = 0.0
    for s, u in pairs:
        with open(u, encoding='utf-8') as f:
            n = len(f.read())
        tot += min(1.0, cov.get((b(s), b(u)), 0) / n) if n else 0.0
    return tot / len(pairs) if pairs else 0.0


def count_hits(pairs, found):
    keys = {(b(s), b(u)) for s, u in pairs}
    return len(keys & found)


# ---------------------------------------------------------------- ssdeep

SS_LINE = re.compile(r'^(?:\S*?:)?(\S+) matches (?:\S*?:)?(\S+) \((\d+)\)$')


def ssdeep_split(sigs_path, groups):
    """Split one ssdeep output into one signature file per group of basenames."""
    with open(sigs_path, encoding='utf-8', errors='replace') as f:
        lines = f.read().split('\n')
    head, body = lines[0], [x for x in lines[1:] if x]
    out = []
    for name, members in groups:
        keep = [x for x in body if b(x.rsplit(',', 1)[1].strip('"')) in members]
        with open(name, 'w', encoding='utf-8') as f:
            f.write(head + '\n' + '\n'.join(keep) + '\n')
        out.append(name)
    return out


def ssdeep_scores(match_out):
    """{(src basename, sus basename): score} from `ssdeep -k A B` output (score > 0 only)."""
    sc = {}
    with open(match_out, encoding='utf-8', errors='replace') as f:
        for line in f:
            m = SS_LINE.match(line.strip())
            if m:
                sus, src, s = b(m.group(1)), b(m.group(2)), int(m.group(3))
                sc[(src, sus)] = max(s, sc.get((src, sus), 0))
    return sc


# ---------------------------------------------------------------- tlsh

def tlsh_dist(xref_out):
    """{frozenset(a, b): distance} from `tlsh -xref -l LIST -T t` output."""
    d = {}
    with open(xref_out, encoding='utf-8', errors='replace') as f:
        for line in f:
            p = line.rstrip('\n').split('\t')
            if len(p) == 3 and p[2].strip().isdigit():
                d[frozenset((b(p[0]), b(p[1])))] = int(p[2])
    return d


def tlsh_hits(pairs, dist, t):
    return sum(1 for s, u in pairs if dist.get(frozenset((b(s), b(u))), 10 ** 9) <= t)


# ---------------------------------------------------------------- report

def fmt_rss(kib):
    return '%.1f MB' % (kib / 1024) if kib else '-'


def git_commit():
    """HEAD's short hash, with "+dirty" when files outside bench/ differ from it (then the
    binary measured is probably not HEAD's)."""
    def git(*args):
        return subprocess.run(['git'] + list(args), check=True, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL).stdout.decode().strip()
    try:
        h = git('rev-parse', '--short', 'HEAD')
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'
    try:
        if git('status', '--porcelain', '--', '.', ':(exclude)bench'):
            h += '+dirty'
    except subprocess.CalledProcessError:
        pass
    return h


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_jiffies():
    """(non-idle, total) clock ticks of all CPUs so far, from /proc/stat; None if unknown."""
    try:
        with open('/proc/stat') as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
        return sum(v) - idle, sum(v)
    except (OSError, ValueError, IndexError):
        return None


def own_cpu():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OtherLoad:
    """CPUs' worth of time that other processes used between start() and busy(): the whole
    machine's busy time less ours and our children's. On a shared machine (a fuzzer or a
    build next door) every figure drops, the multi-thread ones most; the report says so."""

    def start(self):
        self.j, self.own, self.t = cpu_jiffies(), own_cpu(), time.perf_counter()
        return self

    def busy(self):
        j = cpu_jiffies()
        if not j or not self.j:
            return None
        hz = os.sysconf('SC_CLK_TCK')
        other = (j[0] - self.j[0]) / hz - (own_cpu() - self.own)
        return max(0.0, other / (time.perf_counter() - self.t))


def version(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return p.stdout.decode(errors='replace').strip().split('\n')[0].strip()
    except OSError:
        return '?'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('--data', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--last', required=True)
    ap.add_argument('--csv', required=True)
    ap.add_argument('--repeat', type=int, default=int(os.environ.get('BENCH_REPEAT', '3')))
    a = ap.parse_args()
    R = max(1, a.repeat)
    load = OtherLoad().start()
    D, W = a.data, a.work
    os.makedirs(W, exist_ok=True)
    spun = read_pairs(os.path.join(D, 'pairs-spun.tsv'))
    unrel = read_pairs(os.path.join(D, 'pairs-unrel.tsv'))
    pool = read_pairs(os.path.join(D, 'pairs-pool.tsv'))
    N = len(spun)
    spun_files = [p for pr in spun for p in pr]
    mb_spun = pair_bytes(spun) / 1e6
    mb_unrel = pair_bytes(unrel) / 1e6
    for p in {p for pr in spun + unrel for p in pr}:  # warm the page cache
        with open(p, 'rb') as f:
            f.read()

    rows = []   # (tool label, pairs/s, MB/s, detected spun, flagged unrelated, rss KiB)
    csv = []    # (tool, metric, value)
    notes = []

    # --- tongyuan
    ty = {}
    for t in (1, 2):
        outs, runs = {}, {}
        for name, pairs in (('spun', spun), ('unrel', unrel)):
            outp = os.path.join(W, 'tongyuan-%s-t%d.jsonl' % (name, t))
            cmd = [a.bin, 'compare', '--pairs', os.path.join(D, 'pairs-%s.tsv' % name),
                   '--format', 'jsonl', '--threads', str(t)]
            runs[name] = timed([cmd], [outp], R, ok=(0, 1))
            outs[name] = outp
        det = count_hits(spun, tongyuan_found(outs['spun']))
        fp = count_hits(unrel, tongyuan_found(outs['unrel']))
        r = runs['spun']
        rss = max(r.rss, runs['unrel'].rss)
        ty[t] = (r, runs['unrel'], outs, det, fp)
        label = 'tongyuan --threads %d' % t
        rows.append((label, N / r.wall, mb_spun / r.wall, det, fp, rss))
        tool = 'tongyuan-t%d' % t
        csv += [(tool, 'pairs_per_s', '%.0f' % (N / r.wall)),
                (tool, 'mb_per_s', '%.1f' % (mb_spun / r.wall)),
                (tool, 'wall_s', '%.4f' % r.wall),
                (tool, 'unrel_pairs_per_s', '%.0f' % (N / runs['unrel'].wall)),
                (tool, 'detected_spun', det), (tool, 'flagged_unrelated', fp),
                (tool, 'peak_rss_kb', rss)]
    same = all(open(ty[1][2][k], 'rb').read() == open(ty[2][2][k], 'rb').read()
               for k in ('spun', 'unrel'))
    if not same:
        notes.append('WARNING: tongyuan output differs between --threads 1 and 2')
    found1 = tongyuan_found(ty[1][2]['spun'])
    missed = [(s, u) for s, u in spun if (b(s), b(u)) not in found1]
    cov = coverage(spun, ty[1][2]['spun'])
    csv.append(('tongyuan-t1', 'spun_sus_coverage', '%.3f' % cov))
    # one-shot latency: `tongyuan compare SRC SUS`, one process per spun pair (start-up included)
    lat = []
    for s_, u_ in spun:
        t0 = time.perf_counter()
        p = subprocess.run([a.bin, 'compare', '--format', 'jsonl', s_, u_],
                           stdout=subprocess.DEVNULL)
        if p.returncode not in (0, 1):
            sys.exit('bench: tongyuan compare %s %s exited %d' % (s_, u_, p.returncode))
        lat.append(1000 * (time.perf_counter() - t0))
    lat.sort()
    pct = {q: lat[min(len(lat) - 1, int(q / 100 * len(lat)))] for q in (50, 90, 99)}
    csv += [('tongyuan-1pair', 'latency_p%d_ms' % q, '%.2f' % v) for q, v in pct.items()]
    # same-pool mosaics: informational (they do share pool sentences, see gen.py)
    pool_out = os.path.join(W, 'tongyuan-pool.jsonl')
    timed([[a.bin, 'compare', '--pairs', os.path.join(D, 'pairs-pool.tsv'), '--format', 'jsonl',
            '--threads', '2']], [pool_out], 1, ok=(0, 1), min_total=0)
    pool_hits = count_hits(pool, tongyuan_found(pool_out))
    csv.append(('tongyuan-t2', 'flagged_same_pool', pool_hits))

    # --- ssdeep
    ss_note = None
    if shutil.which('ssdeep'):
        sigs = os.path.join(W, 'ssdeep-all.sigs')
        h = timed([['ssdeep', '-s', '-l'] + spun_files], [sigs], R)
        srcset = {b(s) for s, _ in spun}
        sus_set = {b(u) for _, u in spun}
        src_sigs, sus_sigs = ssdeep_split(sigs, [(os.path.join(W, 'ssdeep-src.sigs'), srcset),
                                                 (os.path.join(W, 'ssdeep-sus.sigs'), sus_set)])
        mout = os.path.join(W, 'ssdeep-match.txt')
        m = timed([['ssdeep', '-s', '-k', src_sigs, sus_sigs]], [mout], R)
        wall = h.wall + m.wall / N   # N*N comparisons ran; N of them are ours
        sc = ssdeep_scores(mout)
        det = sum(1 for s, u in spun if sc.get((b(s), b(u)), 0) > 0)
        # unrelated pairs: hash the other documents too (untimed) and match against sources
        osigs = os.path.join(W, 'ssdeep-oth.sigs')
        timed([['ssdeep', '-s', '-l'] + [u for _, u in unrel]], [osigs], 1, min_total=0)
        uout = os.path.join(W, 'ssdeep-match-unrel.txt')
        timed([['ssdeep', '-s', '-k', src_sigs, osigs]], [uout], 1, min_total=0)
        usc = ssdeep_scores(uout)
        fp = sum(1 for s, u in unrel if usc.get((b(s), b(u)), 0) > 0)
        rss = max(h.rss, m.rss)
        rows.append(('ssdeep (score > 0)', N / wall, mb_spun / wall, det, fp, rss))
        csv += [('ssdeep', 'pairs_per_s', '%.0f' % (N / wall)),
                ('ssdeep', 'mb_per_s', '%.1f' % (mb_spun / wall)),
                ('ssdeep', 'wall_s', '%.4f' % wall), ('ssdeep', 'detected_spun', det),
                ('ssdeep', 'flagged_unrelated', fp), ('ssdeep', 'peak_rss_kb', rss)]
        ss_note = ('ssdeep: hashing %.3f s + %d comparisons pro rata %.4f s (all %d x %d took '
                   '%.3f s)' % (h.wall, N, m.wall / N, N, N, m.wall))
    else:
        rows.append(('ssdeep: not installed (apt-get install ssdeep)',) + (None,) * 5)

    # --- tlsh
    tl_note = None
    src_dir, sus_dir = {os.path.dirname(s) for s, _ in spun}, {os.path.dirname(u) for _, u in spun}
    if shutil.which('tlsh') and len(src_dir) == 1 and len(sus_dir) == 1:
        src_dir, sus_dir = src_dir.pop(), sus_dir.pop()
        oth_dir = {os.path.dirname(u) for _, u in unrel}.pop()
        for d, want in ((src_dir, {b(s) for s, _ in spun}), (sus_dir, {b(u) for _, u in spun})):
            if set(os.listdir(d)) != want:
                sys.exit('bench: %s must hold exactly the files of the pairs (tlsh -r)' % d)
        ts, tu = os.path.join(W, 'tlsh-src.txt'), os.path.join(W, 'tlsh-sus.txt')
        h = timed([['tlsh', '-r', src_dir], ['tlsh', '-r', sus_dir]], [ts, tu], R)
        lst = os.path.join(W, 'tlsh-spun.list')
        with open(lst, 'w') as f:
            f.write(open(ts).read() + open(tu).read())
        xout = os.path.join(W, 'tlsh-xref-spun.txt')
        x = timed([['tlsh', '-xref', '-l', lst, '-T', str(TLSH_T)]], [xout], R)
        n2 = 2 * N
        wall = h.wall + x.wall * N / (n2 * (n2 - 1) / 2)
        dist = tlsh_dist(xout)
        det, det2 = tlsh_hits(spun, dist, TLSH_T), tlsh_hits(spun, dist, TLSH_T2)
        to = os.path.join(W, 'tlsh-oth.txt')
        timed([['tlsh', '-r', oth_dir]], [to], 1, min_total=0)
        ulst = os.path.join(W, 'tlsh-unrel.list')
        with open(ulst, 'w') as f:
            f.write(open(ts).read() + open(to).read())
        uout = os.path.join(W, 'tlsh-xref-unrel.txt')
        timed([['tlsh', '-xref', '-l', ulst, '-T', str(TLSH_T)]], [uout], 1, min_total=0)
        udist = tlsh_dist(uout)
        fp, fp2 = tlsh_hits(unrel, udist, TLSH_T), tlsh_hits(unrel, udist, TLSH_T2)
        rss = max(h.rss, x.rss)
        rows.append(('tlsh (distance <= %d)' % TLSH_T, N / wall, mb_spun / wall, det, fp, rss))
        csv += [('tlsh', 'pairs_per_s', '%.0f' % (N / wall)),
                ('tlsh', 'mb_per_s', '%.1f' % (mb_spun / wall)), ('tlsh', 'wall_s', '%.4f' % wall),
                ('tlsh', 'detected_spun_T%d' % TLSH_T, det),
                ('tlsh', 'flagged_unrelated_T%d' % TLSH_T, fp),
                ('tlsh', 'detected_spun_T%d' % TLSH_T2, det2),
                ('tlsh', 'flagged_unrelated_T%d' % TLSH_T2, fp2), ('tlsh', 'peak_rss_kb', rss)]
        tl_note = ('tlsh: hashing %.3f s + %d comparisons pro rata %.5f s; at distance <= %d: '
                   '%d/%d spun detected, %d/%d unrelated flagged'
                   % (h.wall, N, wall - h.wall, TLSH_T2, det2, N, fp2, N))
    else:
        rows.append(('tlsh: not installed (apt-get install tlsh-tools)',) + (None,) * 5)

    # --- read + hash bound
    xx = None
    if shutil.which('xxhsum'):
        xo = os.path.join(W, 'xxhsum.txt')
        xx = timed([['xxhsum', '-H3'] + spun_files], [xo], R)
        rows.append(('xxhsum -H3 (read+hash)', N / xx.wall, mb_spun / xx.wall, None, None, xx.rss))
        csv += [('xxhsum', 'pairs_per_s', '%.0f' % (N / xx.wall)),
                ('xxhsum', 'mb_per_s', '%.1f' % (mb_spun / xx.wall)),
                ('xxhsum', 'wall_s', '%.4f' % xx.wall), ('xxhsum', 'peak_rss_kb', xx.rss)]
        for t in (1, 2):
            ratio = ty[t][0].wall / xx.wall
            csv.append(('tongyuan-t%d' % t, 'x_read_hash', '%.1f' % ratio))
    else:
        rows.append(('xxhsum: not installed (apt-get install xxhash)',) + (None,) * 5)

    # --- print, last.txt, results.csv
    busy = load.busy()
    if busy is not None:
        csv.append(('machine', 'other_cpus_busy', '%.2f' % busy))
    commit = git_commit()
    date = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    out = []
    out.append('tongyuan bench  commit %s  %s' % (commit, date))
    out.append('machine: %s, %d CPUs, %s %s; best of >= %d runs, page cache warm' % (
        cpu_model(), os.cpu_count() or 0, platform.system(), platform.release(), R))
    if busy is not None:
        out.append('other processes kept %.2f of %d CPUs busy during the run%s' % (
            busy, os.cpu_count() or 0,
            ' (WARNING: figures are low, multi-thread ones most)' if busy > 0.2 else ''))
    chars = [int(x.split('\t')[2]) for x in open(os.path.join(D, 'manifest.tsv'))
             .read().split('\n')[1:] if x]
    rates = [float(x.split('\t')[4]) for x in open(os.path.join(D, 'manifest.tsv'))
             .read().split('\n')[1:] if x]
    out.append('input: %d spun pairs (%.1f MB, sources %d..%d code points, %.0f%% of 2-char '
               'tokens replaced on average) + %d unrelated pairs (%.1f MB), in %s'
               % (N, mb_spun, min(chars), max(chars), 100 * sum(rates) / len(rates),
                  len(unrel), mb_unrel, D))
    out.append('')
    hdr = '%-26s %9s %8s %14s %18s %10s' % ('tool', 'pairs/s', 'MB/s', 'detected spun',
                                            'flagged unrelated', 'peak RSS')
    out.append(hdr)
    out.append('-' * len(hdr))
    for label, ps, mbs, det, fp, rss in rows:
        if ps is None:
            out.append(label)
            continue
        out.append('%-26s %9.0f %8.1f %14s %18s %10s' % (
            label, ps, mbs, '-' if det is None else '%d/%d' % (det, N),
            '-' if fp is None else '%d/%d' % (fp, len(unrel)), fmt_rss(rss)))
    out.append('')
    if xx:
        out.append('tongyuan is within %.1fx (1 thread) / %.1fx (2 threads) of read+hash '
                   '(xxhsum -H3 over the same %d files)'
                   % (ty[1][0].wall / xx.wall, ty[2][0].wall / xx.wall, 2 * N))
    out.append('tongyuan on the unrelated pairs: %.0f pairs/s (1 thread), %.0f pairs/s (2 threads)'
               % (N / ty[1][1].wall, N / ty[2][1].wall))
    out.append('tongyuan latency for one pair, one process each (start-up included): p50 %.1f ms, '
               'p90 %.1f ms, p99 %.1f ms' % (pct[50], pct[90], pct[99]))
    out.append('tongyuan output identical for --threads 1 and 2: %s' % ('yes' if same else 'NO'))
    out.append('tongyuan passages cover %.1f%% of each spun suspect on average (title line, '
               'spam and indentation included in the denominator)' % (100 * cov))
    out.append('same-pool source pairs (scale_gen mosaics that share pool sentences; real shared '
               'text, not counted above): tongyuan flags %d/%d' % (pool_hits, len(pool)))
    if missed:
        out.append('tongyuan missed %d spun pairs, e.g. %s'
                   % (len(missed), '; '.join('%s %s' % p for p in missed[:3])))
    for n in (ss_note, tl_note):
        if n:
            out.append(n)
    out += notes
    out.append('versions: %s; ssdeep %s; tlsh %s; %s' % (
        version([a.bin, '--version']), version(['ssdeep', '-V']), version(['tlsh', '-version']),
        version(['xxhsum', '-V'])))
    text = '\n'.join(out) + '\n'
    sys.stdout.write(text)
    with open(a.last, 'w', encoding='utf-8') as f:
        f.write(text)
    new = not os.path.exists(a.csv) or os.path.getsize(a.csv) == 0
    with open(a.csv, 'a', encoding='utf-8') as f:
        if new:
            f.write('commit,date,tool,metric,value\n')
        for tool, metric, value in csv:
            f.write('%s,%s,%s,%s,%s\n' % (commit, date, tool, metric, value))


if __name__ == '__main__':
    main()
