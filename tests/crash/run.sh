#!/bin/sh
# Multi-process SIGKILL test of the Berkeley DB store (see kill_writer.c).
# Usage (from the repo root): sh tests/crash/run.sh [SECONDS] [WRITERS] [SEED]
# Builds into a temp dir, runs bounded by `timeout`, cleans up, exits 0 on PASS.
set -eu

SECONDS_TO_RUN=${1:-20}
WRITERS=${2:-4}
SEED=${3:-$(date +%s)}
CC=${CC:-cc}
EXTRA_CFLAGS=${EXTRA_CFLAGS:--O1 -g}

work=$(mktemp -d /tmp/salog_crash_XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

$CC -std=c11 -D_GNU_SOURCE -I. $(pkg-config --cflags json-c 2>/dev/null || echo -I/usr/include/json-c) \
    -pthread -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral $EXTRA_CFLAGS \
    tests/crash/kill_writer.c model/*.c codec/*.c \
    -o "$work/kill_writer" -ldb -lcrypto -ljson-c -lmsgpackc -lz -pthread

mkdir -p "$work/run"
status=0
# The writers' own chatter (open times, must-exit notices) goes to a log;
# the summary is printed at the end.
timeout -s KILL 60 "$work/kill_writer" "$work/run" "$SECONDS_TO_RUN" "$WRITERS" "$SEED" \
    2>"$work/writers.log" || status=$?

opens=$(grep -c 'open took' "$work/writers.log" || true)
echo "writer opens: $opens; open times (ms): $(sed -n 's/.*open took \([0-9]*\) ms/\1/p' "$work/writers.log" | sort -n | tr '\n' ' ')"
grep -v 'open took\|must exit after\|stopped cleanly' "$work/writers.log" | sort | uniq -c | sort -rn | head -10 || true

if [ -x /usr/bin/db5.3_verify ] && [ "$status" -eq 0 ]; then
    for f in tokens.db token_digests.db; do
        if ! db5.3_verify -h "$work/run/data" "$f" >/dev/null 2>&1; then
            echo "db5.3_verify $f: FAILED"; status=1
        fi
    done
    [ "$status" -eq 0 ] && echo "db5.3_verify: tokens.db token_digests.db OK"
fi
exit "$status"
