#!/usr/bin/python3
"""st_meta.py - reads and edits a safetensors file's header, for the tests.

  st_meta.py FILE get KEY            print __metadata__[KEY] (exit 1 when absent)
  st_meta.py FILE set KEY=VALUE...   set (VALUE empty: remove) keys, data untouched
  st_meta.py FILE flip               change one byte in the middle of the data
  st_meta.py FILE keep NAME...       keep only these tensors (their data too)
  st_meta.py FILE bn SEED            every BN's weight, bias, running mean and variance
                                     drawn at random near 1, 0, 0 and 1 (gen --infer's tests)
  st_meta.py FILE poke NAME I VALUE  set element I of F32 tensor NAME (nan, inf ...)

The header is read with Python's json, as safetensors and torch read it: a
header that json cannot load fails here too.
"""
import json
import random
import struct
import sys


def read(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n].decode("utf-8")), raw[8 + n :]


def write(path, header, data):
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + data)


def main():
    path, op, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    header, data = read(path)
    meta = header.setdefault("__metadata__", {})
    if op == "get":
        if args[0] not in meta:
            sys.exit(1)
        print(meta[args[0]])
    elif op == "set":
        for kv in args:
            key, value = kv.split("=", 1)
            if value:
                meta[key] = value
            else:
                meta.pop(key, None)
        write(path, header, data)
    elif op == "flip":
        at = len(data) // 2
        write(path, header, data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1 :])
    elif op == "keep":
        kept, out = {"__metadata__": meta}, b""
        for name in args:
            begin, end = header[name]["data_offsets"]
            kept[name] = dict(header[name], data_offsets=[len(out), len(out) + end - begin])
            out += data[begin:end]
        meta.pop("data_crc32", None)
        write(path, kept, out)
    elif op == "bn":
        rng, data = random.Random(int(args[0])), bytearray(data)
        spread = {"weight": (0.8, 1.2), "bias": (-0.2, 0.2), "running_mean": (-0.2, 0.2),
                  "running_var": (0.6, 1.4)}
        for name, entry in header.items():
            kind = name.rsplit(".", 1)[-1]
            if name == "__metadata__" or kind not in spread or "bn" not in name and \
                    "downsample.1" not in name:
                continue
            begin, end = entry["data_offsets"]
            values = [rng.uniform(*spread[kind]) for _ in range((end - begin) // 4)]
            data[begin:end] = struct.pack("<%df" % len(values), *values)
        meta.pop("data_crc32", None)
        write(path, header, bytes(data))
    elif op == "poke":
        name, index, value = args[0], int(args[1]), float(args[2])
        at = header[name]["data_offsets"][0] + 4 * index
        meta.pop("data_crc32", None)
        write(path, header, data[:at] + struct.pack("<f", value) + data[at + 4 :])
    else:
        sys.exit("st_meta.py: unknown operation " + op)


main()
