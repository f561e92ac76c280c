#!/bin/sh
# tests/cli.sh — end-to-end tests of the tongyuan command (called by tests/run.sh).
#
#   TY=build/tongyuan sh tests/cli.sh        run from anywhere; works in the repository root
#   TY_UPDATE_GOLDEN=1 TY=... sh tests/cli.sh   rewrite the golden outputs from this binary
#                                               (then read the diff before committing it)
#
# 1. Golden files: each tests/data/NNNN/ holds `cmd` (a shell command line run from the
#    repository root, $TY being the binary), `out` (its expected standard output, compared
#    byte for byte) and optionally `status` (expected exit status, default 0), `err` (expected
#    standard error) and `in` (standard input, default /dev/null).
# 2. Checks that are not a fixed output: exit statuses, --version and --help, standard input,
#    JSONL fields and offsets (byte offsets must slice out of the files the same text as the
#    code point offsets; checked with python3), --pairs output independent of --threads, bad
#    pairs files, colour only on a terminal, the HTML report's escaping.
# 3. Bad input end to end: invalid UTF-8 (tests/corrupt/), NUL bytes, an empty file, a copy of
#    /bin/ls, a missing path, a directory, a 200 MB file. Each must give exit 2 (the empty file:
#    1, nothing found) and one line on stderr naming the file; never a crash or a hang (every
#    call runs under `timeout 60`).
#
# Prints a FAIL line per failed case and ends with "N passed, N failed"; exits 1 on failure.
# POSIX sh.

set -u
cd "$(dirname "$0")/.." || exit 2

TY=${TY:-build/tongyuan}
case $TY in /*) ;; *) TY=$PWD/$TY ;; esac
export TY
if [ ! -x "$TY" ]; then
    echo "cli.sh: $TY is not an executable (build it first)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
# Messages from strerror() in English; no colour unless a test asks for it.
LC_ALL=C
export LC_ALL
unset NO_COLOR

D=tests/data/text
C=tests/corrupt
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ty_cli.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' HUP INT PIPE TERM
ESC=$(printf '\033')

# case_begin / expect / case_end and run: tests/lib/cases.sh
. tests/lib/cases.sh
status_is() { [ "$rc" -eq "$1" ]; }
no_crash() { [ "$rc" -lt 124 ]; } # 124: timeout; 125-127: timeout/exec failures; >= 128: signal
lines() { wc -l < "$1" | tr -d ' '; }
err_lines_are() { [ "$(lines "$tmp/err")" -eq "$1" ]; }
err_has() { grep -qF -- "$1" "$tmp/err"; }
out_has() { grep -qF -- "$1" "$tmp/out"; }
out_empty() { [ ! -s "$tmp/out" ]; }
err_empty() { [ ! -s "$tmp/err" ]; }
no_escapes() { ! grep -q "$ESC" "$1"; }
has_escapes() { grep -q "$ESC" "$1"; }
same_file() { cmp -s "$1" "$2"; }
lacks() { ! grep -qF -- "$2" "$1"; } # FILE does not contain STRING

# ---- 1. golden files -------------------------------------------------------------------------
for dir in tests/data/[0-9][0-9][0-9][0-9]; do
    [ -f "$dir/cmd" ] || continue
    case_begin "golden $dir: $(head -n 1 "$dir/cmd")"
    want=0
    [ -f "$dir/status" ] && want=$(cat "$dir/status")
    [ -f "$dir/in" ] && stdin=$dir/in
    run sh -c "$(cat "$dir/cmd")"
    if [ "${TY_UPDATE_GOLDEN:-}" = 1 ]; then
        cp "$tmp/out" "$dir/out"
        if [ "$rc" -ne 0 ]; then echo "$rc" > "$dir/status"; else rm -f "$dir/status"; fi
        [ -f "$dir/err" ] && cp "$tmp/err" "$dir/err"
        want=$rc
        echo "updated $dir"
    fi
    expect "no crash or hang (exit $rc)" no_crash
    expect "exit status $want, got $rc" status_is "$want"
    expect "stdout equal to $dir/out" same_file "$tmp/out" "$dir/out"
    if ! cmp -s "$tmp/out" "$dir/out"; then
        diff -u "$dir/out" "$tmp/out" 2> /dev/null | head -n 20 | sed 's/^/      /'
    fi
    if [ -f "$dir/err" ]; then
        expect "stderr equal to $dir/err" same_file "$tmp/err" "$dir/err"
    fi
    case_end
done

# ---- 2. the command line ---------------------------------------------------------------------
version=$(sed -n 's/^#define TY_VERSION_STRING "\(.*\)"$/\1/p' include/tongyuan.h)

case_begin "--version"
run "$TY" --version
expect "exit 0" status_is 0
expect "'tongyuan $version' on stdout" out_has "tongyuan $version"
expect "one line" [ "$(lines "$tmp/out")" -eq 1 ]
expect "nothing on stderr" err_empty
case_end

case_begin "--help"
run "$TY" --help
expect "exit 0" status_is 0
expect "mentions compare" out_has "compare"
case_end

case_begin "compare --help"
run "$TY" compare --help
expect "exit 0" status_is 0
expect "mentions --pairs" out_has "--pairs"
expect "mentions --format" out_has "--format"
expect "mentions the exit statuses" out_has "Exit status"
expect "nothing on stderr" err_empty
case_end

case_begin "no arguments: usage, exit 2"
run "$TY"
expect "exit 2" status_is 2
expect "usage on stderr" err_has "Usage"
expect "nothing on stdout" out_empty
case_end

# usage_error NAME ARGS...: exit 2, one line on stderr containing the first word of NAME
usage_error() {
    name=$1
    shift
    case_begin "bad usage: $name"
    run "$TY" "$@"
    expect "exit 2, got $rc" status_is 2
    expect "one line on stderr" err_lines_are 1
    expect "stderr names '$name'" err_has "$name"
    expect "nothing on stdout" out_empty
    case_end
}
usage_error frobnicate frobnicate
usage_error --bogus compare --bogus $D/src-00393.txt $D/sus-00068.txt
usage_error -k compare -k 1 $D/src-00393.txt $D/sus-00068.txt
usage_error -k compare -k x $D/src-00393.txt $D/sus-00068.txt
usage_error --min-score compare --min-score 2 $D/src-00393.txt $D/sus-00068.txt
usage_error --format compare --format xml $D/src-00393.txt $D/sus-00068.txt
usage_error --threads compare --threads 0 --pairs /dev/null
usage_error --max-size compare --max-size 0 $D/src-00393.txt $D/sus-00068.txt
usage_error --invalid-utf8 compare --invalid-utf8 ignore $D/src-00393.txt $D/sus-00068.txt
usage_error third compare $D/src-00393.txt $D/sus-00068.txt third
usage_error "'-'" compare - -

# the option tables (src/args.c): one message shape for every command, the command named
# err_is TEXT: stderr is exactly the line TEXT
err_is() { [ "$(cat "$tmp/err")" = "$1" ]; }
case_begin "check: a bad number is named with its range and the command"
run "$TY" check -x "$tmp/none.idx" --threads x $D/sus-00068.txt
expect "exit 2" status_is 2
expect "the message" err_is "tongyuan check: --threads: expected a whole number between 1 and 1024, got 'x'"
case_end
case_begin "check and dedup: the library's ranges are the flags' (one table each)"
run "$TY" check -x "$tmp/none.idx" --max-df-frac 1 $D/sus-00068.txt
expect "exit 2" status_is 2
expect "the library's rule, the flag named" err_is "tongyuan check: --max-df-frac must be below 1"
run "$TY" dedup --max-df 0 $D/sus-00068.txt
expect "exit 2" status_is 2
expect "dedup's range" err_is "tongyuan dedup: --max-df: expected a whole number between 1 and 100000000, got '0'"
case_end
case_begin "dedup: an unknown option names the closest one"
run "$TY" dedup --treshold 0.5 $D/sus-00068.txt
expect "exit 2" status_is 2
expect "the suggestion" err_is "tongyuan dedup: unknown option '--treshold'; did you mean --threshold? (see tongyuan dedup --help)"
case_end
case_begin "index build: an option of index add is unknown there"
run "$TY" index build --commit-every 5 -o "$tmp/x.idx" $D/src-00393.txt
expect "exit 2" status_is 2
expect "the message" err_has "tongyuan index build: unknown option '--commit-every'"
expect "no index written" [ ! -e "$tmp/x.idx" ]
case_end
case_begin "a missing value"
run "$TY" extract $D/src-00393.txt --format
expect "exit 2" status_is 2
expect "the message" err_is "tongyuan extract: --format: needs a value"
expect "nothing on stdout" out_empty
case_end
case_begin "--opt=value and --opt value give the same output; -- ends the options"
run "$TY" compare --format=jsonl --min-score=0.3 -k=4 $D/src-00387.txt $D/sus-00243.txt
cp "$tmp/out" "$tmp/eq.out"
run "$TY" compare --format jsonl --min-score 0.3 -k 4 -- $D/src-00387.txt $D/sus-00243.txt
expect "exit 0" status_is 0
expect "passages found" out_has '"score"'
expect "the same JSONL" same_file "$tmp/out" "$tmp/eq.out"
case_end
# --help is written by hand: every option of a command's table (and of the library's tables
# it includes: src/args.c) must be in it
table_names() { grep -o 'TY_ARG_[A-Z]*("[-a-z0-9]*"' "$@" | sed 's/.*("//; s/"$//' | sort -u; }
sed -n '/^void ty_opts_args/,/^}/p' src/args.c > "$tmp/align.c"
sed -n '/^void ty_reader_opts_args/,/^}/p' src/args.c > "$tmp/reader.c"
for spec in "check:cli/check.c $tmp/align.c $tmp/reader.c" "compare:cli/compare.c $tmp/align.c" \
    "extract:cli/extract.c $tmp/reader.c" "dedup:cli/dedup.c $tmp/align.c $tmp/reader.c" \
    "index build:cli/index.c $tmp/reader.c" "serve:server/serve.c $tmp/align.c"; do
    cmd=${spec%%:*}
    case_begin "$cmd --help names every option of its table"
    run "$TY" $cmd --help
    for n in $(table_names ${spec#*:}); do
        expect "$n in the help" out_has "$n"
    done
    case_end
done
case_begin "--help ends the options: what follows is not read"
run "$TY" extract --help --bogus
expect "exit 0" status_is 0
expect "the help" out_has "Usage: tongyuan extract"
expect "nothing on stderr" err_empty
case_end

case_begin "compare with one file: usage, exit 2"
run "$TY" compare $D/src-00393.txt
expect "exit 2" status_is 2
expect "usage on stderr" err_has "Usage"
case_end

# exit statuses: 0 found, 1 none, 2 error
case_begin "exit status 0 when reuse is found"
run "$TY" compare $D/src-00387.txt $D/sus-00243.txt
expect "exit 0, got $rc" status_is 0
expect "a report on stdout" out_has "passage 1"
expect "nothing on stderr" err_empty
case_end

case_begin "exit status 1 when nothing is found"
run "$TY" compare $D/src-00596.txt $D/hay-00031.txt
expect "exit 1, got $rc" status_is 1
expect "says so on stdout" out_has "no reuse"
expect "nothing on stderr" err_empty
run "$TY" compare --format jsonl $D/src-00596.txt $D/hay-00031.txt
expect "jsonl: exit 1, got $rc" status_is 1
expect "jsonl: empty stdout" out_empty
case_end

# a long passage is shown as an excerpt without --full, however long its lines: a line of
# one phrase repeated (about 300 KB) is one passage; its report stays a few hundred
# characters, and --full prints it all
case_begin "excerpts stay short without --full (a 300 KB line)"
awk 'BEGIN { for (i = 0; i < 10000; i++) printf "宁武子邦有道则知，邦无道则愚。"; print "" }' \
    > "$tmp/longline.txt"
run "$TY" compare "$tmp/longline.txt" "$tmp/longline.txt"
expect "exit 0, got $rc" status_is 0
expect "one passage" out_has "in 1 passage"
expect "says what is not shown" out_has "bytes not shown; --full shows all"
expect "under 2,000 bytes, got $(wc -c < "$tmp/out")" [ "$(wc -c < "$tmp/out")" -lt 2000 ]
run "$TY" compare --full "$tmp/longline.txt" "$tmp/longline.txt"
expect "--full: all of it" [ "$(wc -c < "$tmp/out")" -gt 450000 ]
awk 'BEGIN { for (i = 0; i < 50000; i++) printf "w%d ", i; print "" }' > "$tmp/words.txt"
run "$TY" compare "$tmp/words.txt" "$tmp/words.txt"
expect "a line of 50,000 words: under 2,000 bytes, got $(wc -c < "$tmp/out")" \
    [ "$(wc -c < "$tmp/out")" -lt 2000 ]
case_end

case_begin "--format=jsonl is --format jsonl"
run "$TY" compare --format jsonl $D/src-00387.txt $D/sus-00243.txt
cp "$tmp/out" "$tmp/a"
run "$TY" compare --format=jsonl $D/src-00387.txt $D/sus-00243.txt
expect "same output" same_file "$tmp/out" "$tmp/a"
case_end

case_begin "same run twice, same output"
run "$TY" compare --format jsonl $D/src-00085.txt $D/sus-00097.txt
cp "$tmp/out" "$tmp/a"
run "$TY" compare --format jsonl $D/src-00085.txt $D/sus-00097.txt
expect "same output" same_file "$tmp/out" "$tmp/a"
expect "non-empty" [ -s "$tmp/a" ]
case_end

# standard input: '-' as suspect and as source gives the file's result under the name "-"
case_begin "compare reads '-' from standard input"
run "$TY" compare --format jsonl $D/src-00109.txt $D/sus-00017.txt
sed 's|"sus":"tests/data/text/sus-00017.txt"|"sus":"-"|' "$tmp/out" > "$tmp/want_sus"
sed 's|"src":"tests/data/text/src-00109.txt"|"src":"-"|' "$tmp/out" > "$tmp/want_src"
stdin=$D/sus-00017.txt
run "$TY" compare --format jsonl $D/src-00109.txt -
expect "suspect '-': exit 0, got $rc" status_is 0
expect "suspect '-': same passages" same_file "$tmp/out" "$tmp/want_sus"
stdin=$D/src-00109.txt
run "$TY" compare --format jsonl - $D/sus-00017.txt
expect "source '-': exit 0, got $rc" status_is 0
expect "source '-': same passages" same_file "$tmp/out" "$tmp/want_src"
timeout 60 sh -c "cat $D/sus-00017.txt | \"\$TY\" compare --format jsonl $D/src-00109.txt -" \
    > "$tmp/out" 2> "$tmp/err"
rc=$?
expect "from a pipe: exit 0, got $rc" status_is 0
expect "from a pipe: same passages" same_file "$tmp/out" "$tmp/want_sus"
case_end

# JSONL: exactly the documented fields, and offsets that point at the same text in bytes and
# in code points (python3 decodes the files itself; invalid bytes count one code point each).
cat > "$tmp/check_jsonl.py" << 'EOF'
import json, sys
KEYS = ["src", "sus", "src_off", "src_len", "sus_off", "sus_len", "src_byte_off",
        "src_byte_len", "sus_byte_off", "sus_byte_len", "score"]
dash = dict(a.split("=", 1) for a in sys.argv[2:])  # name=path for "-"
bad = 0
def fail(n, msg):
    global bad
    bad += 1
    print("    line %d: %s" % (n, msg))
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
for n, line in enumerate(lines, 1):
    try:
        o = json.loads(line)
    except ValueError as e:
        fail(n, "not JSON: %s" % e)
        continue
    if sorted(o) != sorted(KEYS):
        fail(n, "fields %s, expected %s" % (sorted(o), sorted(KEYS)))
        continue
    if not (isinstance(o["score"], (int, float)) and 0 <= o["score"] <= 1):
        fail(n, "score %r" % o["score"])
    for side in ("src", "sus"):
        if not isinstance(o[side], str):
            fail(n, "%s is not a string" % side)
            continue
        nums = [o[side + f] for f in ("_off", "_len", "_byte_off", "_byte_len")]
        if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in nums):
            fail(n, "%s offsets %r" % (side, nums))
            continue
        off, ln, boff, blen = nums
        raw = open(dash.get(o[side], o[side]), "rb").read()
        text = raw.decode("utf-8", "surrogateescape")
        if boff + blen > len(raw) or off + ln > len(text):
            fail(n, "%s span beyond the file" % side)
            continue
        before = raw[:boff].decode("utf-8", "surrogateescape")
        piece = raw[boff:boff + blen].decode("utf-8", "surrogateescape")
        if len(before) != off:
            fail(n, "%s: byte offset %d is code point %d, not %d" % (side, boff, len(before), off))
        if piece != text[off:off + ln]:
            fail(n, "%s: bytes %d+%d and code points %d+%d hold different text" %
                 (side, boff, blen, off, ln))
        if ln == 0:
            fail(n, "%s: empty passage" % side)
sys.exit(1 if bad else 0)
EOF
# check_jsonl NAME FILE [name=path...]
check_jsonl() {
    name=$1
    file=$2
    shift 2
    case_begin "jsonl fields and offsets: $name"
    expect "some passages" [ -s "$file" ]
    expect "fields and offsets agree (see above)" python3 "$tmp/check_jsonl.py" "$file" "$@"
    case_end
}
for p in "src-00387.txt sus-00243.txt" "src-00393.txt sus-00068.txt" \
    "src-00255.txt sus-00180.txt" "src-00085.txt sus-00097.txt" \
    "src-00109.txt sus-00017.txt" "src-00456.txt sus-00017.txt" \
    "src-00596.txt src-00596.s2t.txt"; do
    # shellcheck disable=SC2086 # two names, split on purpose
    set -- $p
    run "$TY" compare --format jsonl "$D/$1" "$D/$2"
    cp "$tmp/out" "$tmp/j"
    check_jsonl "$1 $2" "$tmp/j"
done
# invalid bytes counted in replace mode; the passage sits after them
run "$TY" compare --format jsonl --invalid-utf8 replace $D/src-00596.txt $C/invalid-utf8.txt
cp "$tmp/out" "$tmp/j"
check_jsonl "replace mode" "$tmp/j"
stdin=$D/sus-00017.txt
run "$TY" compare --format jsonl $D/src-00456.txt -
cp "$tmp/out" "$tmp/j"
check_jsonl "standard input" "$tmp/j" "-=$D/sus-00017.txt"

# JSON strings: file names with quotes, backslashes, spaces, CJK and control characters
case_begin "jsonl escapes file names"
odd="$tmp/a\"b\\c 名字	x.txt"
cp $D/sus-00068.txt "$odd"
run "$TY" compare --format jsonl $D/src-00393.txt "$odd"
expect "exit 0, got $rc" status_is 0
expect "the name survives a JSON round trip" python3 -c '
import json, sys
o = json.loads(open(sys.argv[1], encoding="utf-8").readline())
sys.exit(0 if o["sus"] == sys.argv[2] else 1)' "$tmp/out" "$odd"
case_end

# --pairs: the output does not depend on the number of threads, and is the output of the
# single comparisons in input order
printf '%s\n' "# source<TAB>suspect; comments and blank lines are skipped" > "$tmp/pairs.tsv"
for s in src-00109 src-00456 src-00387 src-00393 src-00596 src-00085 src-00255; do
    for q in sus-00017 sus-00243 sus-00068 sus-00158 sus-00097 sus-00180; do
        printf '%s\t%s\n' "$D/$s.txt" "$D/$q.txt" >> "$tmp/pairs.tsv"
    done
done
printf '\n%s\t%s\r\n' "$D/src-00109.txt" "$D/sus-00017.txt" >> "$tmp/pairs.tsv" # CRLF, again

case_begin "--pairs: same JSONL with --threads 1, 2, 3, 8"
run "$TY" compare --format jsonl --threads 1 --pairs "$tmp/pairs.tsv"
cp "$tmp/out" "$tmp/p1"
expect "threads 1: exit 0, got $rc" status_is 0
expect "threads 1: nothing on stderr" err_empty
for n in 2 3 8; do
    run "$TY" compare --format jsonl --threads $n --pairs "$tmp/pairs.tsv"
    expect "threads $n: exit 0, got $rc" status_is 0
    expect "threads $n: same output as 1 thread" same_file "$tmp/out" "$tmp/p1"
done
: > "$tmp/singles"
grep -v '^#' "$tmp/pairs.tsv" | tr -d '\r' | while IFS='	' read -r s q; do
    [ -n "$s" ] || continue
    timeout 60 "$TY" compare --format jsonl "$s" "$q" >> "$tmp/singles" 2> /dev/null
done
expect "the single comparisons' output, in input order" same_file "$tmp/p1" "$tmp/singles"
expect "6 passages or more" [ "$(lines "$tmp/p1")" -ge 6 ]
case_end
check_jsonl "--pairs" "$tmp/p1"

case_begin "--pairs: same text report with --threads 1 and 4"
run "$TY" compare --threads 1 --pairs "$tmp/pairs.tsv"
cp "$tmp/out" "$tmp/t1"
run "$TY" compare --threads 4 --pairs "$tmp/pairs.tsv"
expect "same output" same_file "$tmp/out" "$tmp/t1"
expect "no escape codes in piped output" no_escapes "$tmp/t1"
case_end

# more pairs than one output chunk (4096 pairs are rendered before they are written)
case_begin "--pairs: 4200 pairs, more than one output chunk"
i=0
while [ $i -lt 2100 ]; do
    printf '%s\t%s\n%s\t%s\n' $D/src-00393.txt $D/sus-00068.txt $D/src-00596.txt \
        $D/hay-00031.txt
    i=$((i + 1))
done > "$tmp/many.tsv"
run "$TY" compare --format jsonl $D/src-00393.txt $D/sus-00068.txt
cp "$tmp/out" "$tmp/one"
run "$TY" compare --format jsonl --threads 1 --pairs "$tmp/many.tsv"
cp "$tmp/out" "$tmp/m1"
expect "threads 1: exit 0, got $rc" status_is 0
expect "2100 passages" [ "$(lines "$tmp/m1")" -eq 2100 ]
expect "each the passage of the single comparison" [ "$(sort -u "$tmp/m1")" = "$(cat "$tmp/one")" ]
run "$TY" compare --format jsonl --threads 3 --pairs "$tmp/many.tsv"
expect "threads 3: exit 0, got $rc" status_is 0
expect "threads 3: same output" same_file "$tmp/out" "$tmp/m1"
case_end

case_begin "--pairs read from standard input"
stdin=$tmp/pairs.tsv
run "$TY" compare --format jsonl --threads 2 --pairs -
expect "exit 0, got $rc" status_is 0
expect "same output as from the file" same_file "$tmp/out" "$tmp/p1"
case_end

case_begin "--pairs: a line without a tab is an error naming file:line"
printf '%s\t%s\n# comment\n%s\n' "$D/src-00109.txt" "$D/sus-00017.txt" "$D/src-00109.txt" \
    > "$tmp/bad.tsv"
run "$TY" compare --format jsonl --pairs "$tmp/bad.tsv"
expect "exit 2, got $rc" status_is 2
expect "one line on stderr" err_lines_are 1
expect "stderr names $tmp/bad.tsv:3" err_has "$tmp/bad.tsv:3"
case_end

case_begin "--pairs: a line with two tabs is an error naming file:line"
printf '%s\t%s\t%s\n' a b c > "$tmp/bad2.tsv"
run "$TY" compare --pairs "$tmp/bad2.tsv"
expect "exit 2, got $rc" status_is 2
expect "one line on stderr" err_lines_are 1
expect "stderr names $tmp/bad2.tsv:1" err_has "$tmp/bad2.tsv:1"
case_end

case_begin "--pairs: a missing pairs file"
run "$TY" compare --pairs "$tmp/no-such-pairs.tsv"
expect "exit 2, got $rc" status_is 2
expect "one line on stderr" err_lines_are 1
expect "stderr names the file" err_has "$tmp/no-such-pairs.tsv"
case_end

case_begin "--pairs: an empty pairs file finds nothing"
: > "$tmp/empty.tsv"
run "$TY" compare --pairs "$tmp/empty.tsv"
expect "exit 1, got $rc" status_is 1
expect "nothing on stdout" out_empty
expect "nothing on stderr" err_empty
case_end

case_begin "--pairs: a missing document fails its pair only"
printf '%s\t%s\n%s\t%s\n%s\t%s\n' "$D/src-00109.txt" "$D/sus-00017.txt" \
    "$D/no-such-doc.txt" "$D/sus-00017.txt" "$D/src-00456.txt" "$D/sus-00017.txt" \
    > "$tmp/miss.tsv"
run "$TY" compare --format jsonl --threads 2 --pairs "$tmp/miss.tsv"
expect "exit 2, got $rc" status_is 2
expect "one line on stderr" err_lines_are 1
expect "stderr names the document" err_has "$D/no-such-doc.txt"
expect "the other pairs' passages on stdout" [ "$(lines "$tmp/out")" -eq 2 ]
case_end

# colour: never in a pipe or a file; on a terminal unless NO_COLOR is set or TERM=dumb
case_begin "no escape codes when piped or with NO_COLOR"
run "$TY" compare $D/src-00387.txt $D/sus-00243.txt
expect "piped: no escape codes" no_escapes "$tmp/out"
run env NO_COLOR=1 "$TY" compare $D/src-00387.txt $D/sus-00243.txt
expect "NO_COLOR piped: no escape codes" no_escapes "$tmp/out"
case_end

# util-linux script(1) gives the command a terminal (bsdutils, in every Debian root); if it
# is missing the case fails rather than skips
tty_run() {
    timeout 60 script -qec "$1" /dev/null < /dev/null > "$tmp/out" 2> "$tmp/err"
    rc=$?
}
case_begin "on a terminal: colour, unless NO_COLOR or TERM=dumb"
tty_run "TERM=xterm \"\$TY\" compare $D/src-00387.txt $D/sus-00243.txt"
expect "terminal: escape codes" has_escapes "$tmp/out"
tty_run "NO_COLOR=1 TERM=xterm \"\$TY\" compare $D/src-00387.txt $D/sus-00243.txt"
expect "terminal, NO_COLOR=1: no escape codes" no_escapes "$tmp/out"
expect "terminal, NO_COLOR=1: still a report" out_has "passage 1"
tty_run "TERM=dumb \"\$TY\" compare $D/src-00387.txt $D/sus-00243.txt"
expect "terminal, TERM=dumb: no escape codes" no_escapes "$tmp/out"
tty_run "TERM=xterm \"\$TY\" compare --format jsonl $D/src-00387.txt $D/sus-00243.txt"
expect "terminal, jsonl: no escape codes" no_escapes "$tmp/out"
case_end

case_begin "write error (stdout is /dev/full): exit 2 with a message"
if [ -w /dev/full ]; then
    timeout 60 "$TY" compare --format jsonl $D/src-00387.txt $D/sus-00243.txt \
        > /dev/full 2> "$tmp/err" < /dev/null
    rc=$?
    expect "exit 2, got $rc" status_is 2
    expect "one line on stderr" err_lines_are 1
fi
case_end

# HTML report: a file of its own, text and names escaped
case_begin "--html writes an escaped report"
html_doc="$tmp/<b>名&.txt"
{
    printf '%s' "这是一段测试文字，<script>alert(1)</script>用来检查网页报告是否把尖括号转义了。"
    printf '%s' "然后再加上一些普通的句子让它足够长，能被当作复制的段落找出来。"
    printf '%s\n' "最后一句话也在这里，用来凑够长度。再来一句更长的话，确保整段文字超过最小的长度要求。"
} > "$html_doc"
run "$TY" compare --html "$tmp/r.html" "$html_doc" "$html_doc"
expect "exit 0, got $rc" status_is 0
expect "the report file is written" [ -s "$tmp/r.html" ]
expect "it is HTML" grep -qi '<html' "$tmp/r.html"
expect "the text's <script> is escaped" lacks "$tmp/r.html" "<script>alert(1)"
expect "the file name's <b> is escaped" lacks "$tmp/r.html" "<b>名"
expect "the usual report still on stdout" out_has "passage 1"
run "$TY" compare --html - "$html_doc" "$html_doc"
expect "--html -: exit 0" status_is 0
expect "--html -: HTML on stdout" grep -qi '<html' "$tmp/out"
run "$TY" compare --html - --pairs "$tmp/pairs.tsv"
expect "--html with --pairs: exit 2, got $rc" status_is 2
case_end

# ---- 3. bad input end to end -----------------------------------------------------------------
GOOD=$D/src-00596.txt

# bad_input NAME FILE STATUS [TEXT]: as suspect and as source, exit STATUS, no crash; for
# status 2, exactly one line on stderr naming FILE (and containing TEXT if given)
bad_input() {
    name=$1
    file=$2
    want=$3
    text=${4:-}
    case_begin "bad input: $name"
    for side in suspect source; do
        if [ $side = suspect ]; then
            run "$TY" compare "$GOOD" "$file"
        else
            run "$TY" compare "$file" "$GOOD"
        fi
        expect "$side: no crash or hang (exit $rc)" no_crash
        expect "$side: exit $want, got $rc" status_is "$want"
        if [ "$want" -eq 2 ]; then
            expect "$side: one line on stderr" err_lines_are 1
            expect "$side: stderr names the file" err_has "$file"
            [ -z "$text" ] || expect "$side: stderr says '$text'" err_has "$text"
        else
            expect "$side: nothing on stderr" err_empty
        fi
        run "$TY" compare --format jsonl "$GOOD" "$file"
        expect "$side: jsonl: exit $want, got $rc" status_is "$want"
    done
    case_end
}
bad_input "invalid UTF-8 (0xFF)" $C/invalid-utf8.txt 2 "line 3"
bad_input "overlong sequence" $C/overlong.txt 2 "line 1"
bad_input "UTF-16 surrogates (CESU-8)" $C/surrogate.txt 2 "line 2"
bad_input "truncated sequence" $C/truncated.txt 2 "byte 198"
# text in another charset is decoded (encoding.c); --encoding utf-8 keeps the strict UTF-8
# of before, which refuses it
case_begin "another charset: a GBK line of GOOD is found, --encoding utf-8 refuses it"
run "$TY" compare "$GOOD" $C/gbk.txt
expect "GBK: exit 0 (decoded, found), got $rc" status_is 0
expect "GBK: nothing on stderr" err_empty
run "$TY" compare --encoding utf-8 "$GOOD" $C/gbk.txt
expect "--encoding utf-8: exit 2, got $rc" status_is 2
expect "--encoding utf-8: one line on stderr" err_lines_are 1
expect "--encoding utf-8: stderr names the file" err_has $C/gbk.txt
run "$TY" compare "$GOOD" $C/utf16.txt
expect "UTF-16 with BOM: exit 1 (decoded, nothing found), got $rc" status_is 1
expect "UTF-16 with BOM: nothing on stderr" err_empty
run "$TY" compare --encoding utf-8 "$C/utf16.txt" "$GOOD"
expect "UTF-16, --encoding utf-8: exit 2, got $rc" status_is 2
expect "UTF-16, --encoding utf-8: stderr names the file" err_has $C/utf16.txt
case_end
bad_input "NUL bytes" $C/nul.txt 2
bad_input "empty file" $C/empty.txt 1
bad_input "/dev/null" /dev/null 1
ls_bin=$(command -v ls)
cp "$ls_bin" "$tmp/ls-copy" 2> /dev/null || cp /bin/sh "$tmp/ls-copy"
bad_input "binary file (a copy of ls)" "$tmp/ls-copy" 2
bad_input "missing path" "$tmp/no/such/file.txt" 2
bad_input "directory" tests/data 2 "directory"
chmod 000 "$tmp/ls-copy"
if [ ! -r "$tmp/ls-copy" ]; then # root reads anything: skip then
    bad_input "unreadable file" "$tmp/ls-copy" 2 "Permission denied"
fi

case_begin "bad input: replace mode reads invalid UTF-8"
run "$TY" compare --invalid-utf8 replace "$GOOD" $C/invalid-utf8.txt
expect "exit 0 (the copied lines are found), got $rc" status_is 0
expect "nothing on stderr" err_empty
run "$TY" compare --invalid-utf8 replace --encoding utf-8 "$GOOD" $C/gbk.txt
expect "GBK as UTF-8: no crash (exit $rc)" no_crash
expect "GBK as UTF-8: exit 1, got $rc" status_is 1
case_end

# Large inputs: a 200 MB file is refused by its size, from a path, a redirect and a pipe.
big=$tmp/big.txt
if yes '大文件测试：这一行重复很多次。Big file line.' | head -c 209715200 > "$big" 2> /dev/null &&
    [ "$(wc -c < "$big")" -eq 209715200 ]; then
    bad_input "200 MB file" "$big" 2 "limit"
    case_begin "bad input: 200 MB on standard input"
    stdin=$big
    run "$TY" compare "$GOOD" -
    expect "redirect: exit 2, got $rc" status_is 2
    expect "redirect: one line on stderr" err_lines_are 1
    timeout 60 sh -c "cat '$big' | \"\$TY\" compare '$GOOD' -" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    expect "pipe: no crash or hang (exit $rc)" no_crash
    expect "pipe: exit 2, got $rc" status_is 2
    expect "pipe: one line on stderr" err_lines_are 1
    expect "pipe: stderr names '-'" err_has "-"
    case_end
    head -c 2097152 "$big" > "$tmp/2mb.txt"
    rm -f "$big"
    case_begin "bad input: --max-size 1 refuses a 2 MB file"
    run "$TY" compare --max-size 1 "$GOOD" "$tmp/2mb.txt"
    expect "exit 2, got $rc" status_is 2
    expect "one line on stderr" err_lines_are 1
    expect "stderr names the file" err_has "$tmp/2mb.txt"
    case_end
else
    rm -f "$big"
    case_begin "bad input: 200 MB file"
    expect "could create a 200 MB file in $tmp" false
    case_end
fi

echo "cli.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
