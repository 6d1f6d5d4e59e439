#!/usr/bin/env python3
"""Validates JSON instances against JSON Schemas with the `jsonschema` package (Draft 2020-12).

Reads one JSON object per line on stdin: {"schema": {...}, "instance": "<text the model or matcher produced>"}.
Prints one line per input: "ok" or "error: <why>" (text that does not parse, or a validation error).
Used by the grammar tests; scripts/test installs jsonschema if missing.
"""
import json
import sys

import jsonschema

for line in sys.stdin:
    if not line.strip():
        continue
    case = json.loads(line)
    try:
        value = json.loads(case["instance"])
    except Exception as e:  # noqa: BLE001 - any parse failure is reported
        print("error: not JSON: %s" % e)
        continue
    try:
        jsonschema.validate(value, case["schema"], cls=jsonschema.Draft202012Validator,
                            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        print("ok")
    except jsonschema.ValidationError as e:
        print("error: %s" % e.message.replace("\n", " "))
