# bench/lib.sh — the start every benchmark script shares, sourced (sh: POSIX):
#
#   . "$(dirname "$0")/lib.sh"
#   bench_start 2 2 "sh bench/NAME.sh TONGYUAN SHARED_DIR" "$@"
#
# bench_start MIN MAX USAGE ARGS...: between MIN and MAX arguments TONGYUAN SHARED_DIR [CSV]
# (else the usage line on stderr and exit 2); sets root (the checkout), bin (TONGYUAN), shared
# (SHARED_DIR) and csv (CSV, or empty), each absolute as the caller named it, then changes to
# root: every script runs from the top of the checkout.
bench_start() {
    _min=$1 _max=$2 _usage=$3
    shift 3
    if [ $# -lt "$_min" ] || [ $# -gt "$_max" ]; then
        echo "usage: $_usage" >&2
        exit 2
    fi
    root=$(cd "$(dirname "$0")/.." && pwd)
    case $1 in /*) bin=$1 ;; *) bin=$(pwd)/$1 ;; esac
    shared=$(cd "$2" && pwd)
    csv=${3:-}
    case $csv in "" | /*) ;; *) csv=$(pwd)/$csv ;; esac
    cd "$root"
}
