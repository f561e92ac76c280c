#!/bin/sh
# bench/run.sh — `make bench`: tongyuan against ssdeep, tlsh and the read+hash bound.
#
# usage: sh bench/run.sh TONGYUAN SHARED_DIR      (make bench: build/tongyuan ../shared)
#
# 1. bench/gen.py makes the inputs once, deterministically (fixed seed), into build/bench/data:
#    1,000 sources of ~3,000 code points from SHARED_DIR/scale_gen.py, a machine-spun copy of
#    each (bench/spin.py) and 1,000 unrelated documents. A STAMP file caches them: a second run
#    reuses them unless gen.py, spin.py or scale_gen.py changed.
# 2. bench/measure.py times every tool on the same files (best of 3 runs, $BENCH_REPEAT to
#    change), prints the table, writes it to bench/last.txt and appends one row per figure
#    (commit, date, tool, metric, value) to bench/results.csv.
# Generated data stays under build/ (git-ignored). Peers missing from the machine are shown
# as "not installed" instead of failing: the Debian packages are ssdeep, tlsh-tools, xxhash and
# time (GNU time, for peak RSS). Takes well under a minute once the inputs exist.
set -eu
. "$(dirname "$0")/lib.sh"
bench_start 2 2 "sh bench/run.sh TONGYUAN SHARED_DIR" "$@"
[ -x "$bin" ] || { echo "bench: $bin is not an executable (run make first)" >&2; exit 2; }
[ -f "$shared/scale_gen.py" ] || { echo "bench: no $shared/scale_gen.py" >&2; exit 2; }
export PYTHONDONTWRITEBYTECODE=1
data=build/bench/data
case " ${BENCH_ONLY:-compare} " in *" compare "*)
python3 bench/gen.py "$shared" "$data"
python3 bench/measure.py --bin "$bin" --data "$data" --work build/bench/work \
    --last bench/last.txt --csv bench/results.csv ;;
esac

# 3. the other commands, each with its own script and report (bench/*_last.txt). BENCH_ONLY
#    (space-separated: compare index dedup serve hostile mpi extract) limits the run; sizes via each
#    script's environment variables (INDEX_BENCH_DOCS, DEDUP_BENCH_DOCS, SERVE_BENCH_DOCS,
#    SERVE_HOSTILE_DOCS, MPI_BENCH_DOCS, EXTRACT_BENCH_DOCS...). `hostile` is the service under hostile clients
#    on the loopback (bench/serve_hostile.sh, about 2 minutes). At the defaults (1,000,000
#    documents) this takes about 50 minutes on 2 cores. `mpi` builds the MPI binary
#    (build/mpi) and runs dedup at 1, 2 and 4 ranks; it is skipped, with a line saying so,
#    where Open MPI is not installed. `extract`: reading each input format (MB/s of input beside
#    plain UTF-8 text; bench/extract_last.txt). `python`: the Python package against the CLI
#    (bench/python_bench.py; bench/python_last.txt).
only=${BENCH_ONLY:-compare index dedup spans serve hostile mpi extract python}
for part in index dedup spans serve hostile mpi extract python; do
    case " $only " in *" $part "*) ;; *) continue ;; esac
    echo "== bench: $part"
    case $part in
    index) sh bench/index_bench.sh "$bin" "$shared" bench/results.csv ;;
    dedup) sh bench/dedup_bench.sh "$bin" "$shared" ;;
    spans) # passage-level cleaning beside dedup's other modes, same documents, 1 and 2 threads
        DEDUP_BENCH_MODES="${SPANS_BENCH_MODES:-exact near spun spans spans-exact}" \
            DEDUP_BENCH_DOCS="${SPANS_BENCH_DOCS:-${DEDUP_BENCH_DOCS:-1000000}}" \
            DEDUP_BENCH_LAST=bench/spans_last.txt sh bench/dedup_bench.sh "$bin" "$shared" ;;
    serve) sh bench/serve_bench.sh "$bin" "$shared" ;;
    hostile) sh bench/serve_hostile.sh "$bin" "$shared" bench/results.csv ;;
    extract) sh bench/extract_bench.sh "$shared" bench/results.csv ;;
    python) make -s test-python && sh bench/python_bench.sh "$(dirname "$bin")" "$shared" ;;
    mpi)
        if pkg-config --exists ompi-c && command -v mpirun > /dev/null 2>&1; then
            make -s MPI=1 BUILD=build/mpi all && sh bench/mpi_bench.sh build/mpi/tongyuan "$shared"
        else
            echo "bench: mpi skipped: no Open MPI (apt-get install libopenmpi-dev openmpi-bin)"
        fi ;;
    esac
done
