#!/usr/bin/env python3
"""Writes the "Field encryption (extension)" section of docs/performance.md
from the output of bench-sqlite and bench-sqlcipher (see bench/run).

Only the text between the section's markers is replaced; the rest of the file
(other benchmarks' sections) is kept.  A file without the markers gets the
section appended; a missing file is created with a short preamble.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

START = "<!-- bench:extension:start -->"
END = "<!-- bench:extension:end -->"

PREAMBLE = """# Performance

Measured, not asserted.  Each section below is written by a generator from one
run of its benchmark, all configurations side by side in that run, and
starts with the command that produced it; rerun that command to refresh it.
Absolute times depend on the machine; the ratios are what to compare.
"""

N_NOTES = 100_000
N_POINT = 10_000

# The targets from the issue.
TARGET_INSERT_RATIO = 1.25
TARGET_OVERHEAD_US = 0.3

CONFIGS = {
    "sqlite": "plain SQLite",
    "sqlite-udf": "control: plain SQLite through a copying C function",
    "mts": "MTS (mts extension)",
    "sqlcipher-rawkey": "SQLCipher, raw key",
    "sqlcipher-passphrase": "SQLCipher, passphrase",
    "libsodium": "raw libsodium",
}


def parse(path):
    versions, params, samples = {}, {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "VERSION" and len(parts) >= 3:
                versions[parts[1]] = " ".join(parts[2:])
            elif parts[0] == "PARAM" and len(parts) >= 4:
                params.setdefault((parts[1], parts[2]), " ".join(parts[3:]))
            elif parts[0] == "RESULT" and len(parts) == 5:
                key = (parts[1], parts[2])
                samples.setdefault(key, []).append((float(parts[3]), int(parts[4])))
    return versions, params, samples


def machine(build):
    def run(*cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "?"

    model = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    buildtype = "?"
    try:
        options = json.loads(run("meson", "introspect", "--buildoptions", build))
        values = {o["name"]: o["value"] for o in options}
        buildtype = "%s (optimization %s)" % (values.get("buildtype", "?"),
                                              values.get("optimization", "?"))
    except (ValueError, KeyError, TypeError):
        pass
    tmp = os.environ.get("TMPDIR") or "/tmp"
    fs = run("findmnt", "-n", "-o", "FSTYPE", "-T", tmp)
    return {
        "nproc": run("nproc"),
        "cpu": model,
        "kernel": platform.release(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "buildtype": buildtype,
        "tmp": "%s (%s)" % (tmp, fs),
    }


def others_share(args):
    """The share of the machine's CPU time that other processes spent in user
    mode during the rounds, or None when it cannot be told.  User mode only:
    kernel threads writing back the benchmark's own files would count as
    "others" in system time."""
    try:
        before = [int(x) for x in args.cpu[0].split()[1:]]
        after = [int(x) for x in args.cpu[1].split()[1:]]
        own = int(args.self_ticks[1]) - int(args.self_ticks[0])
    except (TypeError, ValueError, IndexError):
        return None
    delta = [a - b for a, b in zip(after, before)]
    total = sum(delta[:8])    # user nice system idle iowait irq softirq steal
    if total <= 0:
        return None
    return max(0.0, (delta[0] + delta[1] - own) / total)


def fmt_ms(seconds):
    if seconds is None:
        return "—"
    ms = seconds * 1e3
    if ms >= 100:
        return "%.0f ms" % ms
    if ms >= 10:
        return "%.1f ms" % ms
    if ms >= 1:
        return "%.2f ms" % ms
    return "%.3f ms" % ms


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    r = a / b
    return ("%.0f×" if r >= 100 else "%.2f×") % r


def fmt_us(x):
    return "—" if x is None else "%+.2f µs" % x


def verdict(ok):
    return "**met**" if ok else "**not met**"


def render(args, versions, params, samples):
    best = {k: min(s for s, _ in v) for k, v in samples.items()}
    rounds = max((len(v) for k, v in samples.items() if k[1] == "insert"), default=0)

    def b(config, workload):
        return best.get((config, workload))

    m = machine(args.build)
    have_cipher = b("sqlcipher-rawkey", "insert") is not None
    out = []
    w = out.append

    w("## Field encryption (extension)")
    w("")
    w("Produced by `%s`, run from the top of the source tree." % args.command)
    w("")
    w("- Machine: %s, %s cores (`nproc`), Linux %s; databases in %s; load average (1, 5, "
      "15 min) %s just before the run." % (m["cpu"], m["nproc"], m["kernel"], m["tmp"], args.load))
    share = others_share(args)
    if share is not None:
        w("- Other processes' user-mode CPU time during the rounds: %.0f%% of the machine (from "
          "/proc/stat, less the benchmark's own); the benchmark is single-threaded and uses at "
          "most %s of it.%s" % (
              share * 100, "1/%s" % m["nproc"] if m["nproc"] not in ("?", "1") else "all",
              "  **The machine was not idle: treat small differences with care.**"
              if share >= 0.05 else ""))
    w("- Date: %s.  Build: %s." % (m["date"], m["buildtype"]))
    w("- Versions: SQLite %s (system libsqlite3); SQLCipher %s (on SQLite %s); libsodium %s." % (
        versions.get("sqlite", "?"), versions.get("sqlcipher", "not built"),
        versions.get("sqlcipher-sqlite", "—"), versions.get("libsodium", "?")))
    w("- Statistic: the **best (minimum) of %d rounds**; each round runs every configuration "
      "once, in turn, each on a fresh database file in a fresh temporary directory." % rounds)
    w("")
    w("Workload (the issue's): 100,000 notes of 1 KiB of seeded random bytes (the same bytes "
      "in every configuration), table `notes (id INTEGER PRIMARY KEY, body BLOB NOT NULL)`:")
    w("(a) insert all in one transaction, COMMIT included; (b) a full scan reading every note; "
      "(c) 10,000 point reads by id (seeded random ids), each reading the note.  Every note read "
      "is compared with the bytes written.  All configurations use the default rollback journal "
      "(`journal_mode=%s`, `synchronous=%s`) and %s-byte pages." % (
          params.get(("sqlite", "journal_mode"), "?"), params.get(("sqlite", "synchronous"), "?"),
          params.get(("sqlite", "page_size"), "?")))
    w("")
    w("- **plain SQLite**: `INSERT … VALUES (?1, ?2)`; `SELECT id, body`.")
    w("- **MTS**: the extension loaded with `sqlite3_load_extension`; "
      "`mts_encrypt(?2, 'notes.body:' || ?1)` on insert, `mts_decrypt(body, 'notes.body:' || id)` "
      "on read; keystore created at the default level, `moderate`.")
    w("- **SQLCipher**: `PRAGMA key = \"x'<64 hex digits>'\"` (raw key, no KDF) or "
      "`PRAGMA key = '<passphrase>'` (PBKDF2-HMAC-SHA1, kdf_iter %s); %s, HMAC on every page; "
      "`cipher_page_size = %s` (SQLCipher 3 defaults to 1024, which puts every 1 KiB note on an "
      "overflow page; 4096 is plain SQLite's page size and SQLCipher 4's default)." % (
          params.get(("sqlcipher-passphrase", "kdf_iter"), "?"),
          params.get(("sqlcipher-rawkey", "cipher"), "?"),
          params.get(("sqlcipher-rawkey", "cipher_page_size"), "?")))
    w("- **raw libsodium**: `crypto_aead_xchacha20poly1305_ietf_encrypt`/`_decrypt` of the same "
      "notes in a loop, no SQLite: a fresh random nonce per note (`randombytes_buf`) and "
      "associated data as long as the envelope's (30-byte header + context).")
    w("")

    # ---- the main table ----
    w("### Times and ratios")
    w("")
    cols = ["sqlite", "mts"] + (["sqlcipher-rawkey", "sqlcipher-passphrase"] if have_cipher else [])
    head = ["Workload"] + [CONFIGS[c] for c in cols] + ["MTS / plain"]
    if have_cipher:
        head += ["MTS / SQLCipher raw key", "MTS / SQLCipher passphrase"]
    w("| " + " | ".join(head) + " |")
    w("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    rows = [
        ("insert", "(a) insert 100,000, one transaction"),
        ("scan", "(b) full scan, 100,000"),
        ("point", "(c) 10,000 point reads"),
        ("open", "reopen: open + key/unlock + first read"),
    ]
    for wl, label in rows:
        cells = [label] + [fmt_ms(b(c, wl)) for c in cols] + [fmt_ratio(b("mts", wl), b("sqlite", wl))]
        if have_cipher:
            cells += [fmt_ratio(b("mts", wl), b("sqlcipher-rawkey", wl)),
                      fmt_ratio(b("mts", wl), b("sqlcipher-passphrase", wl))]
        w("| " + " | ".join(cells) + " |")
    w("")
    w("Ratios below 1 mean MTS is faster.  MTS's reopen is dominated by the Argon2id unlock "
      "(next section); SQLCipher's passphrase reopen by PBKDF2.")
    w("")

    # ---- keys ----
    ops = params.get(("mts", "argon2id_opslimit"))
    mem = params.get(("mts", "argon2id_memlimit"))
    mem_txt = "?" if mem is None else "%s bytes = %d MiB" % (mem, int(mem) // (1 << 20))
    w("### Unlocking")
    w("")
    w("| Step | Time | Parameters |")
    w("|---|---:|---|")
    w("| MTS keystore creation (`mts_keystore_create`) | %s | Argon2id, opslimit %s, memlimit %s |" %
      (fmt_ms(b("mts", "keystore_create")), ops or "?", mem_txt))
    w("| MTS unlock (`mts_unlock`) | %s | Argon2id, opslimit %s, memlimit %s |" %
      (fmt_ms(b("mts", "unlock")), ops or "?", mem_txt))
    if have_cipher:
        w("| SQLCipher open with passphrase (key + first read) | %s | PBKDF2-HMAC-SHA1, %s iterations |" %
          (fmt_ms(b("sqlcipher-passphrase", "open")),
           params.get(("sqlcipher-passphrase", "kdf_iter"), "?")))
        w("| SQLCipher open with raw key (key + first read) | %s | no KDF |" %
          fmt_ms(b("sqlcipher-rawkey", "open")))
    w("| plain SQLite open (first read) | %s | — |" % fmt_ms(b("sqlite", "open")))
    w("")
    w("The Argon2id parameters are read from the keystore file's header.  Unlock is paid once "
      "per connection, and its cost is deliberate: it is what each passphrase guess costs "
      "whoever holds a copy of the keystore file.")
    w("")

    # ---- overhead per call ----
    w("### The SQL function's own overhead per call")
    w("")
    w("Overhead per call = (MTS − plain SQLite − raw libsodium) / calls.  The control "
      "`sqlite-udf` runs the same SQL through `bench_copy(note, 'notes.body:' || id)`, a C "
      "function that only checks its context and returns a `sqlite3_malloc` copy of the note, "
      "so the overhead splits into what any such SQL function costs (SQLite's call, building "
      "the context string, the result buffer: control − plain) and the extension's own code "
      "(MTS − control − raw libsodium).")
    w("")
    w("| Calls | raw libsodium per call | overhead per call | of which SQL call + context + result | of which the extension's code |")
    w("|---|---:|---:|---:|---:|")
    overhead = {}
    raw_dec = b("libsodium", "decrypt")
    for wl, fn, raw_key, calls in (("insert", "mts_encrypt", "encrypt", N_NOTES),
                                   ("scan", "mts_decrypt (scan)", "decrypt", N_NOTES),
                                   ("point", "mts_decrypt (point reads)", "decrypt", N_POINT)):
        raw = b("libsodium", raw_key)
        if raw is not None and wl == "point":
            raw = raw * N_POINT / N_NOTES   # the per-note decrypt cost, see bench-sqlite.c
        mts, plain, udf = b("mts", wl), b("sqlite", wl), b("sqlite-udf", wl)
        if None in (raw, mts, plain):
            continue
        per = (mts - plain - raw) / calls * 1e6
        overhead[wl] = per
        sql_part = None if udf is None else (udf - plain) / calls * 1e6
        ext_part = None if udf is None else (mts - udf - raw) / calls * 1e6
        w("| `%s` × %s | %.2f µs | %s | %s | %s |" % (
            fn, format(calls, ","), raw / calls * 1e6, fmt_us(per), fmt_us(sql_part), fmt_us(ext_part)))
    w("")
    w("The point-read line divides differences of about a millisecond by 10,000 calls, so it "
      "moves by ±0.1 µs or more from run to run (see the spread below); the insert and scan "
      "lines, over 100,000 calls each, are the ones to judge by.  Point reads use the per-note "
      "time of the in-order decrypt loop as their floor; in that loop libsodium's code and the "
      "key stay in the CPU caches, while between two B-tree seeks they probably do not, so the "
      "point-read overhead likely includes cache misses as well as the function's own work.")
    w("")

    # ---- targets ----
    w("### Targets (from the issue)")
    w("")
    ins_ratio = None if b("sqlite", "insert") is None else b("mts", "insert") / b("sqlite", "insert")
    floor_ratio = None
    if b("libsodium", "encrypt") is not None and b("sqlite", "insert"):
        floor_ratio = (b("sqlite", "insert") + b("libsodium", "encrypt")) / b("sqlite", "insert")
    ok_ratio = ins_ratio is not None and ins_ratio <= TARGET_INSERT_RATIO
    cipher_ins = [b(c, "insert") for c in ("sqlcipher-rawkey", "sqlcipher-passphrase")
                  if b(c, "insert") is not None]
    ok_cipher = bool(cipher_ins) and b("mts", "insert") < min(cipher_ins)
    w("1. *Encrypted insert within %.2f× plain SQLite and faster than SQLCipher.*" % TARGET_INSERT_RATIO)
    reach = ""
    if floor_ratio is not None and floor_ratio > TARGET_INSERT_RATIO:
        reach = ("  Plain SQLite plus the raw libsodium encryption alone, with no SQL function at "
                 "all, is already %.2f×: on this machine XChaCha20-Poly1305 with a random nonce "
                 "costs %.2f µs per KiB against %.2f µs for SQLite to insert a note, so %.2f× is "
                 "out of reach for any code around this cipher." % (
                     floor_ratio, b("libsodium", "encrypt") / N_NOTES * 1e6,
                     b("sqlite", "insert") / N_NOTES * 1e6, TARGET_INSERT_RATIO))
    w("   - Within %.2f× plain SQLite: %s — MTS insert is %.2f× plain SQLite.%s" % (
        TARGET_INSERT_RATIO, verdict(ok_ratio), ins_ratio or 0, reach))
    if cipher_ins:
        w("   - Faster than SQLCipher: %s — MTS insert is %s SQLCipher's with a raw key and %s "
          "with a passphrase." % (verdict(ok_cipher),
                                  fmt_ratio(b("mts", "insert"), b("sqlcipher-rawkey", "insert")),
                                  fmt_ratio(b("mts", "insert"), b("sqlcipher-passphrase", "insert"))))
    else:
        w("   - Faster than SQLCipher: not measured (bench-sqlcipher was not built).")
    judged = [overhead[k] for k in ("insert", "scan") if k in overhead]
    ok_over = bool(judged) and max(judged) <= TARGET_OVERHEAD_US
    w("2. *The SQL function's own overhead per call within %.1f µs of raw libsodium.* %s — "
      "`mts_encrypt` %s, `mts_decrypt` %s per call (point reads: %s, noisy)." % (
          TARGET_OVERHEAD_US, verdict(ok_over), fmt_us(overhead.get("insert")),
          fmt_us(overhead.get("scan")), fmt_us(overhead.get("point"))))
    w("3. *Unlock time reported with its Argon2id parameters.* %s — %s with opslimit %s, "
      "memlimit %s (level `moderate`)." % (
          verdict(b("mts", "unlock") is not None and ops is not None),
          fmt_ms(b("mts", "unlock")), ops or "?", mem_txt))
    w("")

    # ---- all samples ----
    w("<details><summary>Every measurement: best, median and spread over the rounds</summary>")
    w("")
    w("| Configuration | Workload | Ops | Best | Median | (median − best) / best |")
    w("|---|---|---:|---:|---:|---:|")
    order = list(CONFIGS)
    for key in sorted(samples, key=lambda k: (order.index(k[0]) if k[0] in order else 99, k[1])):
        vals = [s for s, _ in samples[key]]
        ops_n = samples[key][0][1]
        med = statistics.median(vals)
        w("| %s | %s | %s | %s | %s | %.1f%% |" % (
            key[0], key[1], format(ops_n, ","), fmt_ms(min(vals)), fmt_ms(med),
            (med - min(vals)) / min(vals) * 100 if min(vals) > 0 else 0))
    w("")
    w("</details>")
    return "\n".join(out) + "\n"


def write_section(path, section):
    block = START + "\n" + section + END + "\n"
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = None
    if text is None:
        text = PREAMBLE + "\n" + block
    elif START in text and END in text and text.index(START) < text.index(END):
        pattern = re.compile(re.escape(START) + r".*?" + re.escape(END) + r"\n?", re.S)
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--results", required=True, help="bench-sqlite and bench-sqlcipher output")
    p.add_argument("--output", required=True, help="docs/performance.md")
    p.add_argument("--command", required=True, help="the command that produced the results")
    p.add_argument("--build", required=True, help="the build directory")
    p.add_argument("--load", default="?", help="/proc/loadavg before the run")
    p.add_argument("--cpu", nargs=2, metavar=("BEFORE", "AFTER"),
                   help="the 'cpu' line of /proc/stat before and after the rounds")
    p.add_argument("--self-ticks", nargs=2, metavar=("BEFORE", "AFTER"),
                   help="the benchmark's own CPU ticks (children of bench/run) before and after")
    args = p.parse_args()
    versions, params, samples = parse(args.results)
    for need in (("sqlite", "insert"), ("mts", "insert"), ("libsodium", "encrypt")):
        if need not in samples:
            sys.exit("gen-performance: no %s %s result in %s" % (need + (args.results,)))
    write_section(args.output, render(args, versions, params, samples))


if __name__ == "__main__":
    main()
