#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/fuzz_msgpack_request.

Standard library only: MessagePack is packed by hand with struct, so the
corpus can hold what a normal encoder would refuse to produce (lying length
headers, repeated keys, bin/ext, NaN, non-string keys, invalid UTF-8).
Usage: python3 tests/fuzz/make_msgpack_corpus.py [OUTDIR]
"""
import os
import struct
import sys


def pack(v):
    """Packs a Python value the way a client would (smallest forms)."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v <= 0x7F:
            return struct.pack("B", v)
        if -32 <= v < 0:
            return struct.pack("b", v)
        if 0 <= v <= 0xFF:
            return b"\xcc" + struct.pack(">B", v)
        if 0 <= v <= 0xFFFF:
            return b"\xcd" + struct.pack(">H", v)
        if 0 <= v <= 0xFFFFFFFF:
            return b"\xce" + struct.pack(">I", v)
        if 0 <= v <= 0xFFFFFFFFFFFFFFFF:
            return b"\xcf" + struct.pack(">Q", v)
        if -0x80 <= v:
            return b"\xd0" + struct.pack(">b", v)
        if -0x8000 <= v:
            return b"\xd1" + struct.pack(">h", v)
        if -0x80000000 <= v:
            return b"\xd2" + struct.pack(">i", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        return str_bytes(v.encode("utf-8"))
    if isinstance(v, bytes):  # raw bytes as a *string* (may be invalid UTF-8)
        return str_bytes(v)
    if isinstance(v, list):
        return array_header(len(v)) + b"".join(pack(x) for x in v)
    if isinstance(v, Pairs):
        return map_header(len(v.items)) + b"".join(pack(k) + pack(x) for k, x in v.items)
    if isinstance(v, dict):
        return pack(Pairs(list(v.items())))
    if isinstance(v, Raw):
        return v.data
    raise TypeError(type(v))


class Pairs:
    """A map given as a list of pairs, so keys may repeat or be non-strings."""

    def __init__(self, items):
        self.items = items


class Raw:
    """Bytes inserted verbatim."""

    def __init__(self, data):
        self.data = data


def str_bytes(b):
    n = len(b)
    if n <= 31:
        return struct.pack("B", 0xA0 | n) + b
    if n <= 0xFF:
        return b"\xd9" + struct.pack(">B", n) + b
    if n <= 0xFFFF:
        return b"\xda" + struct.pack(">H", n) + b
    return b"\xdb" + struct.pack(">I", n) + b


def array_header(n):
    if n <= 15:
        return struct.pack("B", 0x90 | n)
    if n <= 0xFFFF:
        return b"\xdc" + struct.pack(">H", n)
    return b"\xdd" + struct.pack(">I", n)


def map_header(n):
    if n <= 15:
        return struct.pack("B", 0x80 | n)
    if n <= 0xFFFF:
        return b"\xde" + struct.pack(">H", n)
    return b"\xdf" + struct.pack(">I", n)


def nested_arrays(depth):
    return b"\x91" * depth + b"\x01"


CORPUS = {
    "log_v1": pack({"event": {"message": "hi"}}),
    "log_v1_full": pack({"event": {"action": "login", "actor": "alice", "message": "user logged in",
                                   "source": "web", "status": "success", "tenant_id": "t1"},
                         "verbose": True}),
    "log_v2": pack({"config_id": "pci_abc",
                    "events": [{"event": {"message": "a"}}, {"event": {"message": "b"}},
                               {"event": {"message": "c"}, "signature": "s", "public_key": "k"}]}),
    "search": pack({"query": "actor:alice", "limit": 20, "order": "asc", "verbose": True,
                    "search_restriction": {"actor": ["alice", "bob"]}}),
    "config": pack({"name": "cfg", "version": 3, "forwarding_configuration": None,
                    "schema": {"fields": [{"id": "message", "size": 32766, "required": True}]}}),
    "unicode": pack({"event": {"message": "\u00e9\u20ac\U0001F600 \u0000\u001f\u007f\u2028 \"\\/"}}),
    "long_forms": pack({"s8": "x" * 40, "s16": "y" * 300, "a16": list(range(20)),
                        "m16": {"k%d" % i: i for i in range(20)}}),
    "str32_array32_map32": (b"\xdf" + struct.pack(">I", 1) + b"\xdb" + struct.pack(">I", 1) + b"k"
                            + b"\xdd" + struct.pack(">I", 2) + b"\x01\x02"),
    "ints": pack([0, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1,
                  -1, -32, -33, -128, -129, -32768, -32769, -2**31, -2**31 - 1, -2**63]),
    "int_wide_forms": b"\x94\xd0\x7f\xd1\x00\x01\xd2\xff\xff\xff\xff\xd3" + struct.pack(">q", -5),
    "uint64_too_big": pack({"n": 2**63}),
    "floats": pack([1.5, -0.0, 1e300, 0.1]) + b"",
    "float32": b"\x92\xca" + struct.pack(">f", 1.5) + b"\xca" + struct.pack(">f", -0.25),
    "nan": pack({"f": float("nan")}),
    "inf32": b"\x81\xa1f\xca" + struct.pack(">f", float("inf")),
    "nil_bools": pack({"a": None, "b": True, "c": False, "d": [None, {}]}),
    "dup_keys": pack(Pairs([("event", Pairs([("message", "a"), ("message", "b")]))])),
    "dup_deep": pack({"events": [{}, {}, {}, {"event": Pairs([("actor", 1), ("actor", 2)])}]}),
    "dup_str8_vs_fixstr": b"\x82\xa1k\x01\xd9\x01k\x02",
    "int_key": pack({"event": Pairs([(1, "x")])}),
    "nil_key": pack(Pairs([(None, 1)])),
    "array_key": pack(Pairs([([1], 1)])),
    "bin_value": pack({"event": {"data": Raw(b"\xc4\x02ab")}}),
    "bin32_huge": b"\x81\xa1x\xc6\xff\xff\xff\xff",
    "ext_timestamp32": b"\x81\xa2ts\xd6\xff" + struct.pack(">I", 1700000000),
    "ext_timestamp96": b"\x81\xa2ts\xc7\x0c\xff" + struct.pack(">IQ", 0, 1700000000),
    "fixext1": b"\x91\xd4\x01\x00",
    "ext32_huge": b"\x91\xc9\xff\xff\xff\xff\x05",
    "bad_utf8_value": pack({"m": Raw(b"\xa2\xff\xfe")}),
    "bad_utf8_key": b"\x81\xa1\xfe\x01",
    "surrogate_utf8": pack({"m": b"\xed\xa0\x80"}),
    "nul_key": pack({"a\u0000b": 1}),
    "deep_32": nested_arrays(32),
    "deep_33": nested_arrays(33),
    "deep_maps_33": b"\x81\xa1a" * 33 + b"\x01",
    # hostile length headers: declared counts far beyond the bytes present
    "array32_max": b"\xdd\xff\xff\xff\xff",
    "map32_max": b"\xdf\xff\xff\xff\xff",
    "array16_max": b"\xdc\xff\xff",
    "map16_short": b"\xde\x00\x02\xa1a\x01",
    "str32_max": b"\xdb\xff\xff\xff\xff" + b"a",
    "nested_hostile": b"\x81\xa1e\x91\xdd\x7f\xff\xff\xff\x01",
    "fixarray_empty_tail": b"\x9f",
    "trailing": pack({"a": 1}) + b"\x00",
    "truncated": pack({"event": {"message": "hello"}})[:-3],
    "never_used_c1": b"\xc1",
    "top_scalar": pack("x"),
    "empty": b"",
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "fuzz_msgpack_request")
    os.makedirs(out, exist_ok=True)
    for name, data in CORPUS.items():
        with open(os.path.join(out, name + ".msgpack"), "wb") as f:
            f.write(data)
    print("wrote %d files to %s" % (len(CORPUS), out))


if __name__ == "__main__":
    main()
