#!/bin/sh
# tamper.sh ADMIN DATA: with the service stopped, flip one byte of a stored event
# inside events.db (an attacker with file access) and show that `salog verify`
# names it and exits 1, after passing on the untouched log.
set -u
ADMIN=$1
DATA=$2
MARK="tamper target 7f3a"
if ! "$ADMIN" --data "$DATA" verify > "$DATA/../verify-before.out" 2>&1; then
    echo "tamper: verify failed before tampering:"; cat "$DATA/../verify-before.out"; exit 1
fi
python3 - "$DATA/events.db" "$MARK" <<'PY' || exit 1
import sys
path, mark = sys.argv[1], sys.argv[2].encode()
data = bytearray(open(path, "rb").read())
at = data.find(mark)
if at < 0:
    sys.exit("tamper: marker event not found in events.db")
data[at] ^= 0x20          # 't' -> 'T': one bit of one byte
open(path, "r+b").write(data)
print("tamper: flipped one byte at offset %d of events.db" % at)
PY
# The environment is not in use: drop its cached pages so the next opener reads the file.
rm -f "$DATA"/__db.0*
"$ADMIN" --data "$DATA" verify > "$DATA/../verify-after.out" 2>&1
rc=$?
if [ $rc -ne 1 ] || ! grep -q "event [0-9]" "$DATA/../verify-after.out"; then
    echo "tamper: salog verify did not report the flipped byte (exit $rc):"; cat "$DATA/../verify-after.out"; exit 1
fi
echo "tamper: salog verify exit 1: $(grep -m1 'event [0-9]' "$DATA/../verify-after.out")"
