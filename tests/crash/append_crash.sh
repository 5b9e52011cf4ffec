#!/bin/sh
# Builds and runs the append crash test (tests/crash/append_crash.c):
# SIGKILLs appending processes for ~10 s, reopens, checks every acknowledged
# event. Bounded to 60 s; removes its scratch directory. Run from the repo
# root (or anywhere: it changes there). Exit status 0 = passed.
set -eu
cd "$(dirname "$0")/../.."
CC=${CC:-cc}
SECONDS_TO_RUN=${CRASH_SECONDS:-10}
scratch=$(mktemp -d /tmp/salog_crash.XXXXXX)
trap 'rm -rf "$scratch"' EXIT INT TERM
$CC -std=c11 -D_GNU_SOURCE -I. $(pkg-config --cflags json-c 2>/dev/null || echo -I/usr/include/json-c) \
    -pthread -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral ${CRASH_CFLAGS:--O2 -g} \
    tests/crash/append_crash.c model/*.c codec/*.c \
    -o "$scratch/append_crash" -ldb -lcrypto -ljson-c -lmsgpackc -lz -pthread
timeout -k 5 60 "$scratch/append_crash" "$scratch/data" "$SECONDS_TO_RUN"
