#!/bin/sh
# make eval-repeat: repetition corpora (scripts/repeat_gen.py), scored per command. Each part is
# its own script, scripts/eval_repeat_PART.sh BIN SHARED OUTDIR, which generates its corpora
# into OUTDIR (once), runs tongyuan, prints its figures and exits non-zero below its bar when
# EVAL_REQUIRE=1 (make check sets it; REPEAT_SIZE=small there keeps it to a minute or two).
#
# usage: scripts/eval_repeat.sh TONGYUAN SHARED_DIR        (REPEAT_PARTS="compare check dedup")
set -eu
bin=$1; shared=$2
out=${EVAL_OUT:-build/eval}/repeat
mkdir -p "$out"
rc=0
for part in ${REPEAT_PARTS:-compare check dedup}; do
    s=scripts/eval_repeat_$part.sh
    if [ ! -f "$s" ]; then echo "eval-repeat: $part: not written yet"; continue; fi
    echo "== eval-repeat: $part"
    sh "$s" "$bin" "$shared" "$out/$part" || rc=1
done
exit $rc
