#!/usr/bin/env python3
"""Counts test cases in meson test logs and prints 'N passed, N failed'.

Usage: count-tests.py LABEL=path/to/testlog.json [...]

A TAP test counts each of its cases ('ok' / 'not ok' lines); any other test
counts once.  A TAP test that failed without reporting a failed case (a
crash, a timeout) counts one more failure.  Prints a line per log, then the
total as the last line.
"""
import json
import re
import sys

TAP_RE = re.compile(r"^(not ok|ok)\b(.*)$")


def count(path):
    passed = failed = 0
    failures = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            t = json.loads(line)
            result = t.get("result")
            if result == "SKIP":
                continue
            out = t.get("stdout") or ""
            oks = nots = 0
            for l in out.splitlines():
                m = TAP_RE.match(l)
                if not m:
                    continue
                if "# SKIP" in m.group(2) or "# skip" in m.group(2):
                    continue
                if m.group(1) == "ok":
                    oks += 1
                else:
                    nots += 1
                    failures.append(f"{t['name']}: {l}")
            ok = result in ("OK", "EXPECTEDFAIL")
            if oks + nots == 0:
                passed += ok
                failed += not ok
                if not ok:
                    failures.append(f"{t['name']}: {result}")
            else:
                passed += oks
                failed += nots
                if not ok and nots == 0:
                    failed += 1
                    failures.append(f"{t['name']}: {result} (after {oks} passing cases)")
    return passed, failed, failures


def main():
    total_p = total_f = 0
    for arg in sys.argv[1:]:
        label, _, path = arg.partition("=")
        try:
            p, f, failures = count(path)
        except FileNotFoundError:
            p, f, failures = 0, 1, [f"{path}: no test log (the run did not happen)"]
        print(f"{label}: {p} passed, {f} failed")
        for x in failures[:40]:
            print(f"  FAILED {x}")
        total_p += p
        total_f += f
    print(f"{total_p} passed, {total_f} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
