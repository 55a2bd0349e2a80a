#!/usr/bin/env python3
"""Writes the "Reference server" section of docs/performance.md from the
output of bench-server (see bench/run-server): one JSON object a line, after
the line bench/run-server writes about the run (command, load average, server
version).  The section's date is the results file's.  Only the text between
the section's markers is replaced; the rest of the file is kept.  Every
verdict is computed from the numbers.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess

START = "<!-- bench:server:start -->"
END = "<!-- bench:server:end -->"

# The targets from the issue.
TARGET_PUSH_OPS_S = 5000
TARGET_PULL_RECORDS_S = 20000
TARGET_P99_MS = 100
TARGET_P99_DEVICES = 50


def parse(path):
    versions, params, phases, paced, other = {}, {}, {}, {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            o = json.loads(line)
            kind = o.get("type")
            if kind == "version":
                versions[o["component"]] = o["version"]
            elif kind == "param":
                params[o["name"]] = o["value"]
            elif kind == "phase":
                phases[(o["phase"], o["devices"])] = o
            elif kind == "paced":
                paced[o["phase"]] = o
            elif kind in ("login", "seed", "run"):
                other[kind] = o
    return versions, params, phases, paced, other


def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def machine(build):
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
        values = {o["name"]: o["value"]
                  for o in json.loads(run("meson", "introspect", "--buildoptions", build))}
        buildtype = "%s (optimization %s)" % (values.get("buildtype", "?"),
                                              values.get("optimization", "?"))
    except (ValueError, KeyError, TypeError):
        pass
    tmp = os.environ.get("TMPDIR") or "/tmp"
    return {
        "cpu": model,
        "nproc": run("nproc"),
        "kernel": platform.release(),
        "buildtype": buildtype,
        "tmp": "%s (%s)" % (tmp, run("findmnt", "-n", "-o", "FSTYPE", "-T", tmp)),
    }


def num(v):
    return f"{v:,.0f}"


def ms(v):
    if v is None:
        return "—"
    if v >= 100:
        return f"{v:,.0f} ms"
    if v >= 10:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms"


def rate(o):
    return o["items"] / o["seconds"] if o and o["seconds"] > 0 else 0.0


def share(cpu, seconds):
    """CPU seconds over a wall time, as a share of one core."""
    if cpu is None or cpu < 0 or not seconds:
        return "?"
    return f"{cpu / seconds * 100:.0f}%"


def verdict(ok):
    return "**met**" if ok else "**not met**"


def render(args, versions, params, phases, paced, other):
    m = machine(args.build)
    run_info = other.get("run", {})
    command = run_info.get("command", args.command)
    load = run_info.get("load", args.load)
    server_version = run_info.get("server_version", args.server_version)
    when = datetime.datetime.fromtimestamp(os.path.getmtime(args.results), datetime.timezone.utc)
    ops_per_push = params.get("ops_per_push", 0)
    client_every = params.get("client_every", 5)
    note_bytes = params.get("note_body_bytes", 1024)
    pull_limit = params.get("pull_limit", 0)
    practice = params.get("practice_records", 0)
    push_requests = params.get("push_requests", 0)
    pull_min = params.get("pull_min_records", 0)
    paced_seconds = params.get("paced_seconds", 0)
    counts = sorted({n for (_, n) in phases})
    max_n = max(counts) if counts else 0

    out = []
    w = out.append
    w("## Reference server (sync API over TLS)\n")
    w(f"Produced by `{command}`, run from the top of the source tree, "
      f"{when:%Y-%m-%d %H:%M UTC}; "
      f"load average (1, 5, 15 min) before the run {load}.  One run.  On this shared "
      "virtual machine the same binaries have measured up to a third apart in runs an hour "
      "apart, so compare numbers within one run rather than across runs.\n")
    w(f"- Machine: {m['cpu']}, **{m['nproc']} cores** (`nproc`), Linux {m['kernel']}.  "
      "**The server and the load generator share these cores**: the server answers requests "
      "on one thread (its main loop; only password hashing has worker threads), the load "
      "generator runs one thread per device.  Each table gives both processes' CPU time as a "
      f"share of one core.  Build: {m['buildtype']}.")
    w(f"- Versions: {server_version}; libsoup {run('pkg-config', '--modversion', 'libsoup-3.0')}, "
      f"SQLite {run('pkg-config', '--modversion', 'sqlite3')} (system libraries); client libcurl "
      f"{versions.get('libcurl', '?')} with {versions.get('tls', '?')}; the connection: "
      f"{versions.get('tls_session', '?')}.")
    w(f"- Server: `mts-server serve` on 127.0.0.1 (HTTPS only), its SQLite database (WAL, "
      f"`synchronous=NORMAL`, the server's own settings) and vault in a scratch folder in "
      f"{m['tmp']}, certificates from a CA made for the run (`tests/server/make-test-ca.sh`).  "
      "Config: `port = 0` (the port read from the `listening` log line), and, to set up 50 users "
      "in seconds, `[vault] kdf = test` and `[auth] password_kdf = min` (they only change the "
      "cost of unlocking the vault and of checking a password, neither of which is in a timed "
      "phase); failed-login limits raised; access tokens valid for a day.  Every other setting "
      "is the default.")
    w("- Clients: `bench/bench-server.c`, libcurl, one thread and one easy handle per device, "
      "so each device keeps one TLS connection open, as the sync engine will; peer and host "
      "verification on against the run's CA; HTTP/1.1; `MTS-Protocol: 1` and a bearer token on "
      f"every request.  Each device is its own clinician ({max_n} users), logged in once with "
      "password and TOTP code (liboath) before the timed phases.  No timed phase opened a "
      "new connection" + (" (as checked)." if all(o["new_connections"] == 0 for o in phases.values())
                            else ": **some did**, see the raw output."))
    w(f"- **Push**: each push carries {ops_per_push} new records with fresh ids: "
      f"{100 // client_every}% clients (name, date of birth, e-mail, phone and address, all of "
      f"them sensitive, so sealed by the server), the rest SOAP notes of about {num(note_bytes)} "
      "bytes (the body sealed) on those clients.  Every op must come back `applied`.  For each "
      f"device count, the devices send {num(push_requests)} pushes in all "
      f"({num(push_requests * ops_per_push)} records), split evenly.")
    w(f"- **Pull**: a practice of {num(practice)} records (pushed by one device before the pull "
      f"phases, untimed: {num(practice // client_every)} clients and "
      f"{num(practice - practice // client_every)} notes); each device pulls all of it from "
      f"`after=0` in pages of `limit={pull_limit}`, following `next` while `more`, and every "
      f"pass must return every record; devices repeat the pass until together they have "
      f"pulled at least {num(pull_min)} records.  The server unseals every sensitive field of "
      "every record it sends.")
    w("- **Closed loop**: all devices start together and each sends its next request as soon "
      "as its last is answered, with no pause: the most the server can take.  Latency is per "
      "request, from handing it to libcurl to having the whole answer; p50/p99 are over every "
      "request of the phase (nearest rank).")
    if paced:
        w(f"- **Paced** ({max_n} devices, {paced_seconds} s each): the devices together offer "
          "the issue's throughput targets, each device sending one request at a fixed interval "
          "from a random start within its first interval (pull: one page every "
          f"{paced.get('pull', {}).get('interval_s', 0):.2f} s; push: one push every "
          f"{paced.get('push', {}).get('interval_s', 0):.2f} s).  A request due while its "
          "device still waits for the previous answer is sent on its answer and counted "
          "*late*, its latency taken from when it was due.  This is a practice syncing busily "
          "rather than every device hammering the server.")
    w("")

    w("### Closed loop\n")
    w("| Phase | devices | requests | throughput | p50 | p99 | max | server CPU | load generator CPU |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for phase, unit in (("push", "ops/s"), ("pull", "records/s")):
        for n in counts:
            o = phases.get((phase, n))
            if o is None:
                continue
            label = (f"push, {ops_per_push} records each" if phase == "push"
                     else f"pull, pages of {pull_limit}")
            w(f"| {label} | {n} | {num(o['requests'])} | **{num(rate(o))} {unit}** | "
              f"{ms(o['p50_ms'])} | {ms(o['p99_ms'])} | {ms(o['max_ms'])} | "
              f"{share(o['server_cpu_s'], o['seconds'])} | "
              f"{share(o['client_cpu_s'], o['seconds'])} |")
    w("")
    push1 = phases.get(("push", min(counts))) if counts else None
    pull1 = phases.get(("pull", min(counts))) if counts else None
    notes = []
    if push1 and push1["server_cpu_s"] > 0:
        per_op = [o["server_cpu_s"] / o["items"] * 1e6 for (p, _), o in phases.items()
                  if p == "push" and o["items"]]
        per_rec = [o["server_cpu_s"] / o["items"] * 1e6 for (p, _), o in phases.items()
                   if p == "pull" and o["items"]]
        def span(v):
            lo, hi = f"{min(v):.0f}", f"{max(v):.0f}"
            return lo if lo == hi else f"{lo}–{hi}"
        notes.append(f"The server spends {span(per_op)} µs of CPU per pushed record and "
                     f"{span(per_rec)} µs per pulled one (its CPU time over the phase divided "
                     "by the records).")
    if len(counts) > 1:
        hi = phases.get(("push", max(counts)))
        if hi and push1:
            notes.append(f"Throughput hardly changes with the number of devices "
                         f"(push {num(rate(push1))} → {num(rate(hi))} ops/s from "
                         f"{min(counts)} to {max(counts)} devices), while latency grows with "
                         "it: the server handles one request at a time, so in a closed loop "
                         "each device waits for the others' requests, and the mean latency is "
                         "about devices ÷ requests per second (push at "
                         f"{max(counts)} devices: {max(counts)} ÷ "
                         f"{hi['requests'] / hi['seconds']:.0f}/s = "
                         f"{max(counts) / (hi['requests'] / hi['seconds']) * 1e3:.0f} ms; "
                         f"measured mean {ms(hi['mean_ms'])}).")
    busy = [(n, o) for (p, n), o in sorted(phases.items())
            if p == "pull" and o["seconds"] and o["client_cpu_s"] / o["seconds"] > 0.3]
    if busy:
        n, o = max(busy, key=lambda x: x[1]["client_cpu_s"] / x[1]["seconds"])
        text = (f"Pulling, the load generator is no bystander: with {n} devices it used "
                f"{share(o['client_cpu_s'], o['seconds'])} of a core (receiving and decrypting "
                f"{o['bytes_received'] / o['seconds'] / 2**20:.0f} MiB/s of TLS) beside the "
                f"server's {share(o['server_cpu_s'], o['seconds'])}, so the two together used "
                f"{(o['client_cpu_s'] + o['server_cpu_s']) / o['seconds']:.1f} of the 2 cores")
        if o["server_cpu_s"] / o["seconds"] < 0.9:
            text += (": with the server's thread below a full core, these pull rates are what "
                     "this machine can drive, a lower bound on what the server can serve.")
        else:
            text += "; the server's one thread was still the limit."
        notes.append(text)
    if notes:
        w("  ".join(notes) + "\n")

    if paced:
        w(f"### Paced, {max_n} devices at the target rates\n")
        w("| Phase | offered | achieved | requests | late | p50 | p99 | max | server CPU | load generator CPU |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for phase, unit in (("pull", "records/s"), ("push", "ops/s")):
            o = paced.get(phase)
            if o is None:
                continue
            w(f"| {phase} | {num(o['rate'])} {unit} | {num(rate(o))} {unit} | "
              f"{num(o['requests'])} | {num(o['late'])} | {ms(o['p50_ms'])} | "
              f"**{ms(o['p99_ms'])}** | {ms(o['max_ms'])} | "
              f"{share(o['server_cpu_s'], o['seconds'])} | "
              f"{share(o['client_cpu_s'], o['seconds'])} |")
        w("")

    login, seed = other.get("login"), other.get("seed")
    if login or seed:
        parts = []
        if login:
            parts.append(f"{login['devices']} logins one after another took {ms(login['p50_ms'])} "
                         f"each at the median (with `password_kdf = min`; the default, "
                         "`moderate`, costs far more by design)")
        if seed:
            parts.append(f"the untimed seeding push by one device ran at "
                         f"{num(rate(seed))} ops/s")
        w("Outside the timed phases: " + "; ".join(parts) + ".\n")

    w("### Targets (from the issue)\n")
    push_rates = [(n, rate(phases[("push", n)])) for n in counts if ("push", n) in phases]
    pull_rates = [(n, rate(phases[("pull", n)])) for n in counts if ("pull", n) in phases]
    if push_rates:
        worst = min(push_rates, key=lambda x: x[1])
        w(f"1. *At least {num(TARGET_PUSH_OPS_S)} applied ops/s:* "
          f"{verdict(worst[1] >= TARGET_PUSH_OPS_S)} at every device count — "
          + ", ".join(f"{num(r)} ops/s with {n}" for n, r in push_rates) + ".")
    if pull_rates:
        worst = min(pull_rates, key=lambda x: x[1])
        w(f"2. *Pull of at least {num(TARGET_PULL_RECORDS_S)} records/s:* "
          f"{verdict(worst[1] >= TARGET_PULL_RECORDS_S)} at every device count — "
          + ", ".join(f"{num(r)} records/s with {n}" for n, r in pull_rates) + ".")
    closed = [(p, phases.get((p, TARGET_P99_DEVICES))) for p in ("push", "pull")]
    closed = [(p, o) for p, o in closed if o]
    if closed:
        ok = all(o["p99_ms"] < TARGET_P99_MS for _, o in closed)
        line = (f"3. *p99 under {TARGET_P99_MS} ms at {TARGET_P99_DEVICES} devices:* with every "
                f"device sending back to back (closed loop), {verdict(ok)} — "
                + ", ".join(f"{p} {ms(o['p99_ms'])}" for p, o in closed) + ".")
        pc = [(p, paced.get(p)) for p in ("push", "pull")
              if paced.get(p) and paced[p]["devices"] == TARGET_P99_DEVICES]
        if pc:
            line += ("  At the target rates (paced): " + "; ".join(
                f"{p} {verdict(o['p99_ms'] < TARGET_P99_MS)} ({ms(o['p99_ms'])})" for p, o in pc)
                + ".")
        w(line)
        if not ok:
            hi = closed[0][1]
            per_req = hi["seconds"] / hi["requests"] * 1e3 if hi["requests"] else 0
            w(f"   In a closed loop {TARGET_P99_DEVICES} devices queue behind one another by "
              f"construction: the server answers one request at a time, a {ops_per_push}-record "
              f"push every {per_req:.1f} ms on average here, so {TARGET_P99_DEVICES} devices "
              f"sending back to back wait about {TARGET_P99_DEVICES} × {per_req:.1f} = "
              f"{TARGET_P99_DEVICES * per_req:.0f} ms for each answer.  A p99 under "
              f"{TARGET_P99_MS} ms in this setting would need {TARGET_P99_DEVICES} pushes in "
              f"{TARGET_P99_MS} ms, {num(TARGET_P99_DEVICES * ops_per_push * 1000 / TARGET_P99_MS)} "
              "ops/s.")
        slow = [(p, paced[p]) for p in ("pull", "push")
                if paced.get(p) and paced[p]["p99_ms"] >= TARGET_P99_MS and paced[p]["requests"]
                and paced[p]["server_cpu_s"] > 0]
        for p, o in slow:
            cost = o["server_cpu_s"] / o["requests"] * 1e3
            what = f"a page of {pull_limit}" if p == "pull" else f"a push of {ops_per_push}"
            w(f"   Paced, the {p} p99 is queueing too: {what} costs the server {cost:.0f} ms of "
              f"CPU ({share(o['server_cpu_s'], o['seconds'])} of a core at this rate), and "
              "requests that fall due together wait for one another on its single thread, so "
              f"the slowest 1% waited behind about {o['p99_ms'] / cost:.0f} requests' worth of "
              "work.")
    w("")

    w("Where the server's time goes (perf samples of the server taken during separate runs "
      "of this benchmark, not this one, so the shares are approximate): in a push, SQLite is "
      "about half (each record is written to `records` and to `revisions`, each with its "
      "indexes, the practice's version counter is updated once per op, the op's result goes "
      "to `ops`, and the WAL is written with `pwrite`); the WAL checkpoint that SQLite runs "
      "inside whichever commit takes the WAL past 1,000 pages is about a tenth, and most of "
      "one device's p99 (with checkpoints turned off as a trial, one device's push p99 fell "
      "from 21–28 ms to 10–13 ms); reading the request body (the strict JSON check, then "
      "json-glib) about a fifth; sealing about 4%.  In a pull, decrypting the sealed fields "
      "is about a third, SQLite about a quarter (pages read with `pread`), formatting (each "
      "record's sealing context and its JSON head, through `printf`) about a sixth, TLS about "
      "an eighth.\n")
    return "\n".join(out) + "\n"


def write_section(path, section):
    block = START + "\n" + section + END + "\n"
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else "# Performance\n\n"
    if START in text and END in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END) + r"\n?", lambda m: block, text,
                      flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--command", default="bench/run-server")
    ap.add_argument("--build", default="build")
    ap.add_argument("--load", default="?")
    ap.add_argument("--server-version", default="mts-server")
    args = ap.parse_args()
    write_section(args.output, render(args, *parse(args.results)))


if __name__ == "__main__":
    main()
