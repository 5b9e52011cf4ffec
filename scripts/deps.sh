#!/bin/sh
# Installs the Debian packages salog needs, only when one is missing.
set -e
PKGS="build-essential pkg-config libfcgi-dev libfcgi-bin libjson-c-dev libmsgpack-dev libdb-dev db5.3-util
libcriterion-dev libssl-dev zlib1g-dev spawn-fcgi lighttpd apache2 libapache2-mod-fcgid wrk valgrind curl"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "salog: missing Debian packages:$missing (run as root to install them)" >&2
        exit 1
    fi
    echo "salog: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
