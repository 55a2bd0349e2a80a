#!/usr/bin/env python3
"""Runs one SQL-script test through the stock sqlite3 shell and reports TAP.

Usage: run-sql-test.py SQLITE3 EXTENSION SCRIPT.sql

A script is a prelude followed by numbered cases:

    -- 1. what the case shows
    SELECT ...;
    -- expect: first output line
    -- expect: second output line
    -- expect error: text the error message must contain

Every `expect:` line is one line of output, compared exactly (sqlite3's list
mode, columns joined by '|'); `expect error:` lines must each match an error
the case raised, in order.  A case with no expectation must print nothing
and raise no error.  The prelude may not print or fail either.

The shell runs in a fresh directory (also the tests' scratch space, `$PWD`),
with the extension path in $MTS_EXTENSION, a umask of 077, and
MTS_PASSPHRASE_FILE=passphrase / MTS_NEW_PASSPHRASE_FILE=new-passphrase
holding 'correct horse battery' and 'new horse battery staple'; cases change
them with `.shell` to try other passphrases.  `@EXT@` in the script stands
for the extension's path.

If $MTS_SQLITE_WRAPPER is set (for example to a valgrind command line), the
shell runs under it, and a wrapper exit status of 99 fails the run.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

CASE_RE = re.compile(r"^--\s*(\d+)\.\s*(.*)$")
EXPECT_RE = re.compile(r"^--\s*expect:\s?(.*)$")
EXPECT_ERR_RE = re.compile(r"^--\s*expect error:\s*(.*)$")
ERROR_LINE_RE = re.compile(r"^(?:Parse|Runtime) error near line (\d+): (.*)$|^Error: near line (\d+): (.*)$")


class Case:
    def __init__(self, number, title):
        self.number = number
        self.title = title
        self.lines = []
        self.expect = []
        self.expect_errors = []
        self.first_line = 0
        self.last_line = 0


def parse(path, ext):
    prelude = []
    cases = []
    current = None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n").replace("@EXT@", ext)
            m = CASE_RE.match(line)
            if m:
                current = Case(int(m.group(1)), m.group(2).strip())
                cases.append(current)
                continue
            target = current.lines if current else prelude
            m = EXPECT_ERR_RE.match(line)
            if m and current:
                current.expect_errors.append(m.group(1).strip())
                continue
            m = EXPECT_RE.match(line)
            if m and current:
                current.expect.append(m.group(1))
                continue
            target.append(line)
    numbers = [c.number for c in cases]
    if numbers != list(range(1, len(cases) + 1)):
        sys.exit(f"{path}: cases must be numbered 1..N in order, found {numbers}")
    return prelude, cases


def build_script(prelude, cases):
    out = []
    for line in prelude:
        out.append(line)
    for case in cases:
        out.append(f".print @@CASE {case.number}")
        case.first_line = len(out) + 1
        out.extend(case.lines)
        case.last_line = len(out)
    out.append(".print @@END")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sqlite3, ext, script_path = sys.argv[1:]
    ext = os.path.abspath(ext)
    prelude, cases = parse(script_path, ext)
    script = build_script(prelude, cases)

    with tempfile.TemporaryDirectory(prefix="mts-sql-") as tmp:
        os.umask(0o077)
        for name, value in (("passphrase", "correct horse battery"),
                            ("new-passphrase", "new horse battery staple")):
            with open(os.path.join(tmp, name), "w") as f:
                f.write(value + "\n")
        env = dict(os.environ)
        env.update(MTS_PASSPHRASE_FILE=os.path.join(tmp, "passphrase"),
                   MTS_NEW_PASSPHRASE_FILE=os.path.join(tmp, "new-passphrase"),
                   MTS_EXTENSION=ext)
        env.pop("MTS_PASSPHRASE", None)
        env.pop("MTS_NEW_PASSPHRASE", None)
        cmd = [sqlite3, "-batch"]
        wrapper = os.environ.get("MTS_SQLITE_WRAPPER")
        if wrapper:
            cmd = shlex.split(wrapper) + cmd
        proc = subprocess.run(cmd, input=script, capture_output=True, text=True,
                              cwd=tmp, env=env, timeout=1800)

    stdout_lines = proc.stdout.splitlines()
    outputs = {0: []}
    current = 0
    ended = False
    for line in stdout_lines:
        if line.startswith("@@CASE "):
            current = int(line.split()[1])
            outputs[current] = []
        elif line == "@@END":
            ended = True
        else:
            outputs.setdefault(current, []).append(line)

    errors = {0: []}
    stray = []
    for line in proc.stderr.splitlines():
        m = ERROR_LINE_RE.match(line)
        if not m:
            stray.append(line)
            continue
        lineno = int(m.group(1) or m.group(3))
        message = m.group(2) or m.group(4)
        owner = 0
        for case in cases:
            if case.first_line <= lineno <= case.last_line:
                owner = case.number
        errors.setdefault(owner, []).append(message)

    print(f"1..{len(cases) + 1}")
    failed = 0
    for case in cases:
        got = outputs.get(case.number)
        errs = errors.get(case.number, [])
        problems = []
        if got is None:
            problems.append("the shell never reached this case")
        elif got != case.expect:
            problems.append(f"expected output {case.expect!r}, got {got!r}")
        if len(errs) != len(case.expect_errors) or any(
                want not in have for want, have in zip(case.expect_errors, errs)):
            problems.append(f"expected errors {case.expect_errors!r}, got {errs!r}")
        status = "ok" if not problems else "not ok"
        print(f"{status} {case.number} - {case.title}")
        for p in problems:
            print(f"#   {p}")
        failed += bool(problems)

    shell_problems = []
    if outputs.get(0) or errors.get(0):
        shell_problems.append(f"prelude printed {outputs.get(0)!r} / failed {errors.get(0)!r}")
    if not ended:
        shell_problems.append("the shell stopped before the end of the script")
    if wrapper and proc.returncode == 99:
        shell_problems.append("the wrapper reported errors (exit 99)")
    # The shell echoes a failing statement's text under its error, indented.
    stray = [s for s in stray if s.strip() and not s[0].isspace()]
    if stray and not wrapper:
        shell_problems.append(f"unexpected stderr: {stray[:5]!r}")
    print(f"{'ok' if not shell_problems else 'not ok'} {len(cases) + 1} - the shell ran the whole script cleanly")
    for p in shell_problems:
        print(f"#   {p}")
    if wrapper and proc.returncode == 99:
        for line in proc.stderr.splitlines()[-60:]:
            print(f"#   {line}")
    failed += bool(shell_problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
