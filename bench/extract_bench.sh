#!/bin/sh
# bench/extract_bench.sh — reading documents as people have them: extraction throughput per
# format, in MB/s of input, beside reading plain UTF-8 text (part "extract" of make bench).
#
# usage: sh bench/extract_bench.sh SHARED_DIR [CSV]
#   EXTRACT_BENCH_DOCS=N   documents per format [600, about 4 KB of text each]
#   EXTRACT_BENCH_REPS=N   runs per format, the best counts [3]
#   EXTRACT_BENCH_DIR      work directory [build/bench-extract]
#   CSV                    if given, one row per figure is appended (bench/results.csv format)
#
# 1. bench/extract_gen.py writes the same N documents (dev-set texts, three joined) as UTF-8,
#    GB18030, Big5 and UTF-16 text, HTML pages, .docx, .odt, .pdf and one .warc.gz of the
#    pages; made once, reused while the generators are unchanged.
# 2. bench/extract_bench.c (built here against build/libtongyuan.a, with the Makefile's link
#    flags) reads each format's directory through the library's reader — the path of index,
#    check and dedup, extraction included, tokenizing not — on one thread, best of REPS.
# Writes the table to bench/extract_last.txt.
set -eu
[ $# -ge 1 ] || { echo "usage: sh bench/extract_bench.sh SHARED_DIR [CSV]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$1" && pwd)
csv=${2:-}
case $csv in "" | /*) ;; *) csv=$(pwd)/$csv ;; esac
cd "$root"
n=${EXTRACT_BENCH_DOCS:-600}
reps=${EXTRACT_BENCH_REPS:-3}
dir=${EXTRACT_BENCH_DIR:-build/bench-extract}
mkdir -p "$dir"
export PYTHONDONTWRITEBYTECODE=1

# ---- 1. inputs (cached) -------------------------------------------------------------------
stamp="n=$n $(cat bench/extract_gen.py tests/lib/mkformats.py bench/spin.py | cksum)"
if [ "$(cat "$dir/STAMP" 2> /dev/null)" != "$stamp" ]; then
    echo "extract-bench: making $n documents in 9 formats in $dir/data"
    rm -rf "$dir/data" "$dir/STAMP"
    python3 bench/extract_gen.py "$shared/data/dev" "$dir/data" "$n"
    echo "$stamp" > "$dir/STAMP"
fi

# ---- 2. the reader ------------------------------------------------------------------------
make -s BUILD=build build/libtongyuan.a
# shellcheck disable=SC2016 # $($*) is make's, not the shell's
libs=$(make -s --no-print-directory --eval='ty-print-%: ; @printf "%s\n" "$($*)"' BUILD=build \
    ty-print-LIBS)
# shellcheck disable=SC2086 # link flags are split on purpose
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -o "$dir/extract_bench" \
    bench/extract_bench.c build/libtongyuan.a $libs

commit=$(git rev-parse --short HEAD 2> /dev/null || echo unknown)
git diff --quiet 2> /dev/null || commit="$commit+dirty"
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
out=$dir/last.txt
{
    echo "# extraction throughput ($date, $commit)"
    echo "# sh bench/extract_bench.sh: EXTRACT_BENCH_DOCS=$n, best of $reps, one thread; MB/s of input"
    echo "# (file bytes; the .warc.gz compressed), through ty_reader (no tokenizing);" \
        "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg 2> /dev/null || echo '?')"
    printf '%-22s %6s %9s %9s %8s %9s %8s %7s\n' format docs input_MB text_MB seconds MB/s \
        docs/s vs_text
} > "$out"
base=
for f in text gb18030 big5 utf16 html docx odt pdf warc; do
    r=$("$dir/extract_bench" "$reps" "$dir/data/$f")
    set -- $r
    bytes=$1 docs=$2 text=$3 skipped=$4 secs=$5
    mbs=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.1f", b / 1e6 / s }')
    [ -n "$base" ] || base=$mbs
    case $f in
    text) label="text (UTF-8, baseline)" ;;
    gb18030) label="text GB18030" ;;
    big5) label="text Big5" ;;
    utf16) label="text UTF-16 (BOM)" ;;
    warc) label="warc.gz (HTML records)" ;;
    *) label=$f ;;
    esac
    awk -v l="$label" -v d="$docs" -v b="$bytes" -v t="$text" -v s="$secs" -v m="$mbs" \
        -v base="$base" -v sk="$skipped" 'BEGIN {
        printf "%-22s %6d %9.2f %9.2f %8.3f %9s %8.0f %6.3fx%s\n", l, d, b / 1e6, t / 1e6, s, m,
            d / s, m / base, sk ? "  (" sk " skipped)" : "" }' >> "$out"
    if [ -n "$csv" ]; then
        echo "$commit,$date,extract-$f,mb_per_s,$mbs" >> "$csv"
    fi
done
cat "$out"
cp "$out" bench/extract_last.txt
