#!/usr/bin/env python3
"""Writes a small GGUF file with the reference `gguf` Python package (the one llama.cpp's converters use).

HearthFormatsTests runs this to check that GGUFFile reads files produced by another implementation, not only
by GGUFWriter. Usage: make-reference-gguf.py OUT.gguf   (needs `pip install gguf numpy`)
"""
import sys

import numpy as np
import gguf

out = sys.argv[1]
w = gguf.GGUFWriter(out, "llama")  # writes general.architecture = "llama" first
w.add_name("reference")
w.add_uint8("t.u8", 200)
w.add_int8("t.i8", -100)
w.add_uint16("t.u16", 60000)
w.add_int16("t.i16", -30000)
w.add_uint32("t.u32", 4_000_000_000)
w.add_int32("t.i32", -2_000_000_000)
w.add_uint64("t.u64", 2**63 + 5)
w.add_int64("t.i64", -(2**62))
w.add_float32("t.f32", 1.5)
w.add_float64("t.f64", -2.25)
w.add_bool("t.bool", True)
w.add_string("t.str", "héllo ✓")
w.add_array("t.strs", ["a", "", "ĠGG"])
w.add_array("t.ints", [1, 2, 3])          # int32 in gguf-py
w.add_array("t.floats", [0.5, -1.0])      # float32 in gguf-py
w.add_uint32("llama.block_count", 2)

f32 = (np.arange(12, dtype=np.float32) - 3.0).reshape(3, 4)  # numpy shape (3, 4) -> ggml [4, 3]
w.add_tensor("f32", f32)
w.add_tensor("f16", np.array([1.0, -2.0], dtype=np.float16))
q = np.arange(2 * 18, dtype=np.uint8).reshape(1, 2 * 18)      # one row of two Q4_0 blocks -> ggml [64, 1]
w.add_tensor("q4_0", q, raw_dtype=gguf.GGMLQuantizationType.Q4_0)

w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
