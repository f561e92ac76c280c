#!/bin/sh
# bench/mpi_bench.sh — `make bench-mpi`: tongyuan dedup across MPI ranks (the MPI build) on
# scale_gen documents, exact, near and spun mode, against the single-process run of the same
# binary: wall time, documents per second, CPU seconds of all ranks (user + system, less
# sensitive than wall time to other load on a shared machine), shuffle bytes per document (from the run's
# "dedup: mpi:" line), and whether the output is byte-identical to the single-process one.
#
# usage: sh bench/mpi_bench.sh TONGYUAN_MPI SHARED_DIR
#   MPI_BENCH_DOCS=N        documents [1000000, as the issue asks]; generated once into build/
#                           with scale_gen.py (2 GB of plain JSONL in build/; about 3.5 minutes
#                           for exact and near on the 2-core dev machine, spun mode about 2
#                           minutes per run: 15-20 minutes in all; 100000 for a quick run)
#   MPI_BENCH_MODES=...     [exact near spun]     MPI_BENCH_RANKS=... [1 2 4]
#   MPI_BENCH_WEAK=0        skip the weak-scaling rows (N ranks on N/4 of the documents)
# Ranks above the machine's cores are oversubscribed (--oversubscribe): on a 2-core machine
# -np 4 measures overhead, not speed-up. Prints a table (also to bench/mpi_last.txt) and
# appends rows to bench/results.csv (commit, date, tool, metric, value), tool =
# dedup-mpi-MODE-npN.
set -eu
. "$(dirname "$0")/lib.sh"
bench_start 2 2 "sh bench/mpi_bench.sh TONGYUAN_MPI SHARED_DIR" "$@"
n=${MPI_BENCH_DOCS:-1000000}
case $n in 100000) syn=build/syn100k.jsonl.gz ;; 1000000) syn=build/syn1m.jsonl.gz ;;
    *) syn=build/syn$n.jsonl.gz ;; esac
mkdir -p build
if [ ! -s "$syn" ]; then
    echo "bench-mpi: generating $n scale_gen documents into $syn (once)"
    python3 "$shared/scale_gen.py" "$n" --out "$syn.tmp.gz" && mv "$syn.tmp.gz" "$syn"
fi
# decompress once: only an uncompressed JSONL file can be cut into byte ranges among ranks
plain=${syn%.gz}
[ -s "$plain" ] || { gzip -dc "$syn" > "$plain.tmp" && mv "$plain.tmp" "$plain"; }
python3 - "$bin" "$plain" "$n" "${MPI_BENCH_MODES:-exact near spun}" "${MPI_BENCH_RANKS:-1 2 4}" <<'PY'
import datetime, os, re, resource, subprocess, sys, time
binp, inp, n, modes, ranks = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(), sys.argv[5].split()
weak = os.environ.get('MPI_BENCH_WEAK', '1') == '1'
cores = os.cpu_count() or 1
try:
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True,
                            text=True).stdout.strip() or '-'
    if subprocess.run(['git', 'status', '--porcelain', '-uno'], capture_output=True,
                      text=True).stdout.strip():
        commit += '+dirty'
except OSError:
    commit = '-'
date = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
mpirun = ['mpirun', '--oversubscribe', '--allow-run-as-root']
rows, csv = [], []

def run(cmd, env=None):
    e = dict(os.environ)
    e.update(env or {})
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=e)
    w = time.time() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if p.returncode:
        sys.exit('bench-mpi: failed: %s\n%s' % (' '.join(cmd), p.stderr[-2000:]))
    return w, cpu, p.stderr

for mode in modes:
    ref = 'build/mpi_bench_%s_1.jsonl' % mode
    w, cpu, _ = run([binp, 'dedup', '--mode', mode, '--threads', '1', inp, '-o', ref])
    rows.append((mode, 'single, 1 thread', w, n / w, cpu, '-', 'reference'))
    csv.append(('dedup-mpi-%s-single' % mode, 'docs_per_s', '%.0f' % (n / w)))
    for np_ in ranks:
        out = 'build/mpi_bench_%s_np%s.jsonl' % (mode, np_)
        env = {'TY_MPI_FORCE': '1'} if np_ == '1' else None
        w, cpu, err = run(mpirun + ['-np', np_, binp, 'dedup', '--mode', mode, inp, '-o', out], env)
        m = re.search(r'shuffle ([0-9.]+) bytes/doc \(keys ([0-9.]+), pairs\+\w+ ([0-9.]+), '
                      r'gathered on rank 0 ([0-9.]+)\)', err)
        same = open(ref, 'rb').read() == open(out, 'rb').read()
        sh = '%s (keys %s, pairs %s, gather %s)' % m.groups() if m else '?'
        rows.append((mode, 'mpirun -np %s' % np_, w, n / w, cpu, sh, 'identical' if same else 'DIFFERS'))
        tool = 'dedup-mpi-%s-np%s' % (mode, np_)
        csv.append((tool, 'docs_per_s', '%.0f' % (n / w)))
        csv.append((tool, 'cpu_s_all_ranks', '%.1f' % cpu))
        if m:
            csv.append((tool, 'shuffle_bytes_per_doc', m.group(1)))
        os.remove(out)
    os.remove(ref)
    # weak scaling: N ranks on N/max(ranks) of the documents (the first ones), so that each
    # rank has the same share; on 2 cores only 1 -> 2 ranks can say anything
    top = max(int(r) for r in ranks)
    for np_ in ranks if weak else []:
        k = n * int(np_) // top
        part = 'build/mpi_bench_weak_%d.jsonl' % k
        with open(inp, 'rb') as f, open(part, 'wb') as g:
            for i, l in zip(range(k), f):
                g.write(l)
        out = 'build/mpi_bench_%s_weak%s.jsonl' % (mode, np_)
        env = {'TY_MPI_FORCE': '1'} if np_ == '1' else None
        w, cpu, err = run(mpirun + ['-np', np_, binp, 'dedup', '--mode', mode, part, '-o', out], env)
        rows.append((mode, 'weak -np %s, %dk' % (np_, k // 1000), w, k / w, cpu, '-', '-'))
        csv.append(('dedup-mpi-%s-weak-np%s' % (mode, np_), 'docs_per_s', '%.0f' % (k / w)))
        os.remove(out)
        os.remove(part)

lines = ['MPI dedup, %d scale_gen documents, %d cores (ranks over %d are oversubscribed), %s %s'
         % (n, cores, cores, commit, date),
         '%-6s %-18s %8s %10s %9s  %-44s %s' % ('mode', 'run', 'wall s', 'docs/s',
                                                'CPU s', 'shuffle B/doc', 'output')]
for r in rows:
    lines.append('%-6s %-18s %8.1f %10.0f %9.1f  %-44s %s' % r)
print('\n'.join(lines))
open('bench/mpi_last.txt', 'w').write('\n'.join(lines) + '\n')
with open('bench/results.csv', 'a') as f:
    for tool, metric, v in csv:
        f.write('%s,%s,%s,%s,%s\n' % (commit, date, tool, metric, v))
PY
