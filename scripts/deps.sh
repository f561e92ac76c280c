#!/bin/sh
# scripts/deps.sh — install every Debian package needed to build, test, fuzz, eval and bench
# tongyuan on a fresh Debian 12 (bookworm). Idempotent and quiet: when every package is already
# installed (asked of dpkg-query) it does nothing and touches no network; otherwise it runs
# `apt-get update` once and installs the missing ones non-interactively. Uses sudo only when not
# run as root. Used by .ci/run; developers run it once on a new machine.
set -eu

# Why each one is here:
#   build-essential pkg-config   cc, make, ar; library flags (Makefile)
#   clang libclang-rt-14-dev     second compiler (-Werror clean on both); libFuzzer and the
#                                sanitizer runtimes for make fuzz / test-asan
#   libutf8proc-dev              Unicode data at run time (normalize.c) and build time
#   libopencc-dev opencc         Traditional→Simplified table generation (tools/mknormtab.c)
#   libxxhash-dev xxhash         hashing (index) and the read+hash bound in make bench
#   libjansson-dev               JSON/JSONL reading and writing
#   libcmocka-dev                unit-test framework
#   liblmdb-dev lmdb-utils       on-disk index; mdb_stat/mdb_dump for inspecting it
#   zlib1g-dev libzstd-dev       transparent decompression of inputs
#   libmicrohttpd-dev            the HTTP server front end
#   python3                      make eval (shared/score.py), scripts/eval_pairs.py
#   ssdeep tlsh-tools            peers (fuzzy hashes) in make bench
#   time hyperfine               peak RSS (/usr/bin/time -v) and repeated timings in make bench
#   chromium fonts-noto-cjk      make test-browser: the HTML report and service page in headless
#                                Chromium (driven by playwright-core from npm), with CJK fonts
#   nodejs npm                   to run playwright-core (skipped when node is already there)
#   wrk                          load generator for the service in make bench
#   libopenmpi-dev openmpi-bin   make MPI=1 / make test-mpi (mpirun -np 1,2,4)
#   curl                         tests/serve.sh and make test-browser talk to the service
#   zstd                         tests make .zst inputs (dedup.sh, index.sh)
#   procps                       pkill/ps in the tests (not in a minimal Debian root)
#   ca-certificates              npm (test-browser) reaches the registry over HTTPS
#   debootstrap                  make check-fresh: the README's commands in a minimal root
#   libuchardet-dev              telling the charset of text that is not UTF-8 (encoding.c);
#                                iconv (glibc) converts it
#   libxml2-dev                  HTML pages (its HTML parser, html.c) and the XML inside
#                                .docx/.odt files (docx.c)
#   libzip-dev                   opening .docx/.odt files (zip archives) from memory
#   libpoppler-glib-dev          PDF text in reading order, page by page (pdf.c)
#   poppler-data                 the CMaps poppler needs to read Chinese CID fonts back
#   python3-reportlab            tests/formats make a Chinese PDF (STSong-Light CID font)
#   python3-dev python3-cffi     the Python package (make test-python): headers and cffi to
#   python3-setuptools           build its extension, pip to install it without a package
#   python3-pip python3-pytest   index (--no-build-isolation), pytest to test it
# Every tool a test uses is here: a test never skips itself for a missing tool, it fails
# (tests/lib/cases.sh: need_tool).
PKGS="build-essential pkg-config clang libclang-rt-14-dev libutf8proc-dev libopencc-dev opencc
libxxhash-dev xxhash libjansson-dev libcmocka-dev liblmdb-dev lmdb-utils zlib1g-dev libzstd-dev
libmicrohttpd-dev python3 ssdeep tlsh-tools time hyperfine chromium fonts-noto-cjk wrk
libopenmpi-dev openmpi-bin curl zstd procps ca-certificates debootstrap libuchardet-dev
libxml2-dev libzip-dev libpoppler-glib-dev poppler-data python3-reportlab python3-dev
python3-cffi python3-setuptools python3-pip python3-pytest"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
    echo "deps: all $(echo "$PKGS" | wc -w) packages present"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps: not root and no sudo; install as root:$missing" >&2
    exit 1
fi

echo "deps: installing$missing"
# apt's chatter goes to a log, shown only if something fails
log=$(mktemp "${TMPDIR:-/tmp}/deps.XXXXXX")
trap 'rm -f "$log"' EXIT
# shellcheck disable=SC2086 # word splitting of the package list is wanted
if ! { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Use-Pty=0 $missing; } > "$log" 2>&1; then
    cat "$log" >&2
    echo "deps: apt-get failed" >&2
    exit 1
fi
echo "deps: done"
