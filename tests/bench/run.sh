#!/bin/sh
# make bench: wrk through lighttpd on 127.0.0.1, all figures in one run, each
# printed with its ratio to the no-op floor measured in the same run (the
# machines are shared and noisy: compare ratios, not absolute numbers).
# The floor is measured right before and right after each figure given as a
# ratio to it, and that figure's ratio uses the mean of the two: this
# machine's speed drifts within a run (the floor moved from 15,674 to
# 11,388 req/s between the start of one run and the end of its
# /v1/log@16), so a floor measured a minute away says less about the
# conditions a figure ran under.
#   floor       POST /_salog/noop — same worker, same envelope, no storage
#   /v1/log     one event per request, durable before Success, at 1, 4, 16 connections
#   /v2/log     100-event batches, 16 connections (events/s = requests/s x 100)
#   /v1/log     again with SALOG_SEARCH_INDEX=off (no search indexing): the
#               logging throughput "before the indexes existed", same run
# Then the tree bench (root / membership / consistency at 1,000 and
# 1,000,000 events) and the search bench (selective search and last-window
# search at 10,000 and 1,000,000 events), both without HTTP.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
DUR=${BENCH_SECONDS:-10}
WORK=$(mktemp -d /tmp/salog-bench.XXXXXX)
chmod 0755 "$WORK"
cleanup() {
    [ -f "$WORK/lighttpd.pid" ] && kill "$(cat "$WORK/lighttpd.pid")" 2>/dev/null || true
    sleep 1
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/www"
"$TOP/bin/salog" --data "$WORK/data" init > "$WORK/init.out"
ADMIN=$(tail -n 1 "$WORK/init.out")
TOKEN=$("$TOP/bin/salog" --data "$WORK/data" token create --scope log,search --name bench | tail -n 1)
sh "$TOP/scripts/render.sh" "$TOP/lighttpd/salog.conf.in" "$WORK/lighttpd.conf" "$WORK" "$PORT" \
    "$TOP/bin/salog.fcgi" "$WORK/data" "${BENCH_PROCS:-1}"
[ -n "${BENCH_THREADS:-}" ] && sed -i "s/\"SALOG_THREADS\" => \"[0-9]*\"/\"SALOG_THREADS\" => \"$BENCH_THREADS\"/" "$WORK/lighttpd.conf"
lighttpd -D -f "$WORK/lighttpd.conf" > "$WORK/stderr.log" 2>&1 &
i=0; until curl -s -o /dev/null "http://127.0.0.1:$PORT/"; do i=$((i+1)); [ $i -gt 100 ] && exit 1; sleep 0.1; done

cat > "$WORK/noop.lua" <<LUA
wrk.method = "POST"; wrk.body = "{}"; wrk.headers["Content-Type"] = "application/json"
LUA
cat > "$WORK/log.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"event":{"message":"user logged in","actor":"alice","action":"login","status":"success"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
python3 - "$WORK/batch.lua" "$TOKEN" <<'PY'
import json, sys
body = json.dumps({"events": [{"event": {"message": "batch event %d" % i, "actor": "bob"}} for i in range(100)]})
open(sys.argv[1], "w").write('wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n'
                             'wrk.headers["Authorization"] = "Bearer %s"\n' % (json.dumps(body), sys.argv[2]))
PY

# run NAME SCRIPT PATH CONNECTIONS -> prints requests/s; every non-2xx counts as a failure
run() {
    threads=2; [ "$4" -lt 2 ] && threads=1   # wrk needs connections >= threads
    timeout $((DUR + 20)) wrk -t$threads -c"$4" -d"${DUR}s" -s "$2" "http://127.0.0.1:$PORT$3" > "$WORK/$1.out" 2>&1
    if grep -q "Non-2xx" "$WORK/$1.out"; then echo "bench: $1 had non-2xx replies:" >&2; cat "$WORK/$1.out" >&2; exit 1; fi
    awk '/Requests\/sec/ {print $2}' "$WORK/$1.out"
}
# Waits (at most 300 s) until the search index covers every logged event, so
# that no run is measured while the background indexer catches up on the
# events of the run before it. Says how long it waited (after /v2/log's
# batches that is minutes), and fails the bench when the index does not
# catch up or the counts cannot be read.
wait_indexed() {
    i=0
    while [ $i -lt 300 ]; do
        counts=$("$TOP/bin/salog" --data "$WORK/data" stats |
            sed -n 's/.*	events \([0-9]*\)	.*	indexed \([0-9]*\)$/\1 \2/p')
        if [ -z "$counts" ]; then
            echo "bench: salog stats printed no event and index counts" >&2
            return 1
        fi
        if echo "$counts" | awk '$1 != $2 { lag = 1 } END { exit lag }'; then
            [ $i -gt 0 ] && echo "bench: waited $i s for the search index to catch up" >&2
            return 0
        fi
        i=$((i+1)); sleep 1
    done
    echo "bench: the search index did not catch up within 300 s" >&2
    return 1
}
# floor N: the no-op floor, once the indexer has caught up (its work would
# otherwise slow the floor down and flatter the ratios).
floor() {
    wait_indexed
    run "floor$1" "$WORK/noop.lua" /_salog/noop 16
}
timeout 15 wrk -t2 -c16 -d3s -s "$WORK/noop.lua" "http://127.0.0.1:$PORT/_salog/noop" >/dev/null 2>&1 || true
F0=$(floor 0)
L1=$(run log1 "$WORK/log.lua" /v1/log 1)
F1=$(floor 1)
L4=$(run log4 "$WORK/log.lua" /v1/log 4)
F2=$(floor 2)
L16=$(run log16 "$WORK/log.lua" /v1/log 16)
F3=$(floor 3)
B16=$(run batch16 "$WORK/batch.lua" /v2/log 16)
F4=$(floor 4)
# The same /v1/log load with search indexing off.
kill "$(cat "$WORK/lighttpd.pid")"; sleep 1
sed -i 's/"SALOG_DATA" => /"SALOG_SEARCH_INDEX" => "off", "SALOG_DATA" => /' "$WORK/lighttpd.conf"
lighttpd -D -f "$WORK/lighttpd.conf" >> "$WORK/stderr.log" 2>&1 &
i=0; until curl -s -o /dev/null "http://127.0.0.1:$PORT/"; do i=$((i+1)); [ $i -gt 100 ] && exit 1; sleep 0.1; done
# Floors around it too, for the drift-corrected on/off figure printed for
# information (nothing is indexed now, so there is nothing to wait for).
F5=$(run floor5 "$WORK/noop.lua" /_salog/noop 16)
L16OFF=$(run log16off "$WORK/log.lua" /v1/log 16)
F6=$(run floor6 "$WORK/noop.lua" /_salog/noop 16)

python3 - "$F0" "$F1" "$F2" "$F3" "$F4" "$F5" "$F6" "$L1" "$L4" "$L16" "$B16" "$L16OFF" <<'PY'
import sys
f0, f1, f2, f3, f4, f5, f6, l1, l4, l16, b16, l16off = map(float, sys.argv[1:])
floors = (f0, f1, f2, f3, f4)
print("bench: no-op floor %.0f req/s on average over the run (%s)" % (sum(floors) / 5, ", ".join("%.0f" % f for f in floors)))
print("bench: each ratio is to the mean of the floors measured right before and right after that figure")
def line(name, v, before, after, events=None, note=""):
    f = (before + after) / 2
    ev = v if events is None else events
    print("bench: %s %8.0f req/s = %8.0f events/s   floor %6.0f (%.0f, %.0f)   ratio %.3f%s"
          % (name, v, ev, f, before, after, ev / f, note))
    return ev / f
line("/v1/log  1 conn ", l1, f0, f1)
line("/v1/log  4 conns", l4, f1, f2)
r16 = line("/v1/log 16 conns", l16, f2, f3)
rb = line("/v2/log 16 conns", b16, f3, f4, b16 * 100, " (events/s over floor req/s)")
print("bench: target /v1/log@16 >= 0.35 x floor: %s" % ("met" if r16 >= 0.35 else "NOT met"))
print("bench: target /v2/log events/s >= 3 x floor: %s" % ("met" if rb >= 3 else "NOT met"))
print("bench: /v1/log 16 conns with search indexing off %.0f req/s; with indexing on / off = %.3f (target >= 0.8: %s)"
      % (l16off, l16 / l16off, "met" if l16 / l16off >= 0.8 else "NOT met"))
print("bench:   for information, each over the floors around it: on %.3f / off %.3f = %.3f (floors %.0f, %.0f around the off run)"
      % (r16, l16off / ((f5 + f6) / 2), r16 / (l16off / ((f5 + f6) / 2)), f5, f6))
PY
"$TOP/bin/salog" --data "$WORK/data" verify | tail -n 2
[ "${BENCH_HTTP_ONLY:-0}" = 1 ] && exit 0   # just the wrk part (quick comparisons)
mkdir -p "$WORK/tree" "$WORK/search"
"$TOP/build/tree_bench" "$WORK/tree"
rm -rf "$WORK/tree"
"$TOP/build/search_bench" "$WORK/search" ${SEARCH_BENCH_EVENTS:-}
