#!/bin/sh
# render.sh TEMPLATE OUT RUNDIR PORT BIN DATA PROCS [PUBLISH_INTERVAL [PREFIX]] — fills a server config template.
set -e
sed -e "s|@RUNDIR@|$3|g" -e "s|@PORT@|$4|g" -e "s|@BIN@|$5|g" -e "s|@DATA@|$6|g" -e "s|@PROCS@|$7|g" \
    -e "s|@PUBLISH@|${8:-60}|g" -e "s|@PREFIX@|${9:-}|g" "$1" > "$2"
