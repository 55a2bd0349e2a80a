#!/usr/bin/env python3
"""Tests of the `mts` command line, driving the real binary; reports TAP.

Usage: test-cli.py MTS SQLITE3

Every case runs `mts` as a script would: in a fresh scratch directory, with
no controlling terminal (a new session), no standard input unless the case
gives one, LC_ALL=C (values are UTF-8 whatever the locale), and
MTS_PASSPHRASE_FILE naming a 0600 file.  The cases build one store step by
step, so they run in order; a case that fails says what it expected.
SQLITE3 is the stock shell, used without the extension to tamper with the
audit log as an attacker with file access would.

If $MTS_CLI_WRAPPER is set (for example to a valgrind command line), mts runs
under it; a wrapper's own error status (99 by convention) fails the case like
any other unexpected status.
"""
import csv
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import traceback

MTS = os.path.abspath(sys.argv[1])
WRAPPER = shlex.split(os.environ.get("MTS_CLI_WRAPPER", ""))
SQLITE3 = sys.argv[2]
PASSPHRASE = "correct horse battery"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
INSTANT_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

work = tempfile.mkdtemp(prefix="mts-cli-")
os.chdir(work)
os.umask(0o077)
with open("passphrase", "w") as f:
    f.write(PASSPHRASE + "\n")
with open("wrong-passphrase", "w") as f:
    f.write("not the passphrase\n")

BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("MTS_")}
BASE_ENV["LC_ALL"] = "C"
BASE_ENV["MTS_PASSPHRASE_FILE"] = os.path.join(work, "passphrase")


class Failed(Exception):
    pass


def mts(*args, stdin=None, env=None, unset=()):
    """Runs mts; returns (exit status, stdout, stderr) as text."""
    e = dict(BASE_ENV)
    e.update(env or {})
    for k in unset:
        e.pop(k, None)
    p = subprocess.run([*WRAPPER, MTS, *args], input=stdin.encode() if stdin is not None else None,
                       stdin=None if stdin is not None else subprocess.DEVNULL,
                       capture_output=True, env=e, start_new_session=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check(cond, what):
    if not cond:
        raise Failed(what)


def ok(*args, **kw):
    """Runs mts and requires exit 0 with nothing on stderr; returns stdout."""
    rc, out, err = mts(*args, **kw)
    check(rc == 0, f"mts {' '.join(args)}: exit {rc}, stderr {err!r}")
    check(err == "", f"mts {' '.join(args)}: unexpected stderr {err!r}")
    return out


def refused(code, pattern, *args, **kw):
    """Runs mts and requires exit @code, a stderr starting "mts: " whose
    first line matches @pattern, and no stdout; returns stderr."""
    rc, out, err = mts(*args, **kw)
    check(rc == code, f"mts {' '.join(args)}: exit {rc}, expected {code}; stderr {err!r}")
    check(err.startswith("mts: "), f"stderr does not start with 'mts: ': {err!r}")
    first = err.splitlines()[0]
    check(re.search(pattern, first), f"first line of stderr {first!r} does not match {pattern!r}")
    check(out == "", f"unexpected stdout {out!r}")
    if code == 2:
        check("Usage:" in err, f"a usage error prints the usage: {err!r}")
    if code == 1:
        check(len(err.splitlines()) == 1, f"a refusal is one line: {err!r}")
    return err


def show(kind, ident):
    """`mts client show` / `note show` as a dict (and the note's text)."""
    out = ok(kind, "show", ident)
    head, _, body = out.partition("\n\n")
    fields = {}
    for line in head.splitlines():
        k, _, v = line.partition(": ")
        fields[k] = v
    if kind == "note":
        fields["body"] = body
    return fields


def tsv(out):
    return [line.split("\t") for line in out.splitlines()]


# What the cases share.
S = {}
cases = []


def case(fn):
    cases.append(fn)
    return fn


# ---------------------------------------------------------------------------
@case
def init_creates_store():
    """init creates the store and the first clinician, prints its id and the store path"""
    out = ok("init", "--kdf", "test", "--clinician", "Dr Ann Smith", "--email", "ann.smith@example.org")
    lines = out.splitlines()
    check(len(lines) == 2, f"two lines expected: {out!r}")
    check(UUID_RE.match(lines[0]), f"not a UUIDv7: {lines[0]!r}")
    check(lines[1] == os.path.join(work, "practice"), f"store path {lines[1]!r}")
    S["clinician"] = lines[0]
    for name in ("practice.db", "practice.mtskey"):
        check(os.path.isfile(os.path.join("practice", name)), f"{name} missing")
    check(stat.S_IMODE(os.stat("practice").st_mode) == 0o700, "store folder is not 0700")
    actor = os.path.join("practice", "actor")
    check(stat.S_IMODE(os.stat(actor).st_mode) == 0o600, "actor file is not 0600")
    check(open(actor).read().strip() == S["clinician"], "actor file does not hold the clinician id")


@case
def init_refusals():
    """init refuses an existing store (1), and a missing --clinician or a bad --kdf (2)"""
    refused(1, r"already holds a store", "init", "--kdf", "test", "--clinician", "X")
    refused(2, r"--clinician NAME is required", "--store", "other", "init", "--kdf", "test")
    refused(2, r"--kdf is", "--store", "other", "init", "--kdf", "fast", "--clinician", "X")
    check(not os.path.exists("other"), "a refused init left a folder behind")


@case
def init_new_passphrase():
    """init reads MTS_NEW_PASSPHRASE* first; that passphrase then unlocks the store"""
    with open("new-passphrase", "w") as f:
        f.write("a new store passphrase\n")
    ok("--store", "second", "init", "--kdf", "test", "--clinician", "Dr B",
       env={"MTS_NEW_PASSPHRASE_FILE": os.path.join(work, "new-passphrase")})
    refused(1, r"wrong passphrase", "--store", "second", "client", "list")
    ok("--store", "second", "client", "list",
       env={"MTS_PASSPHRASE_FILE": os.path.join(work, "new-passphrase")})
    refused(1, r"the new passphrase is too short \(at least 8 bytes\)", "--store", "third", "init",
            "--kdf", "test", "--clinician", "X", env={"MTS_NEW_PASSPHRASE": "short"})
    check(not os.path.exists("third"), "a refused init left a folder behind")


@case
def client_add():
    """client add prints a new id for each client (non-ASCII name, all fields)"""
    S["a"] = dict(name="Zoë Ångström-Pryce", dob="1990-02-03", email="zoe.pryce@example.org",
                  phone="07700 900123", address="12 Rosemary Lane\nNorwich NR2 1AA", status="active")
    S["b"] = dict(name="Bartholomew Quince", dob="1975-11-30", email="bart.quince@example.net",
                  phone="+44 20 7946 0991", address="Flat 3, 9 Orchard Rise, Leeds", status="waiting")
    for key in ("a", "b"):
        c = S[key]
        out = ok("client", "add", "--name", c["name"], "--dob", c["dob"], "--email", c["email"],
                 "--phone", c["phone"], "--address", c["address"], "--status", c["status"])
        check(UUID_RE.match(out.strip()), f"not an id: {out!r}")
        c["id"] = out.strip()
    check(S["a"]["id"] != S["b"]["id"], "two clients with one id")


@case
def client_add_refusals():
    """client add refuses a missing name, an impossible date and an unknown status (2)"""
    refused(2, r"--name NAME is required", "client", "add", "--email", "x@example.org")
    refused(2, r"--dob is a date", "client", "add", "--name", "X", "--dob", "2023-02-30")
    refused(2, r"--status is", "client", "add", "--name", "X", "--status", "gone")
    refused(1, r"no clinician", "client", "add", "--name", "X", "--clinician", "nobody")


@case
def client_list():
    """client list prints id, name, status, tab-separated, sorted by name"""
    rows = tsv(ok("client", "list"))
    expect = sorted(([S[k]["id"], S[k]["name"], S[k]["status"]] for k in ("a", "b")),
                    key=lambda r: r[1])
    check(rows == expect, f"{rows!r} != {expect!r}")


@case
def client_list_search():
    """client list --search: name substring (any case), exact e-mail, phone in another form"""
    for text, who in (("ångström", "a"), ("QUINCE", "b"), ("zoe.pryce@example.org", "a"),
                      ("07700900123", "a"), ("+442079460991", "b"), ("nobody", None),
                      ("example.org", None)):
        rows = tsv(ok("client", "list", "--search", text))
        want = [[S[who]["id"], S[who]["name"], S[who]["status"]]] if who else []
        check(rows == want, f"--search {text!r}: {rows!r} != {want!r}")


@case
def client_show():
    """client show prints every field as key: value, line breaks escaped"""
    for k in ("a", "b"):
        c = S[k]
        f = show("client", c["id"])
        check(f["id"] == c["id"] and f["name"] == c["name"] and f["dob"] == c["dob"]
              and f["email"] == c["email"] and f["phone"] == c["phone"]
              and f["status"] == c["status"], f"fields differ: {f!r}")
        check(f["address"] == c["address"].replace("\n", "\\n"), f"address {f['address']!r}")
        check(f["clinician"] == S["clinician"], "the actor is the client's clinician by default")
        check(INSTANT_RE.match(f["created_at"]) and f["version"] == "0", f"{f!r}")


@case
def client_edit():
    """client edit changes only the given fields; an empty value clears one"""
    a = S["a"]
    ok("client", "edit", a["id"], "--email", "zoe.new@example.org", "--status", "waiting")
    f = show("client", a["id"])
    check(f["email"] == "zoe.new@example.org" and f["status"] == "waiting", f"{f!r}")
    check(f["name"] == a["name"] and f["dob"] == a["dob"] and f["phone"] == a["phone"],
          f"other fields changed: {f!r}")
    a["old_email"], a["email"], a["status"] = a["email"], "zoe.new@example.org", "waiting"
    ok("client", "edit", a["id"], "--phone", "")
    check(show("client", a["id"])["phone"] == "", "--phone '' did not clear the phone")
    a["old_phone"], a["phone"] = a["phone"], None
    check(tsv(ok("client", "list", "--search", "zoe.new@example.org"))[0][0] == a["id"],
          "the new e-mail is not found through its blind index")
    check(ok("client", "list", "--search", a["old_email"]) == "", "the old e-mail still finds her")


@case
def client_edit_refusals():
    """client edit refuses nothing to change, an empty name, a bad status (2)"""
    a = S["a"]["id"]
    refused(2, r"nothing to change", "client", "edit", a)
    refused(2, r"--name cannot be empty", "client", "edit", a, "--name", "")
    refused(2, r"--status is", "client", "edit", a, "--status", "dormant")
    refused(2, r"missing argument", "client", "edit", "--name", "X")


@case
def note_add():
    """note add takes the text from --body, --body-file and standard input; prints ids"""
    a = S["a"]["id"]
    S["n1_body"] = "S: reports low mood since redundancy\nO: tearful, good eye contact\nA: moderate\nP: weekly"
    S["n1"] = ok("note", "add", a, "--kind", "SOAP", "--body", S["n1_body"]).strip()
    with open("note2.txt", "w") as f:
        f.write("D: discussed sleep hygiene and panic episodes\nA: improving\nP: review in two weeks\n")
    S["n2_body"] = open("note2.txt").read()
    S["n2"] = ok("note", "add", a, "--kind", "DAP", "--body-file", "note2.txt").strip()
    S["n3_body"] = "Phone call: client cancelled Thursday, rebooked\n"
    S["n3"] = ok("note", "add", a, stdin=S["n3_body"]).strip()
    S["nb_body"] = "B: anger at work, fear of dismissal\nI: CBT formulation"
    S["nb"] = ok("note", "add", S["b"]["id"], "--kind", "BIRP", "--body", S["nb_body"]).strip()
    for k in ("n1", "n2", "n3", "nb"):
        check(UUID_RE.match(S[k]), f"{k}: not an id {S[k]!r}")


@case
def note_list():
    """note list prints id, kind, status, signed_at and the first line, oldest first"""
    rows = tsv(ok("note", "list", S["a"]["id"]))
    expect = [[S["n1"], "SOAP", "draft", "", "S: reports low mood since redundancy"],
              [S["n2"], "DAP", "draft", "", "D: discussed sleep hygiene and panic episodes"],
              [S["n3"], "free", "draft", "", "Phone call: client cancelled Thursday, rebooked"]]
    check(rows == expect, f"{rows!r} != {expect!r}")
    check([r[0] for r in tsv(ok("note", "list", S["b"]["id"]))] == [S["nb"]], "client B's notes")


@case
def note_show():
    """note show prints the fields, a blank line and the text exactly"""
    f = show("note", S["n2"])
    check(f["body"] == S["n2_body"], f"body {f['body']!r}")
    check(f["kind"] == "DAP" and f["status"] == "draft" and f["client"] == S["a"]["id"]
          and f["author"] == S["clinician"] and f["amends"] == "" and f["ai_assisted"] == "no",
          f"{f!r}")


@case
def note_add_refusals():
    """note add refuses a bad --kind and both text options (2), an empty text and an unknown client (1)"""
    a = S["a"]["id"]
    err = refused(2, r"--kind is SOAP, DAP, BIRP or free", "note", "add", a, "--kind", "GIRP",
                  "--body", "x")
    refused(2, r"not both", "note", "add", a, "--body", "x", "--body-file", "note2.txt")
    refused(1, r"the note is empty", "note", "add", a, stdin="")
    refused(1, r"no client nobody", "note", "add", "nobody", "--body", "x")
    refused(1, r"cannot read|No such file", "note", "add", a, "--body-file", "missing.txt")
    check(len(tsv(ok("note", "list", a))) == 3, "a refused note was added")


@case
def note_edit_draft():
    """note edit replaces a draft's text; --kind alone keeps the text"""
    S["n3_old"] = S["n3_body"]
    S["n3_body"] = "Phone call: client cancelled Thursday (childcare), rebooked Monday"
    ok("note", "edit", S["n3"], "--body", S["n3_body"])
    ok("note", "edit", S["n3"], "--kind", "DAP")
    f = show("note", S["n3"])
    check(f["body"] == S["n3_body"] and f["kind"] == "DAP", f"{f!r}")


@case
def note_sign():
    """note sign signs a draft as the actor"""
    ok("note", "sign", S["n1"])
    f = show("note", S["n1"])
    check(f["status"] == "signed" and f["signed_by"] == S["clinician"]
          and INSTANT_RE.match(f["signed_at"]), f"{f!r}")
    row = [r for r in tsv(ok("note", "list", S["a"]["id"])) if r[0] == S["n1"]][0]
    check(row[2] == "signed" and row[3] == f["signed_at"], f"list row {row!r}")


@case
def note_edit_signed_refused():
    """editing a signed note is refused (1), the message says amend, the text is unchanged"""
    for extra in (["--body", "S: rewritten"], ["--kind", "free"], []):
        refused(1, r"signed.*amend", "note", "edit", S["n1"], *extra, stdin="rewritten\n")
    refused(1, r"already signed", "note", "sign", S["n1"])
    check(show("note", S["n1"])["body"] == S["n1_body"], "a signed note changed")


@case
def note_amend():
    """note amend makes a new draft naming the signed note; a draft cannot be amended"""
    S["n4_body"] = "Amendment: mood reported as low since March, not since redundancy"
    S["n4"] = ok("note", "amend", S["n1"], "--body", S["n4_body"]).strip()
    check(UUID_RE.match(S["n4"]) and S["n4"] != S["n1"], f"amendment id {S['n4']!r}")
    f = show("note", S["n4"])
    check(f["amends"] == S["n1"] and f["status"] == "draft" and f["body"] == S["n4_body"]
          and f["kind"] == "SOAP", f"{f!r}")
    refused(1, r"is a draft: edit it instead", "note", "amend", S["n2"], "--body", "x")


# ---------------------------------------------------------------------------
# Documents.  Each entry: the client, the file name, its bytes, and the name
# the export gives it (files/<id>/<name>).
def add_documents():
    long_name = "x" + "é" * 115 + ".pdf"              # 235 bytes: cut, at a character boundary
    S["docs"] = {
        "letter": ("a", "GP letter – Zoë Pryce.txt",
                   "Dear Dr Okafor,\nZoë reports panic attacks at work since March.\n".encode(),
                   "GP letter – Zoë Pryce.txt"),
        # Random bytes, not a whole number of 64 KiB chunks.
        "scan": ("a", "scan.bin", os.urandom(300 * 1024 + 123), "scan.bin"),
        "empty": ("a", "empty.txt", b"", "empty.txt"),
        "odd": ("a", "..\\odd\tname.txt", b"odd\n", "_odd_name.txt"),
        "long": ("a", long_name, b"%PDF-1.4 long\n", "x" + "é" * 97 + ".pdf"),
        "ref": ("b", "Quince referral.txt",
                b"Referral: Bartholomew Quince, anger at work, seen within two weeks\n",
                "Quince referral.txt"),
    }
    os.mkdir("in")
    for key, (_, name, data, _) in S["docs"].items():
        with open(os.path.join("in", name), "wb") as f:
            f.write(data)
    S["doc_ids"] = {}


def doc_path(key):
    return os.path.join("in", S["docs"][key][1])


@case
def doc_add():
    """doc add stores files (a 300 KiB binary, an empty one, odd names) and prints their ids"""
    add_documents()
    for key, (who, _, _, _) in S["docs"].items():
        out = ok("doc", "add", S[who]["id"], doc_path(key))
        check(UUID_RE.match(out.strip()), f"{key}: not an id {out!r}")
        S["doc_ids"][key] = out.strip()
    check(len(set(S["doc_ids"].values())) == len(S["docs"]), "two documents with one id")
    files = sorted(os.listdir("practice/files"))
    check(files == sorted(S["doc_ids"].values()), f"practice/files holds {files!r}")
    check(stat.S_IMODE(os.stat("practice/files").st_mode) == 0o700, "files/ is not 0700")
    for name in files:
        check(stat.S_IMODE(os.stat(os.path.join("practice/files", name)).st_mode) == 0o600,
              f"files/{name} is not 0600")


@case
def doc_add_refusals():
    """doc add refuses an unknown session or client, a missing file or a folder (1); adds nothing"""
    a = S["a"]["id"]
    refused(1, r"no session nobody", "doc", "add", a, doc_path("letter"), "--session", "nobody")
    refused(1, r"no client nobody", "doc", "add", "nobody", doc_path("letter"))
    refused(1, r"cannot open in/missing.txt", "doc", "add", a, "in/missing.txt")
    refused(1, r"not a regular file", "doc", "add", a, "in")
    refused(2, r"missing argument", "doc", "add", a)
    check(len(tsv(ok("doc", "list", a))) == 5, "a refused document was added")
    check(len(os.listdir("practice/files")) == len(S["docs"]), "a refused add left a file")


@case
def doc_list():
    """doc list prints id, file name, size and MIME type, oldest first, of that client only"""
    for who in ("a", "b"):
        rows = tsv(ok("doc", "list", S[who]["id"]))
        want = [[S["doc_ids"][k], name.replace("\t", " "), str(len(data))]
                for k, (w, name, data, _) in S["docs"].items() if w == who]
        check([r[:3] for r in rows] == want, f"client {who}: {rows!r} != {want!r}")
        for r in rows:
            check(len(r) == 4 and re.match(r"^[a-z]+/[-+.\w]+$", r[3]), f"MIME type in {r!r}")
    letter = [r for r in tsv(ok("doc", "list", S["a"]["id"])) if r[0] == S["doc_ids"]["letter"]][0]
    check(letter[3] == "text/plain", f"the letter's MIME type is {letter[3]!r}")
    refused(1, r"no client nobody", "doc", "list", "nobody")


@case
def doc_get_round_trip():
    """doc get writes each file back byte for byte, mode 0600, and leaves nothing else"""
    os.mkdir("out")
    for key, (_, _, data, _) in S["docs"].items():
        dest = os.path.join("out", key)
        check(ok("doc", "get", S["doc_ids"][key], dest) == "", "doc get printed something")
        got = open(dest, "rb").read()
        check(got == data, f"{key}: {len(got)} bytes back, {len(data)} stored; or they differ")
        check(stat.S_IMODE(os.stat(dest).st_mode) == 0o600, f"{dest} is not 0600")
    check(sorted(os.listdir("out")) == sorted(S["docs"]), f"out/ holds {os.listdir('out')!r}")


@case
def doc_get_no_overwrite():
    """doc get refuses an existing DEST (1) unless --force; --force replaces a link, not its target"""
    letter, data = S["doc_ids"]["letter"], S["docs"]["letter"][2]
    with open("out/existing", "wb") as f:
        f.write(b"keep me")
    refused(1, r"out/existing exists; add --force to replace it", "doc", "get", letter, "out/existing")
    check(open("out/existing", "rb").read() == b"keep me", "a refused get changed DEST")
    ok("doc", "get", letter, "out/existing", "--force")
    check(open("out/existing", "rb").read() == data, "--force did not replace DEST")
    with open("out/target", "wb") as f:
        f.write(b"not this")
    os.symlink("target", "out/link")
    refused(1, r"exists; add --force", "doc", "get", letter, "out/link")
    ok("doc", "get", letter, "out/link", "--force")
    check(not os.path.islink("out/link") and open("out/link", "rb").read() == data
          and open("out/target", "rb").read() == b"not this", "--force wrote through a link")
    refused(1, r"out is a folder", "doc", "get", letter, "out", "--force")
    refused(1, r"no document nobody", "doc", "get", "nobody", "out/nobody")
    check(not os.path.exists("out/nobody"), "a refused get left a file")


@case
def doc_nothing_in_clear():
    """no document's name is in practice.db or its WAL; no document's content is in files/"""
    for key, (_, name, data, _) in S["docs"].items():
        for path in ("practice/practice.db", "practice/practice.db-wal"):
            check(grep_count(name, path) == 0, f"{key}'s name {name!r} is in {path}")
    stored = b"".join(open(os.path.join("practice/files", n), "rb").read()
                      for n in os.listdir("practice/files"))
    check(len(stored) > 300 * 1024, "the files folder is not what was added")
    scan = S["docs"]["scan"][2]
    for key, probe in (("letter", S["docs"]["letter"][2]), ("ref", S["docs"]["ref"][2]),
                       ("scan", scan[:64]), ("scan", scan[200000:200064]), ("scan", scan[-64:])):
        check(probe not in stored, f"{key}'s content is in practice/files in clear")
    check(grep_count("panic attacks at work", "out/letter") == 1, "the grep itself finds text")


@case
def doc_damaged():
    """a byte flipped in files/<id>: doc get fails (1) 'document file is damaged', leaves no DEST"""
    shutil.copytree("practice", "damaged")
    scan, letter = S["doc_ids"]["scan"], S["doc_ids"]["letter"]
    path = os.path.join("damaged", "files", scan)
    data = bytearray(open(path, "rb").read())
    data[150000] ^= 0x01
    with open(path, "wb") as f:
        f.write(data)
    os.mkdir("out-damaged")
    refused(1, r"^mts: document file is damaged: chunk 3 does not authenticate",
            "--store", "damaged", "doc", "get", scan, "out-damaged/scan")
    check(os.listdir("out-damaged") == [], f"a damaged get left {os.listdir('out-damaged')!r}")
    with open("out-damaged/scan", "wb") as f:
        f.write(b"old")
    refused(1, r"^mts: document file is damaged: ", "--store", "damaged", "doc", "get", scan,
            "out-damaged/scan", "--force")
    check(open("out-damaged/scan", "rb").read() == b"old" and os.listdir("out-damaged") == ["scan"],
          "a damaged get with --force replaced DEST or left a file")
    os.remove("out-damaged/scan")
    os.remove(os.path.join("damaged", "files", letter))
    refused(1, r"^mts: document file is damaged: .*is missing", "--store", "damaged", "doc", "get",
            letter, "out-damaged/letter")
    check(os.listdir("out-damaged") == [], "a get of a missing file left a file")
    ok("doc", "get", scan, "out/scan-again")
    check(open("out/scan-again", "rb").read() == S["docs"]["scan"][2], "the original store")


@case
def doc_damaged_export():
    """an export of a store with damaged files writes the rest, lists those as damaged, exits 1"""
    rc, out, err = mts("--store", "damaged", "export", "exp-damaged")
    check(rc == 1 and out.startswith("exported ") and f" and {len(S['docs']) - 2} files " in out,
          f"exit {rc}, stdout {out!r}, stderr {err!r}")
    check(re.match(r"^mts: 2 document files are damaged and left out of the export", err)
          and len(err.splitlines()) == 1, f"stderr {err!r}")
    files = {f["document_id"]: f for f in json.load(open("exp-damaged/bundle.json"))["files"]}
    bad = {S["doc_ids"]["scan"], S["doc_ids"]["letter"]}
    for ident, f in files.items():
        if ident in bad:
            check(f["check"] == "damaged" and f["path"] is None
                  and f["error"].startswith("document file is damaged: "), f"{f!r}")
            check(not os.path.exists(os.path.join("exp-damaged", "files", ident)), "a damaged file's folder")
        else:
            check(f["check"] == "ok" and f["error"] is None
                  and os.path.isfile(os.path.join("exp-damaged", f["path"])), f"{f!r}")
    check(set(files) == set(S["doc_ids"].values()), "the files listed")


@case
def doc_delete():
    """doc delete needs --yes (1); then the document and its file are gone"""
    a = S["a"]["id"]
    ident = S["doc_deleted"] = ok("doc", "add", a, doc_path("letter")).strip()
    refused(1, r"add --yes to confirm", "doc", "delete", ident)
    check(ident in [r[0] for r in tsv(ok("doc", "list", a))] and
          os.path.exists(os.path.join("practice/files", ident)), "deleted without --yes")
    ok("doc", "delete", ident, "--yes")
    check(ident not in [r[0] for r in tsv(ok("doc", "list", a))], "still listed")
    check(not os.path.exists(os.path.join("practice/files", ident)), "its file is still in files/")
    refused(1, r"no document " + ident, "doc", "get", ident, "out/deleted")
    refused(1, r"no document " + ident, "doc", "delete", ident, "--yes")
    check(not os.path.exists("out/deleted"), "a get of a deleted document wrote a file")


@case
def unknown_ids():
    """an unknown id is refused by every command that takes one (1)"""
    for args in (["client", "show", "nobody"], ["client", "edit", "nobody", "--name", "X"],
                 ["client", "delete", "nobody", "--yes"], ["note", "list", "nobody"]):
        refused(1, r"no client nobody", *args)
    for args in (["note", "show", "nobody"], ["note", "edit", "nobody", "--body", "x"],
                 ["note", "sign", "nobody"], ["note", "amend", "nobody", "--body", "x"]):
        refused(1, r"no note nobody", *args)
    for args in (["doc", "get", "nobody", "nowhere"], ["doc", "delete", "nobody", "--yes"]):
        refused(1, r"no document nobody", *args)
    refused(1, r"no client nobody", "doc", "list", "nobody")
    refused(1, r"no client nobody", "audit", "log", "--client", "nobody")
    refused(1, r"no client nobody", "export", "sar", "--client", "nobody")
    check(not os.path.exists("sar"), "a refused export left a folder")


@case
def delete_needs_yes():
    """client delete without --yes is refused (1) and deletes nothing"""
    refused(1, r"add --yes to confirm", "client", "delete", S["b"]["id"])
    check(len(tsv(ok("client", "list"))) == 2, "a client went without --yes")


@case
def passphrase_refusals():
    """a wrong passphrase, none at all, or a readable passphrase file is refused (1)"""
    err = refused(1, r"wrong passphrase for the store in", "client", "list",
                  env={"MTS_PASSPHRASE_FILE": os.path.join(work, "wrong-passphrase")})
    check("not the passphrase" not in err, "the passphrase was printed")
    err = refused(1, r"wrong passphrase", "client", "list", unset=["MTS_PASSPHRASE_FILE"],
                  env={"MTS_PASSPHRASE": "guess"})
    check("guess" not in err, "the passphrase was printed")
    refused(1, r"no passphrase.*MTS_PASSPHRASE", "client", "list", unset=["MTS_PASSPHRASE_FILE"])
    shutil.copy("passphrase", "open-passphrase")
    os.chmod("open-passphrase", 0o644)
    refused(1, r"readable by other users", "client", "list",
            env={"MTS_PASSPHRASE_FILE": os.path.join(work, "open-passphrase")})


@case
def missing_store():
    """a missing store is refused (1) with a pointer to init; MTS_STORE chooses the store"""
    refused(1, r"holds no store.*mts init", "--store", "nowhere", "client", "list")
    refused(1, r"holds no store", "client", "list", "--store", "nowhere")
    refused(1, r"holds no store", "client", "list", env={"MTS_STORE": os.path.join(work, "nowhere")})
    check(len(tsv(ok("client", "list", env={"MTS_STORE": os.path.join(work, "practice")}))) == 2,
          "MTS_STORE")
    check(not os.path.exists("nowhere"), "opening a missing store created it")


@case
def usage_errors():
    """no command, an unknown command or option, a missing argument: usage (2); --help: 0"""
    for args in ([], ["frobnicate"], ["client"], ["client", "frob"], ["client", "list", "--bogus"],
                 ["client", "show"], ["client", "show", "a", "b"], ["--store"],
                 ["doc", "get", "a"], ["doc", "list"], ["doc", "delete", "a", "--force"]):
        rc, out, err = mts(*args)
        check(rc == 2 and err.startswith("mts: ") and "Usage" in err and out == "",
              f"mts {args}: exit {rc}, stderr {err!r}")
    for args in (["--help"], ["help"], ["note", "add", "--help"]):
        out = ok(*args)
        check(out.startswith("Usage"), f"mts {args}: {out!r}")


@case
def actor_option():
    """--actor must name a clinician of the store (1)"""
    refused(1, r"not a clinician of this store", "--actor", "dr.who", "client", "list")
    refused(1, r"not a clinician of this store", "client", "list", "--actor", "dr.who")
    ok("client", "list", "--actor", S["clinician"])


@case
def audit_log_by_client():
    """audit log --client shows that client's entries (client, notes, documents) and none of another's"""
    def entries(client):
        return tsv(ok("audit", "log", "--client", client))
    a_rows, b_rows = entries(S["a"]["id"]), entries(S["b"]["id"])
    a_ids = {r[5] for r in a_rows}
    b_ids = {r[5] for r in b_rows}
    # Documents too, and the one deleted: its row stays as a tombstone.
    want_a = {S["a"]["id"], S["n1"], S["n2"], S["n3"], S["n4"], S["doc_deleted"]}
    want_a |= {S["doc_ids"][k] for k, v in S["docs"].items() if v[0] == "a"}
    want_b = {S["b"]["id"], S["nb"], S["doc_ids"]["ref"]}
    check(a_ids == want_a, f"client A's log names {a_ids!r}, expected {want_a!r}")
    check(b_ids == want_b, f"client B's log names {b_ids!r}, expected {want_b!r}")
    acts = [(r[3], r[4], r[5]) for r in a_rows]
    check(("insert", "clients", S["a"]["id"]) in acts and ("update", "clients", S["a"]["id"]) in acts
          and ("update", "notes", S["n1"]) in acts, f"{acts!r}")
    for r in a_rows + b_rows:
        check(len(r) == 8 and r[0].isdigit() and INSTANT_RE.match(r[1]) and r[2] == S["clinician"],
              f"entry {r!r}")
    full = tsv(ok("audit", "log"))
    check([int(r[0]) for r in full] == list(range(1, len(full) + 1)), "the full log is not 1..n")


@case
def audit_log_since():
    """audit log --since keeps later entries; a bad --since is a usage error (2)"""
    full = tsv(ok("audit", "log"))
    mid = full[len(full) // 2][1]
    later = tsv(ok("audit", "log", "--since", mid))
    check(later == [r for r in full if r[1] >= mid] and 0 < len(later) < len(full), "--since")
    check(ok("audit", "log", "--since", "2999-01-01") == "", "--since in the future")
    check(len(tsv(ok("audit", "log", "--since", "2000-01-01T00:00:00+01:00"))) == len(full),
          "--since with an offset")
    refused(2, r"--since is", "audit", "log", "--since", "last tuesday")


@case
def audit_verify_ok():
    """audit verify prints ok; audit head is seq:mac and verifies as --head"""
    check(ok("audit", "verify") == "ok\n", "verify")
    head = ok("audit", "head").strip()
    check(re.match(r"^\d+:[0-9a-f]{64}$", head), f"head {head!r}")
    S["head"] = head
    check(ok("audit", "verify", "--head", head) == "ok\n", "verify --head")


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def as_csv(value):
    if value is None:
        return ""
    return str(value)


def check_exported_files(folder, bundle, docs):
    """The export in @folder holds exactly @docs' files, byte for byte, at the
    paths its bundle lists, each checked ok."""
    want = {S["doc_ids"][k]: v for k, v in docs.items()}
    listed = bundle["files"]
    check([f["document_id"] for f in listed] == sorted(want), f"files listed {listed!r}")
    for f in listed:
        who, name, data, safe = want[f["document_id"]]
        check(f == {"document_id": f["document_id"], "client_id": S[who]["id"], "file_name": name,
                    "path": f"files/{f['document_id']}/{safe}", "size_bytes": len(data),
                    "mime_type": f["mime_type"], "check": "ok", "error": None}, f"entry {f!r}")
        check(f["mime_type"] and "/" in f["mime_type"], f"entry {f!r}")
        check(os.listdir(os.path.join(folder, "files", f["document_id"])) == [safe],
              f"files/{f['document_id']} holds {os.listdir(os.path.join(folder, 'files', f['document_id']))!r}")
        got = open(os.path.join(folder, f["path"]), "rb").read()
        check(got == data, f"{f['path']}: not the bytes added")
    check(sorted(os.listdir(os.path.join(folder, "files"))) == sorted(want), "files/ folders")


@case
def export_round_trip():
    """export writes bundle.json and a CSV per table (0700/0600) holding everything added"""
    out = ok("export", "exp")
    check(out.startswith("exported ") and "exp" in out, f"{out!r}")
    for top, dirs, names in os.walk("exp"):
        check(stat.S_IMODE(os.stat(top).st_mode) == 0o700, f"{top} is not 0700")
        for name in names:
            path = os.path.join(top, name)
            check(stat.S_IMODE(os.lstat(path).st_mode) == 0o600 and os.path.isfile(path)
                  and not os.path.islink(path), f"{path} is not a 0600 file")
    b = json.load(open("exp/bundle.json", encoding="utf-8"))
    check(b["format"] == "mts-export" and b["format_version"] == 1, "format")
    check(INSTANT_RE.match(b["exported_at"]), "exported_at")
    check(b["store"]["path"] == os.path.join(work, "practice") and re.match(r"^[0-9a-f]{32}$", b["store"]["id"])
          and b["store"]["schema_version"] >= 1, f"store {b['store']!r}")
    check(b["actor"] == {"id": S["clinician"], "name": "Dr Ann Smith"}, f"actor {b['actor']!r}")
    check(b["client_id"] is None, "scope")
    tables = b["tables"]
    check(set(tables) >= {"clinicians", "clients", "notes", "sessions", "documents", "agreements",
                          "invoices", "payments", "risk_flags", "ai_consents", "note_templates"},
          f"tables {sorted(tables)!r}")
    check(not {"mts_audit", "sync_outbox", "sync_state"} & set(tables), "internal tables exported")

    clients = {r["id"]: r for r in tables["clients"]["rows"]}
    check(set(clients) == {S["a"]["id"], S["b"]["id"]}, "clients")
    for k in ("a", "b"):
        c, r = S[k], clients[S[k]["id"]]
        check(r["display_name"] == c["name"] and r["date_of_birth"] == c["dob"]
              and r["email"] == c["email"] and r["phone"] == c["phone"]
              and r["address"] == c["address"] and r["status"] == c["status"]
              and r["clinician_id"] == S["clinician"] and r["deleted"] == 0, f"client {k}: {r!r}")
    check("email_bidx" not in tables["clients"]["columns"]
          and "email_bidx" in tables["clients"]["withheld_columns"]
          and "display_name" in tables["clients"]["encrypted_columns"], "client columns")
    notes = {r["id"]: r for r in tables["notes"]["rows"]}
    check(set(notes) == {S[k] for k in ("n1", "n2", "n3", "n4", "nb")}, "notes")
    for k in ("n1", "n2", "n3", "n4", "nb"):
        check(notes[S[k]]["body"] == S[k + "_body"], f"note {k} body")
    check(notes[S["n1"]]["status"] == "signed" and notes[S["n4"]]["amends_id"] == S["n1"]
          and notes[S["nb"]]["client_id"] == S["b"]["id"], "note fields")
    clin = tables["clinicians"]["rows"]
    check(len(clin) == 1 and clin[0]["display_name"] == "Dr Ann Smith"
          and clin[0]["email"] == "ann.smith@example.org", f"clinicians {clin!r}")
    check("file_key" not in tables["documents"]["columns"]
          and "content_hash" not in tables["documents"]["columns"], "document keys exported")

    # Every CSV says the same as the bundle.
    total = 0
    for name, t in tables.items():
        rows = read_csv(os.path.join("exp", name + ".csv"))
        check(rows[0] == t["columns"], f"{name}.csv header {rows[0]!r}")
        want = [[as_csv(r[c]) for c in t["columns"]] for r in t["rows"]]
        check(rows[1:] == want, f"{name}.csv rows differ from bundle.json")
        total += len(t["rows"])
    check(b["row_count"] == total, "row count")
    check(out == f"exported {total} rows and {len(S['docs'])} files to exp\n", f"{out!r}")
    check(set(os.listdir("exp")) == {"bundle.json", "files"} | {n + ".csv" for n in tables}, "files")

    # The documents' files, decrypted, as files/<id>/<safe name>, and listed.
    check_exported_files("exp", b, S["docs"])
    docs = {r["id"]: r for r in tables["documents"]["rows"]}
    for key, (who, name, data, _) in S["docs"].items():
        r = docs[S["doc_ids"][key]]
        check(r["file_name"] == name and r["size_bytes"] == len(data)
              and r["client_id"] == S[who]["id"], f"document row {r!r}")

    # Recorded in the audit log, at the entry the bundle names.
    entry = [r for r in tsv(ok("audit", "log")) if r[0] == str(b["audit_seq"])]
    check(len(entry) == 1 and entry[0][3] == "export" and entry[0][4] == "practice", f"{entry!r}")
    check("exp" not in entry[0][7], "the audit detail names the folder")


@case
def export_client():
    """export --client holds that client, its notes and its clinician, nothing of another's"""
    ok("export", "sar-a", "--client", S["a"]["id"])
    b = json.load(open("sar-a/bundle.json", encoding="utf-8"))
    t = b["tables"]
    check(b["client_id"] == S["a"]["id"], "client_id")
    check([r["id"] for r in t["clients"]["rows"]] == [S["a"]["id"]], "clients")
    check({r["id"] for r in t["notes"]["rows"]} == {S[k] for k in ("n1", "n2", "n3", "n4")}, "notes")
    check([r["id"] for r in t["clinicians"]["rows"]] == [S["clinician"]], "clinicians")
    check("note_templates" not in t and not os.path.exists("sar-a/note_templates.csv"),
          "templates are about no client")
    a_docs = {k: v for k, v in S["docs"].items() if v[0] == "a"}
    check_exported_files("sar-a", b, a_docs)
    check({r["id"] for r in t["documents"]["rows"]} == {S["doc_ids"][k] for k in a_docs},
          "documents rows")
    data = b""
    for top, _, names in os.walk("sar-a"):
        for name in names:
            data += open(os.path.join(top, name), "rb").read()
    for secret in (S["b"]["name"], S["b"]["email"], S["nb_body"].splitlines()[0], S["b"]["id"],
                   S["docs"]["ref"][1], S["docs"]["ref"][2].decode(), S["doc_ids"]["ref"]):
        check(secret.encode() not in data, f"client B's {secret!r} is in client A's export")
    entry = [r for r in tsv(ok("audit", "log", "--client", S["a"]["id"])) if r[3] == "export"]
    check(len(entry) == 1 and entry[0][4] == "client:" + S["a"]["id"], f"{entry!r}")


@case
def export_refusals():
    """export refuses a folder that is not empty, or is a file (1)"""
    refused(1, r"is not empty", "export", "exp")
    open("afile", "w").close()
    refused(1, r"not a folder", "export", "afile")
    os.mkdir("empty", 0o755)
    ok("export", "empty")
    check(stat.S_IMODE(os.stat("empty").st_mode) == 0o700, "an empty folder is made 0700")
    refused(1, r"cannot create", "export", "no/such/parent")


def plaintexts():
    a, b = S["a"], S["b"]
    values = [a["name"], "Ångström", a["dob"], a["email"], a["old_email"], a["old_phone"],
              "Rosemary Lane", b["name"], b["email"], b["phone"], "Orchard Rise", b["dob"],
              "Dr Ann Smith", "ann.smith@example.org"]
    for k in ("n1", "n2", "n3", "n4", "nb"):
        values.append(S[k + "_body"].splitlines()[0])
    values.append(S["n3_old"].strip())
    values += [name for _, name, _, _ in S["docs"].values()]
    return values


def grep_count(value, path):
    """grep -c, as the brief says: lines of @path holding @value."""
    if not os.path.exists(path):
        return 0
    p = subprocess.run(["grep", "-c", "-a", "-F", "--", value, path], capture_output=True)
    return int(p.stdout.decode().strip() or "0")


@case
def no_plaintext_in_database():
    """no plaintext written (names, contacts, dates of birth, note texts) is in practice.db or its WAL"""
    for value in plaintexts():
        for path in ("practice/practice.db", "practice/practice.db-wal"):
            n = grep_count(value, path)
            check(n == 0, f"grep -c {value!r} {path} = {n}")
    check(grep_count("S: reports low mood", "exp/bundle.json") == 1, "the grep itself finds text")


@case
def stock_shell_with_extension():
    """a power user opens the store in the stock sqlite3 shell with the extension and reads it"""
    ext = os.environ.get("MTS_EXTENSION")
    check(ext is not None, "MTS_EXTENSION is not set")
    script = (f".load {ext}\n"
              "SELECT mts_unlock('practice.mtskey') > 0;\n"
              "SELECT mts_decrypt(display_name, 'clients.display_name:' || id) FROM clients "
              "WHERE deleted = 0 ORDER BY 1;\n"
              "SELECT mts_audit_verify();\n")
    # In the sanitizer build the extension needs its runtime preloaded into
    # the stock shell: .ci/run says how in MTS_SQLITE_WRAPPER, as for the SQL tests.
    wrapper = shlex.split(os.environ.get("MTS_SQLITE_WRAPPER", ""))
    env = dict(BASE_ENV)
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    p = subprocess.run(wrapper + [SQLITE3, "-batch", "practice.db"], capture_output=True, text=True,
                       input=script, cwd=os.path.join(work, "practice"), env=env, timeout=600)
    check(p.returncode == 0 and p.stderr == "", f"sqlite3: {p.stderr!r}")
    lines = p.stdout.splitlines()
    check(lines[0] == "1" and lines[-1] == "ok", f"unlock and verify: {lines!r}")
    check(S["b"]["name"] in lines, f"{S['b']['name']!r} not among the decrypted names {lines!r}")


@case
def stock_shell_sees_no_plaintext():
    """the store opened in the stock sqlite3 shell without the extension: its whole .dump holds no plaintext, and writes to audited tables fail"""
    p = subprocess.run([SQLITE3, "-readonly", "practice/practice.db", ".dump"],
                       capture_output=True, timeout=120)
    check(p.returncode == 0, f"sqlite3 .dump: {p.stderr!r}")
    dump = p.stdout.decode("utf-8", "replace")
    check("CREATE TABLE clients" in dump and "INSERT INTO clients" in dump,
          "the dump holds the clients table and its rows")
    for value in plaintexts():
        check(value not in dump, f"{value!r} in the stock shell's .dump")
    p = subprocess.run([SQLITE3, "practice/practice.db"], capture_output=True, text=True,
                       input="UPDATE clients SET status = 'closed';\n", timeout=60)
    check("no such function: mts_audit" in p.stderr, f"an unaudited write was not refused: {p.stderr!r}")


@case
def delete_client():
    """client delete --yes removes the client and its notes; its log stays; nothing readable left"""
    b = S["b"]
    ref = S["doc_ids"]["ref"]
    check(os.path.exists(os.path.join("practice/files", ref)), "client B's document file")
    ok("client", "delete", b["id"], "--yes")
    check(sorted(os.listdir("practice/files")) ==
          sorted(v for k, v in S["doc_ids"].items() if S["docs"][k][0] == "a"),
          f"after the delete files/ holds {os.listdir('practice/files')!r}")
    refused(1, r"no document " + ref, "doc", "get", ref, "out/ref-after-delete")
    check([r[0] for r in tsv(ok("client", "list"))] == [S["a"]["id"]], "client B still listed")
    refused(1, r"no client", "client", "show", b["id"])
    refused(1, r"no note", "note", "show", S["nb"])
    acts = {(r[3], r[4], r[5]) for r in tsv(ok("audit", "log", "--client", b["id"]))}
    check(("insert", "clients", b["id"]) in acts and ("update", "clients", b["id"]) in acts,
          f"the deleted client's log: {acts!r}")
    check(not any(r[5] == S["a"]["id"] for r in tsv(ok("audit", "log", "--client", b["id"]))),
          "client A in client B's log")
    for value in (b["name"], b["email"], b["phone"], "Orchard Rise", S["nb_body"].splitlines()[0],
                  S["docs"]["ref"][1]):
        for path in ("practice/practice.db", "practice/practice.db-wal"):
            check(grep_count(value, path) == 0, f"{value!r} in {path}")
    ok("export", "after-delete")
    t = json.load(open("after-delete/bundle.json", encoding="utf-8"))["tables"]
    check([r["id"] for r in t["clients"]["rows"]] == [S["a"]["id"]], "the deleted client exported")
    check(S["nb"] not in {r["id"] for r in t["notes"]["rows"]}, "the deleted client's note exported")
    check(ref not in {r["id"] for r in t["documents"]["rows"]}, "the deleted client's document exported")
    check(not os.path.exists(os.path.join("after-delete", "files", ref)), "its file exported")
    check(ok("audit", "verify") == "ok\n", "verify after the delete")


@case
def audit_tamper_detected():
    """after an audit entry is edited in the stock sqlite3 shell, verify names it and exits 1"""
    shutil.copytree("practice", "tampered")
    log = tsv(ok("--store", "tampered", "audit", "log", "--client", S["a"]["id"]))
    seq = [r[0] for r in log if r[3] == "update" and r[4] == "clients"][0]
    p = subprocess.run([SQLITE3, "tampered/practice.db"], capture_output=True, text=True,
                       input="UPDATE mts_audit SET actor = 'someone else' WHERE seq = %s;\n" % seq)
    check("append-only" in p.stderr, f"the guard trigger did not stop a casual edit: {p.stderr!r}")
    p = subprocess.run([SQLITE3, "tampered/practice.db"], capture_output=True, text=True,
                       input="DROP TRIGGER mts_audit_append_only_update;\n"
                             "UPDATE mts_audit SET actor = 'someone else' WHERE seq = %s;\n" % seq)
    check(p.returncode == 0 and p.stderr == "", f"sqlite3: {p.stderr!r}")
    refused(1, r"audit log does not verify: entry %s \(update on clients row %s\)" % (seq, S["a"]["id"]),
            "--store", "tampered", "audit", "verify")
    check(ok("audit", "verify") == "ok\n", "the original store still verifies")


@case
def audit_head_cut_off():
    """verify --head fails (1) when entries after that head are cut off"""
    shutil.copytree("practice", "cut")
    head = ok("--store", "cut", "audit", "head").strip()
    last = int(head.split(":")[0])
    p = subprocess.run([SQLITE3, "cut/practice.db"], capture_output=True, text=True,
                       input="DROP TRIGGER mts_audit_append_only_delete;\n"
                             "DELETE FROM mts_audit WHERE seq = %d;\n" % last)
    check(p.returncode == 0, f"sqlite3: {p.stderr!r}")
    refused(1, r"does not verify: .*entr", "--store", "cut", "audit", "verify", "--head", head)


def main():
    print(f"1..{len(cases)}")
    failed = 0
    for n, fn in enumerate(cases, 1):
        title = fn.__doc__.strip().splitlines()[0]
        try:
            fn()
            print(f"ok {n} - {title}")
        except Failed as e:
            failed += 1
            print(f"not ok {n} - {title}")
            print(f"# {e}".replace("\n", "\n# "))
        except Exception:
            failed += 1
            print(f"not ok {n} - {title}")
            print("# " + traceback.format_exc().replace("\n", "\n# "))
        sys.stdout.flush()
    if failed == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"# scratch directory kept: {work}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
