#!/bin/sh
# bench/dedup_bench.sh — `make bench-dedup`: tongyuan dedup in its three modes (exact, near,
# spun) at 1 and 2 threads on scale_gen documents, side by side: documents per second (wall
# clock), documents per CPU-second ("per core": user + system time of the process, which
# other load on the machine does not inflate the way it inflates wall time) and peak RSS.
#
# usage: sh bench/dedup_bench.sh TONGYUAN SHARED_DIR
#   DEDUP_BENCH_DOCS=N     documents [1000000]; generated once into build/ with scale_gen.py
#                          (two processes in parallel; about 7 minutes for a million)
#   DEDUP_BENCH_MODES=...  [exact near spun]   DEDUP_BENCH_THREADS=... [1 2]
#   DEDUP_BENCH_LAST=FILE  the table's copy [bench/dedup_last.txt]
# Prints a table (also to DEDUP_BENCH_LAST) and appends rows to bench/results.csv
# (commit, date, tool, metric, value), tool = dedup-MODE-tTHREADS.
set -eu
. "$(dirname "$0")/lib.sh"
bench_start 2 2 "sh bench/dedup_bench.sh TONGYUAN SHARED_DIR" "$@"
n=${DEDUP_BENCH_DOCS:-1000000}
. bench/syn.sh
syn_path "$n"
syn_make "$n" "$syn"
python3 - "$bin" "$syn" "$n" "${DEDUP_BENCH_MODES:-exact near spun}" \
    "${DEDUP_BENCH_THREADS:-1 2}" "${DEDUP_BENCH_LAST:-bench/dedup_last.txt}" <<'PY'
import datetime, os, subprocess, sys, time
binp, syn, n, modes, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(), sys.argv[5].split()
last = sys.argv[6]

def busy():
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6], sum(v[:8])

def run(args):
    b0, t0 = busy()
    w0 = time.time()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.time() - w0
    err = p.stderr.read().decode()
    p.stderr.close()
    b1, t1 = busy()
    if status != 0:
        sys.exit('bench-dedup: %s failed:\n%s' % (' '.join(args), err))
    cpu = ru.ru_utime + ru.ru_stime
    # share of the machine's CPU time used by others while this ran
    others = max(0.0, ((b1 - b0) - cpu * os.sysconf('SC_CLK_TCK')) / max(1, t1 - t0))
    return wall, cpu, ru.ru_maxrss / 1024.0, others, err.strip().splitlines()

rows, csv = [], []
commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True,
                        text=True).stdout.strip() or 'unknown'
if subprocess.run(['git', 'diff', '--quiet'], capture_output=True).returncode:
    commit += '+dirty'
date = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
print('dedup on %d scale_gen documents (%s, %.0f MB compressed), %d CPUs' %
      (n, syn, os.path.getsize(syn) / 1e6, os.cpu_count()))
print('%-11s %3s %9s %11s %15s %10s %8s  %s' % ('mode', 'thr', 'seconds', 'docs/s',
                                                'docs/CPU-s', 'peak MB', 'others', 'summary'))
for m in modes:
    for t in threads:
        wall, cpu, rss, others, err = run([binp, 'dedup', '--mode', m, '--threads', t, '-v',
                                           syn, '-o', '/dev/null'])
        summ = err[-2].split(';')[0].replace('dedup: ', '') if len(err) >= 2 else ''
        line = '%-11s %3s %9.1f %11.0f %15.0f %10.0f %7.0f%%  %s' % (
            m, t, wall, n / wall, n / cpu, rss, 100 * others, summ)
        print(line, flush=True)
        rows.append(line)
        tool = 'dedup-%s-t%s' % (m, t)
        csv += [(tool, 'docs_per_s', '%.0f' % (n / wall)),
                (tool, 'docs_per_cpu_s', '%.0f' % (n / cpu)),
                (tool, 'peak_rss_mb', '%.0f' % rss),
                (tool, 'other_cpus_busy', '%.2f' % others)]
with open(last, 'w') as f:
    f.write('dedup, %d scale_gen documents, %s\n' % (n, date))
    f.write('\n'.join(rows) + '\n')
new = not os.path.exists('bench/results.csv')
with open('bench/results.csv', 'a') as f:
    if new:
        f.write('commit,date,tool,metric,value\n')
    for tool, metric, value in csv:
        f.write('%s,%s,%s,%s,%s\n' % (commit, date, tool, metric, value))
PY
