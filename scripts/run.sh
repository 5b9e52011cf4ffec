#!/bin/sh
# make run: initialise the data directory when new, then serve the API through
# lighttpd on 127.0.0.1:PORT until Ctrl-C.
set -e
PORT=${1:-8080}
DATA=${2:-$(pwd)/var}
case "$DATA" in /*) ;; *) DATA=$(pwd)/$DATA ;; esac
TOP=$(pwd)
if [ ! -f "$DATA/salog.initialised" ]; then
    "$TOP/bin/salog" --data "$DATA" init
fi
RUNDIR=$(mktemp -d /tmp/salog-run.XXXXXX)
chmod 0755 "$RUNDIR"
mkdir -p "$RUNDIR/www"
cleanup() {
    [ -f "$RUNDIR/lighttpd.pid" ] && kill "$(cat "$RUNDIR/lighttpd.pid")" 2>/dev/null || true
    sleep 0.5
    rm -rf "$RUNDIR"
}
trap cleanup EXIT INT TERM
sh "$TOP/scripts/render.sh" "$TOP/lighttpd/salog.conf.in" "$RUNDIR/lighttpd.conf" "$RUNDIR" "$PORT" \
    "$TOP/bin/salog.fcgi" "$DATA" 1
echo "salog: serving http://127.0.0.1:$PORT/ (data $DATA); Ctrl-C stops"
# In the foreground, so that Ctrl-C reaches lighttpd, which stops its workers.
lighttpd -D -f "$RUNDIR/lighttpd.conf" || true
