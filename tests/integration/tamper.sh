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
# Make the data files current first (recovery + checkpoint): otherwise the newest
# copy of a page may live only in the log, and the next open's recovery would
# rewrite the tampered page from it.
"$ADMIN" --data "$DATA" recover > /dev/null || { echo "tamper: salog recover failed"; exit 1; }
python3 - "$DATA/events.db" "$MARK" <<'PY' || exit 1
import sys
path, mark = sys.argv[1], sys.argv[2].encode()
data = bytearray(open(path, "rb").read())
# Every copy: a btree split can leave a stale copy of a record in a free page,
# and only the live one matters. One bit of one byte per copy ('t' -> 'T').
at = data.find(mark)
if at < 0:
    sys.exit("tamper: marker event not found in events.db")
offsets = []
while at >= 0:
    data[at] ^= 0x20
    offsets.append(at)
    at = data.find(mark, at + 1)
open(path, "r+b").write(data)
print("tamper: flipped one bit at offset(s) %s of events.db" % ", ".join(map(str, offsets)))
PY
# And the stored root of the size that event made, zeroed in its config's
# roots-<config id>.db queue (every copy): readers fold the tree there, but
# verify must name the gap.
python3 - "$DATA" "$DATA/../tamper-root.hex" <<'PY' || exit 1
import glob, os, sys
data_dir, hexfile = sys.argv[1], sys.argv[2]
root = bytes.fromhex(open(hexfile).read().strip())
count, where = 0, []
for path in sorted(glob.glob(os.path.join(data_dir, "roots-*.db"))):
    data = bytearray(open(path, "rb").read())
    at = data.find(root)
    if at < 0:
        continue
    while at >= 0:
        data[at:at + 32] = bytes(32)
        count += 1
        at = data.find(root, at + 32)
    open(path, "r+b").write(data)
    where.append(os.path.basename(path))
if count == 0:
    sys.exit("tamper: the target's stored root is in no roots-*.db queue")
print("tamper: zeroed %d copies of a stored root in %s" % (count, ", ".join(where)))
PY
# The environment is not in use: drop its cached pages so the next opener reads the file.
rm -f "$DATA"/__db.0*
"$ADMIN" --data "$DATA" verify > "$DATA/../verify-after.out" 2>&1
rc=$?
if [ $rc -ne 1 ] || ! grep -q "event [0-9]" "$DATA/../verify-after.out"; then
    echo "tamper: salog verify did not report the flipped byte (exit $rc):"; cat "$DATA/../verify-after.out"; exit 1
fi
if ! grep -q "the stored roots of sizes [0-9]*\.\.[0-9]* are missing" "$DATA/../verify-after.out"; then
    echo "tamper: salog verify did not report the zeroed stored root:"; cat "$DATA/../verify-after.out"; exit 1
fi
echo "tamper: salog verify exit 1: $(grep -m1 'event [0-9]' "$DATA/../verify-after.out")"
echo "tamper: and $(grep -m1 'stored roots of sizes' "$DATA/../verify-after.out")"
