#!/usr/bin/env python3
"""Seeds of fuzz_manifest and fuzz_tiles (tests/fuzz/corpus/manifest, corpus/tiles).

manifest: the shape src/run/pipeline.c writes (config_file, config, seed, versions, inputs,
stages) and the damaged shapes a run folder can hold (truncated, stages of the wrong type,
a stage named twice, not an object).
tiles: control byte, then plan.txt \\0 tiles.done \\0 tiles.done.1 \\0 tile 0's file, in the
layout of src/map/tiles.c: "SCTILE01", i64 index, i32 bands, w, h, u32 CRC-32 of the floats,
float32 values (little endian). Run: python3 tests/fuzz/seeds/make_manifest_tiles_seeds.py
"""
import json, os, struct, sys, zlib

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")

def put(kind, name, data):
    d = os.path.join(root, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

key = lambda c: (c * 64)[:64]
good = {
    "config_file": "area/study.ini",
    "config": "[project]\nout = run\nseed = 42\n[model]\nmodels = cnn_lstm forest\n",
    "seed": "42",
    "versions": {"scarp": "0.1.0", "gdal": "3.6.2", "libsvm": "332", "cairo": "1.16.0"},
    "inputs": {"area/dem.tif": key("a"), "area/rainfall.csv": key("b")},
    "stages": {"prepare": key("1"), "train.cnn_lstm": key("2"), "train.forest": key("3"),
               "map": key("4"), "evaluate": key("5")},
}
text = json.dumps(good, indent=2).encode()
put("manifest", "full.json", text)
put("manifest", "truncated.json", text[: len(text) // 2])
put("manifest", "stages_array.json", json.dumps(dict(good, stages=[key("1"), key("2")])).encode())
put("manifest", "stages_string.json", json.dumps(dict(good, stages="prepare")).encode())
put("manifest", "stage_not_string.json", json.dumps(dict(good, stages={"prepare": 7, "map": None})).encode())
put("manifest", "duplicate_stage.json",
    b'{"stages":{"prepare":"' + key("1").encode() + b'","map":"x","prepare":"' + key("9").encode() + b'"}}')
put("manifest", "array.json", b'[{"stages":{}}]')
put("manifest", "empty.json", b"")

def tile(index, bands, w, h, seed):
    vals = [((seed * 31 + k * 7) % 97) / 97.0 for k in range(bands * w * h)]
    body = struct.pack("<%df" % len(vals), *vals)
    return b"SCTILE01" + struct.pack("<qiiiI", index, bands, w, h, zlib.crc32(body)) + body

# control bits 0-1 pick the tiling (tests/fuzz/fuzz_tiles.c); bit 2 writes the right plan
shapes = [(50, 40, 16, 16), (16, 16, 16, 16), (72, 5, 8, 8), (3, 40, 2, 6)]
for s, (W, H, tw, th) in enumerate(shapes):
    plan = ("fuzzkey|%dx%d|%dx%d|2\n" % (W, H, tw, th)).encode()
    w0, h0 = min(tw, W), min(th, H)
    t0 = tile(0, 2, w0, h0, s)
    crc = zlib.crc32(t0[32:])
    journal = ("0 %08x\n" % crc).encode()
    put("tiles", "shape%d_plan_ok.bin" % s, bytes([s | 4]) + b"\0" + journal + b"\0\0" + t0)
    put("tiles", "shape%d_plan_given.bin" % s, bytes([s]) + plan + b"\0" + journal + b"\0\0" + t0)
    put("tiles", "shape%d_torn_journal.bin" % s,
        bytes([s | 4]) + b"\0" + journal + b"1 0000" + b"\0" + b"2 deadbeef\n" + b"\0" + t0)
    put("tiles", "shape%d_crcfix.bin" % s, bytes([s | 12]) + b"\0" + journal + b"\0\0" + t0[:40] + b"\x7f" * 5 + t0[45:])
put("tiles", "stale_plan.bin", bytes([0]) + b"other|1x1|1x1|1\n\0" + b"0 00000000\n\0\0")
put("tiles", "empty.bin", bytes([4]))
