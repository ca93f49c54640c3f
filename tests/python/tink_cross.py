"""Cross-implementation check with Python Tink, driven by core/tests/tink_cross.rs.

Usage: tink_cross.py JOBS.json. Each job is one of
  {"op": "decrypt", "key": hex, "object": path, "out": path}
      decrypt a firekeep object with stock Tink (tink_example.decrypt_object)
  {"op": "encrypt", "key": hex, "segment_size": n, "aad": path, "plaintext": path, "out": path}
      encrypt with stock Tink (body only; the aad file is the firekeep header)
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tink_example import decrypt_object, streaming_aead_for  # noqa: E402


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    for job in jobs:
        key = bytes.fromhex(job["key"])
        if job["op"] == "decrypt":
            with open(job["object"], "rb") as f:
                _, plaintext = decrypt_object(key, f.read())
            with open(job["out"], "wb") as f:
                f.write(plaintext)
        elif job["op"] == "encrypt":
            primitive = streaming_aead_for(key, job["segment_size"])
            with open(job["aad"], "rb") as f:
                aad = f.read()
            with open(job["plaintext"], "rb") as f:
                plaintext = f.read()
            # Tink's encrypting stream closes the file it writes to.
            out = open(job["out"], "wb")
            with primitive.new_encrypting_stream(out, aad) as stream:
                stream.write(plaintext)
        else:
            raise SystemExit(f"unknown op {job['op']}")
    print(f"tink_cross: {len(jobs)} jobs done")


if __name__ == "__main__":
    main()
