#!/bin/sh
# tests/outputs.sh — nothing is lost on an ordinary mistake (issue 15): every output option
# (-o, --pairs-out, --write-kept, --html) refuses a file that is one of the command's inputs
# (same device and inode, also through a link or from a directory) and a file given for two
# outputs; outputs are written to a temporary file renamed into place at the end, so a failed
# or interrupted run leaves the old file and no temporary one; and the confusing cases of
# issue 15 item 8 (directory entries not read, tabs in names, empty ids, empty stdin, /proc).
#
#   BUILD=build sh tests/outputs.sh
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
TY=${TY:-$BUILD/tongyuan}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ty_out.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
. tests/lib/cases.sh

D=tests/data/text
E=examples
cp "$E/original.txt" "$tmp/o.txt"
cp "$E/spun.txt" "$tmp/s.txt"
python3 - "$tmp/in.jsonl" "$D" << 'PY'
import json, os, sys
out, d = sys.argv[1], sys.argv[2]
names = sorted(n for n in os.listdir(d) if n.endswith('.txt'))[:8]
with open(out, 'w', encoding='utf-8') as f:
    for n in names:
        t = open(os.path.join(d, n), encoding='utf-8').read()
        f.write(json.dumps({'id': n, 'text': t}, ensure_ascii=False) + '\n')
        f.write(json.dumps({'id': n + '-copy', 'text': t}, ensure_ascii=False) + '\n')
PY
cp "$tmp/in.jsonl" "$tmp/in.orig"
same() { cmp -s "$1" "$2"; }
no_tmp() { ! ls -a "$tmp" | grep -q '\.tmp-'; }

# ---- 1. an output that is an input is refused, and the input is untouched --------------------
for opt in "-o" "--pairs-out" "--write-kept"; do
    case_begin "dedup $opt IN.jsonl refused"
    if [ "$opt" = -o ]; then run "$TY" dedup "$tmp/in.jsonl" -o "$tmp/in.jsonl"
    else run "$TY" dedup "$tmp/in.jsonl" -o "$tmp/d.jsonl" "$opt" "$tmp/in.jsonl"; fi
    expect "exit 2 (got $rc)" test "$rc" -eq 2
    expect "message names the option and the input" grep -q -- "$opt $tmp/in.jsonl: that is the input" "$tmp/err"
    expect "input unchanged" same "$tmp/in.jsonl" "$tmp/in.orig"
    expect "no temporary file left" no_tmp
    case_end
done

case_begin "dedup -o through a symbolic link to the input, and by another spelling"
ln -s in.jsonl "$tmp/link.jsonl"
run "$TY" dedup "$tmp/in.jsonl" -o "$tmp/link.jsonl"
expect "link refused (exit $rc)" test "$rc" -eq 2
run "$TY" dedup "$tmp/in.jsonl" -o "$tmp/./../$(basename "$tmp")/in.jsonl"
expect "other spelling refused (exit $rc)" test "$rc" -eq 2
expect "input unchanged" same "$tmp/in.jsonl" "$tmp/in.orig"
expect "the link is still a link" test -L "$tmp/link.jsonl"
case_end

case_begin "dedup -o a file inside an input directory that is read as input"
mkdir -p "$tmp/dir"
cp "$tmp/o.txt" "$tmp/dir/a.txt"
cp "$tmp/s.txt" "$tmp/dir/b.txt"
run "$TY" dedup "$tmp/dir" -o "$tmp/dir/b.txt"
expect "exit 2 (got $rc)" test "$rc" -eq 2
expect "names the file" grep -q "that is the input $tmp/dir/b.txt" "$tmp/err"
expect "file unchanged" same "$tmp/dir/b.txt" "$tmp/s.txt"
case_end

case_begin "dedup: one file given for two outputs"
run "$TY" dedup "$tmp/in.jsonl" -o "$tmp/x.jsonl" --pairs-out "$tmp/./x.jsonl"
expect "exit 2 (got $rc)" test "$rc" -eq 2
expect "says so" grep -q "the same file is given for two outputs" "$tmp/err"
expect "nothing written" test ! -e "$tmp/x.jsonl"
case_end

case_begin "compare --html INPUT refused (either side)"
run "$TY" compare --html "$tmp/o.txt" "$tmp/o.txt" "$tmp/s.txt"
expect "exit 2 (got $rc)" test "$rc" -eq 2
run "$TY" compare --html "$tmp/s.txt" "$tmp/o.txt" "$tmp/s.txt"
expect "suspect side: exit 2 (got $rc)" test "$rc" -eq 2
expect "inputs unchanged" sh -c "cmp -s '$tmp/o.txt' '$E/original.txt' && cmp -s '$tmp/s.txt' '$E/spun.txt'"
case_end

case_begin "compare --html into a missing directory: exit 2 with a message, no crash"
run "$TY" compare --html /nonexistent/r.html "$tmp/o.txt" "$tmp/s.txt"
expect "exit 2 (got $rc)" test "$rc" -eq 2
expect "message names the path" grep -q -- "--html /nonexistent/r.html: No such file or directory" "$tmp/err"
case_end

"$TY" index build -o "$tmp/ix" "$tmp/o.txt" 2> /dev/null
case_begin "check --html INPUT or the index refused"
run "$TY" check -x "$tmp/ix" --html "$tmp/s.txt" "$tmp/s.txt"
expect "input: exit 2 (got $rc)" test "$rc" -eq 2
expect "input unchanged" same "$tmp/s.txt" "$E/spun.txt"
run "$TY" check -x "$tmp/ix" --html "$tmp/ix" "$tmp/s.txt"
expect "index: exit 2 (got $rc)" test "$rc" -eq 2
run "$TY" check -x "$tmp/ix" --html /nonexistent/r.html "$tmp/s.txt"
expect "missing directory: exit 2 (got $rc)" test "$rc" -eq 2
case_end

# ---- 2. written whole or not at all ------------------------------------------------------------
case_begin "outputs replace the old file only at the end, keeping its mode"
echo "old decisions" > "$tmp/d.jsonl"
chmod 640 "$tmp/d.jsonl"
run "$TY" dedup "$tmp/in.jsonl" -o "$tmp/d.jsonl" --pairs-out "$tmp/p.jsonl" --write-kept "$tmp/k.jsonl"
expect "exit 0 (got $rc)" test "$rc" -eq 0
expect "16 decisions" test "$(wc -l < "$tmp/d.jsonl")" -eq 16
expect "a link per removed document" test "$(wc -l < "$tmp/p.jsonl")" -eq "$(grep -c '"keep":false' "$tmp/d.jsonl")"
expect "a line per kept document" test "$(wc -l < "$tmp/k.jsonl")" -eq "$(grep -c '"keep":true' "$tmp/d.jsonl")"
expect "every copy removed" test "$(grep -c '"keep":false' "$tmp/d.jsonl")" -ge 8
expect "mode kept" test "$(stat -c %a "$tmp/d.jsonl")" = 640
expect "no temporary file left" no_tmp
case_end

case_begin "a failed run leaves every old output as it was"
echo "decisions of yesterday" > "$tmp/d.jsonl"
echo "evidence of yesterday" > "$tmp/p.jsonl"
cp "$tmp/d.jsonl" "$tmp/d.before"
cp "$tmp/p.jsonl" "$tmp/p.before"
printf '%s\n' '{"id":"x","text":"好"}' 'not json' > "$tmp/bad.jsonl"
run "$TY" dedup --on-error fail "$tmp/in.jsonl" "$tmp/bad.jsonl" -o "$tmp/d.jsonl" --pairs-out "$tmp/p.jsonl"
expect "exit 2 (got $rc)" test "$rc" -eq 2
expect "decisions unchanged" same "$tmp/d.jsonl" "$tmp/d.before"
expect "evidence unchanged" same "$tmp/p.jsonl" "$tmp/p.before"
expect "no temporary file left" no_tmp
case_end

case_begin "an interrupted run (SIGTERM) leaves the old output and no temporary file"
echo "decisions of yesterday" > "$tmp/d.jsonl"
cp "$tmp/d.jsonl" "$tmp/d.before"
# a producer that stops half-way: dedup is still reading when it is interrupted
# (SIGTERM: a background job of a script starts with SIGINT ignored, and tongyuan leaves an
# ignored signal ignored, as nohup wants)
( cat "$tmp/in.jsonl"; exec sleep 30 ) | "$TY" dedup - -o "$tmp/d.jsonl" --pairs-out "$tmp/p2.jsonl" 2> "$tmp/err" &
pid=$!
i=0
while [ $i -lt 100 ] && ! ls -a "$tmp" | grep -q '\.d\.jsonl\.tmp-'; do sleep 0.1; i=$((i + 1)); done
expect "a temporary file while running" sh -c "ls -a '$tmp' | grep -q '\.d\.jsonl\.tmp-'"
kill -TERM $pid
wait $pid 2> /dev/null
expect "killed by the signal" test $? -eq 143
pkill -f "^sleep 30$" 2> /dev/null
expect "decisions unchanged" same "$tmp/d.jsonl" "$tmp/d.before"
expect "no evidence file made" test ! -e "$tmp/p2.jsonl"
expect "no temporary file left" no_tmp
case_end

case_begin "a special file (/dev/null, /dev/full) is written directly"
run "$TY" dedup "$tmp/in.jsonl" -o /dev/null
expect "/dev/null: exit 0 (got $rc)" test "$rc" -eq 0
run "$TY" dedup "$tmp/in.jsonl" -o /dev/full
expect "/dev/full: exit 2 (got $rc)" test "$rc" -eq 2
expect "says the device is full" grep -q "No space left on device" "$tmp/err"
case_end

case_begin "compare --html writes the report whole"
run "$TY" compare --html "$tmp/r.html" "$tmp/o.txt" "$tmp/s.txt"
expect "exit 0 (got $rc)" test "$rc" -eq 0
expect "a complete HTML page" grep -q "</html>" "$tmp/r.html"
expect "no temporary file left" no_tmp
case_end

# ---- 3. confusing or silent (issue 15 item 8) ----------------------------------------------------
case_begin "directory entries not read are named, errors name the path as given"
mkdir -p "$tmp/notes/sub"
cp "$tmp/o.txt" "$tmp/notes/a.txt"
printf '\377 bad' > "$tmp/notes/bad.txt"
mkfifo "$tmp/notes/fifo.txt"
ln -s nowhere.txt "$tmp/notes/dangling.txt"
ln -s loop2.txt "$tmp/notes/loop1.txt"
ln -s loop1.txt "$tmp/notes/loop2.txt"
ln -s /dev/zero "$tmp/notes/zero.txt"
echo x > "$tmp/notes/page.png"
run "$TY" dedup "$tmp/notes" -o "$tmp/nd.jsonl"
expect "exit 0 (got $rc)" test "$rc" -eq 0
for w in "notes/fifo.txt: a FIFO, not read" "notes/dangling.txt: a dangling symbolic link" \
    "notes/loop1.txt: a loop of symbolic links" "notes/zero.txt: a character device" \
    "notes: 1 file not read: only"; do
    expect "says: $w" grep -q "$w" "$tmp/err"
done
expect "the bad file by the path given" grep -q "tongyuan: $tmp/notes/bad.txt: not UTF-8" "$tmp/err"
run "$TY" index build -o "$tmp/nix" "$tmp/notes"
expect "index build says the same (FIFO)" grep -q "notes/fifo.txt: a FIFO, not read" "$tmp/err"
expect "index build: the bad file by the path given" grep -q "tongyuan: $tmp/notes/bad.txt: not UTF-8" "$tmp/err"
case_end

case_begin "index list escapes tabs and line breaks in names"
printf '%s\n' '{"id":"a\tb\nc\\d","text":"这是一篇测试文章的正文内容。"}' > "$tmp/tab.jsonl"
"$TY" index build -o "$tmp/tix" "$tmp/tab.jsonl" 2> /dev/null
run "$TY" index list "$tmp/tix"
expect "one line per document" test "$(wc -l < "$tmp/out")" -eq 1
expect "three fields" test "$(awk -F'\t' '{print NF}' "$tmp/out")" -eq 3
expect "escaped name" grep -qF 'a\tb\nc\\d' "$tmp/out"
case_end

case_begin "an empty id is refused where it is read"
printf '%s\n' '{"id":"","text":"空名字的文档"}' '{"id":"ok","text":"有名字的文档"}' > "$tmp/eid.jsonl"
run "$TY" index build -o "$tmp/eix" "$tmp/eid.jsonl"
expect "exit 1: done, one skipped (got $rc)" test "$rc" -eq 1
expect "FILE:LINE and why" grep -q 'eid.jsonl:1: member "id" is an empty string' "$tmp/err"
run "$TY" index list "$tmp/eix"
expect "only the named one indexed" test "$(cut -f2 "$tmp/out")" = ok
case_end

case_begin "empty standard input is not an empty document"
: > "$tmp/empty"
stdin=$tmp/empty run "$TY" index build -o "$tmp/six" -
expect "exit 1 (got $rc)" test "$rc" -eq 1
expect "says stdin was empty" grep -q "standard input is empty" "$tmp/err"
run "$TY" index list "$tmp/six"
expect "nothing indexed" test ! -s "$tmp/out"
case_end

case_begin "files under /proc are read, not empty"
run "$TY" compare --format jsonl /proc/self/status /proc/self/status
expect "reuse found (exit $rc)" test "$rc" -eq 0
case_end

echo "outputs.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
