#!/bin/sh
# Integration tests through the real path: HTTP -> lighttpd or Apache (mod_fcgid)
# -> salog.fcgi (AddressSanitizer + UBSan build) -> Berkeley DB.
#
# For each web server: a fresh data directory (owned by www-data for Apache),
# `salog init`, the server started from the shipped config template on a free
# 127.0.0.1 port, the Node test files run against it, the server stopped, and
# its logs searched for sanitizer reports. Everything runs under `timeout` and
# is cleaned up on exit.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
IT="$TOP/tests/integration"
WORKER="${SALOG_IT_WORKER:-$TOP/build/salog.fcgi.san}"
ADMIN="${SALOG_IT_ADMIN:-$TOP/build/salog.san}"
SERVERS="${SALOG_IT_SERVERS:-lighttpd apache proxy}"
PUBLISH=2   # seconds: the background publication duty is part of what is tested
WORK=$(mktemp -d /tmp/salog-it.XXXXXX)
chmod 0755 "$WORK"
failures=0
passed=0

say() { printf 'integration: %s\n' "$*"; }

stop_all() {
    for pidfile in "$WORK"/*/lighttpd.pid; do
        [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    for pidfile in "$WORK"/*/supervisor.pid; do
        [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    for conf in "$WORK"/*/apache.conf; do
        [ -f "$conf" ] && [ -f "$(dirname "$conf")/apache.pid" ] && apache2 -f "$conf" -k stop 2>/dev/null
    done
    sleep 1
    pkill -f "$WORK" 2>/dev/null
    true
}
cleanup() {
    stop_all
    if [ "${SALOG_IT_KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() { # wait_port PORT: up to 15 s for the server to answer
    i=0
    while [ $i -lt 150 ]; do
        curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
    say "Node.js >= 20 is required for the SDK tests (found ${node_major}); failing"
    exit 1
fi
if [ ! -d "$IT/node_modules/pangea-node-sdk" ] || [ ! -d "$IT/node_modules/@msgpack/msgpack" ]; then
    (cd "$IT" && timeout 300 npm ci --no-audit --no-fund >/dev/null 2>&1) || {
        say "npm ci failed in $IT"
        exit 1
    }
fi

# The sanitizer runtime reports to stderr, which the web servers keep in their logs.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

run_server() { # run_server NAME
    name=$1
    dir="$WORK/$name"
    mkdir -p "$dir/www" "$dir/data" "$dir/fcgid"
    port=$(free_port)
    prefix=""
    if [ "$name" != lighttpd ]; then
        chown -R www-data:www-data "$dir/data" "$dir/fcgid"
    fi
    if ! "$ADMIN" --data "$dir/data" init > "$dir/init.out" 2>&1; then
        say "$name: salog init failed"; cat "$dir/init.out"; return 1
    fi
    admin_token=$(tail -n 1 "$dir/init.out")
    case "$name" in
    lighttpd)
        sh "$TOP/scripts/render.sh" "$TOP/lighttpd/salog.conf.in" "$dir/lighttpd.conf" "$dir" "$port" \
            "$WORKER" "$dir/data" 2 "$PUBLISH"
        lighttpd -tt -f "$dir/lighttpd.conf" >/dev/null || { say "bad lighttpd config"; return 1; }
        lighttpd -D -f "$dir/lighttpd.conf" > "$dir/worker-stderr.log" 2>&1 &
        ;;
    apache)
        sh "$TOP/scripts/render.sh" "$TOP/apache/salog-fcgid.conf.in" "$dir/apache.conf" "$dir" "$port" \
            "$WORKER" "$dir/data" 0 "$PUBLISH"
        # Let the workers' sanitizer options through mod_fcgid too.
        printf 'FcgidInitialEnv ASAN_OPTIONS %s\nFcgidInitialEnv UBSAN_OPTIONS %s\n' \
            "$ASAN_OPTIONS" "$UBSAN_OPTIONS" >> "$dir/apache.conf"
        apache2 -t -f "$dir/apache.conf" >/dev/null 2>&1 || { say "bad apache config"; apache2 -t -f "$dir/apache.conf"; return 1; }
        apache2 -f "$dir/apache.conf" -k start || { say "apache did not start"; return 1; }
        ;;
    proxy)
        # spawn-fcgi on a unix socket (-n keeps the worker's stderr), the worker as its
        # own supervisor of 2 processes (SALOG_WORKERS), Apache mod_proxy_fcgi in front,
        # everything under the URL prefix /audit (SALOG_PREFIX).
        prefix=/audit
        SALOG_DATA="$dir/data" SALOG_WORKERS=2 SALOG_THREADS=4 SALOG_PUBLISH_INTERVAL="$PUBLISH" SALOG_PREFIX=$prefix \
            spawn-fcgi -n -s "$dir/salog.sock" -U www-data -G www-data -M 0660 -u www-data -g www-data \
            -- "$WORKER" > "$dir/worker-stderr.log" 2>&1 &
        echo $! > "$dir/supervisor.pid"
        sh "$TOP/scripts/render.sh" "$TOP/apache/salog-proxy-fcgi.conf.in" "$dir/apache.conf" "$dir" "$port" \
            "$WORKER" "$dir/data" 0 "$PUBLISH" "$prefix"
        apache2 -t -f "$dir/apache.conf" >/dev/null 2>&1 || { say "bad apache config"; apache2 -t -f "$dir/apache.conf"; return 1; }
        apache2 -f "$dir/apache.conf" -k start || { say "apache did not start"; return 1; }
        ;;
    esac
    if ! wait_port "$port"; then
        say "$name did not come up on $port"
        cat "$dir"/*.log 2>/dev/null | tail -20
        return 1
    fi
    say "$name on 127.0.0.1:$port"
    SALOG_URL="http://127.0.0.1:$port$prefix" SALOG_ADMIN_TOKEN="$admin_token" SALOG_DATA="$dir/data" \
        SALOG_ADMIN_BIN="$ADMIN" SALOG_SERVER="$name" SALOG_WORKER_PATH="$WORKER" \
        timeout 600 node --test --test-concurrency=1 --test-reporter=spec ${SALOG_IT_FILES:-"$IT"/*.test.mjs} \
        > "$dir/node.out" 2>&1
    rc=$?
    cat "$dir/node.out"
    p=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$dir/node.out" | tail -1)
    passed=$((passed + ${p:-0}))
    # Stop the server, then look for sanitizer reports from any worker.
    case "$name" in
    lighttpd) kill "$(cat "$dir/lighttpd.pid")" 2>/dev/null ;;
    apache) apache2 -f "$dir/apache.conf" -k stop ;;
    proxy) apache2 -f "$dir/apache.conf" -k stop; kill "$(cat "$dir/supervisor.pid")" 2>/dev/null ;;
    esac
    sleep 2
    if [ "$name" = lighttpd ] && [ -z "${SALOG_IT_FILES:-}" ]; then
        sh "$IT/tamper.sh" "$ADMIN" "$dir/data" || rc=1
    fi
    if grep -l -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$dir"/*.log >/dev/null 2>&1; then
        say "$name: sanitizer reports in the worker logs:"
        grep -h -B2 -A30 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$dir"/*.log | head -80
        rc=1
    fi
    return $rc
}

for s in $SERVERS; do
    if run_server "$s"; then say "$s: ok"; else say "$s: FAILED"; failures=$((failures + 1)); fi
done
if [ $failures -ne 0 ]; then
    say "$failures web server run(s) failed"
    exit 1
fi
say "$passed tests passed across: $SERVERS"
