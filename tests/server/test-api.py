#!/usr/bin/env python3
"""Integration tests of the server API (docs/api.md) against the real
`mts-server`, over TLS on loopback, with a CA made at test time
(make-test-ca.sh) and the curl command line as the client; reports TAP.

Usage: MTS_SERVER=build/server/mts-server test-api.py

Peer and host verification are never switched off: every request names the
test CA with --cacert.  Each case makes its own practice and users on a
shared server (or starts a server of its own when it needs other settings),
so a failing case leaves the others meaningful.  A user's TOTP codes work
once each, at most three per 30 seconds, so cases that log in often make
more users rather than wait.  The last cases look at what the shared server
left behind: no plaintext of a sensitive field, password, TOTP secret or
token in its database or its log, and an audit chain that verifies and
catches an edited entry.
"""
import copy
import datetime
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtsserver import (MTS_SERVER, Failed, Scratch, Server, Skip, Soft, Tap,  # noqa: E402
                       check, check_eq, new_device_id, uuid7)

if not os.access(MTS_SERVER, os.X_OK):
    print(f"Bail out! no server binary at {MTS_SERVER} (set MTS_SERVER)")
    sys.exit(1)

tap = Tap()
case = tap.case
scratch = Scratch()
_servers = []
_main = None
_n = [0]

MARK = "MARKER-"          # every sensitive plaintext the tests push carries it

# The sensitive fields (docs/api.md: names, contact details, dates of birth,
# note bodies, locations, file names, risk text, agreement bodies).
SENSITIVE = {
    "clinicians": {"display_name", "email"},
    "clients": {"display_name", "date_of_birth", "email", "phone", "address",
                "gp_details", "emergency_contact"},
    "sessions": {"location"},
    "notes": {"body"},
    "documents": {"file_name"},
    "agreements": {"body"},
    "risk_flags": {"text"},
}

HEX64 = "9f2c" + "0123456789abcdef" * 3 + "0123456789ab"


def unique(prefix):
    _n[0] += 1
    return f"{prefix}-{_n[0]}"


def main_server():
    """The server most cases share; the address limit is high so that the
    failed logins of one case never rate-limit another's."""
    global _main
    if _main is None:
        _main = Server(scratch, "main", {"auth": {"address_max_failures": 100000}})
        _servers.append(_main)
    _main.ensure_running()
    return _main


def own_server(name, settings):
    srv = Server(scratch, unique(name), settings)
    _servers.append(srv)
    srv.start()
    return srv


def practice(srv, prefix="p"):
    slug = unique(prefix)
    return slug, srv.practice_create(slug)


def user(srv, slug, role="clinician"):
    return srv.user_add(slug, unique("u"), role)


def stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def rid():
    return str(uuid7())


def client_fields(tag, **more):
    t = stamp()
    f = {"created_at": t, "updated_at": t, "display_name": f"{MARK}NAME-7c1f-{tag}",
         "status": "active"}
    f.update(more)
    return f


def note_fields(client_id, body, **more):
    t = stamp()
    f = {"created_at": t, "updated_at": t, "client_id": client_id, "template_kind": "SOAP",
         "body": body, "status": "draft", "ai_assisted": 0}
    f.update(more)
    return f


def result_ok(res, status, what):
    check(res.get("status") == status, f"{what}: expected status {status!r}, got {res!r}")
    if status in ("applied", "merged"):
        check(isinstance(res.get("version"), int) and res["version"] > 0,
              f"{what}: no positive version: {res!r}")


def new_client(sess, tag, **more):
    """Pushes a new client; returns (id, version, fields)."""
    cid = rid()
    fields = client_fields(tag, **more)
    res = sess.push_ok([sess.upsert("clients", cid, 0, fields)])[0]
    result_ok(res, "applied", "new client")
    return cid, res["version"], fields


def no_marker(resp, what):
    check(MARK not in resp.text, f"{what}: a sensitive plaintext leaked: {resp.describe()}")


def retry_after(resp, most):
    v = resp.header("retry-after")
    check(v is not None and re.fullmatch(r"\d+", v) and 0 < int(v) <= most,
          f"Retry-After should be whole seconds in 1..{most}, got {v!r}")


# ---------------------------------------------------------------------------
# Every request

@case
def health():
    """GET /v1/health: 200 {status ok, protocol 1} without auth or protocol header"""
    srv = main_server()
    r = srv.curl("GET", "/v1/health", protocol=None)
    body = r.expect(200, what="health")
    check_eq(body.get("status"), "ok", "status")
    check_eq(body.get("protocol"), 1, "protocol")
    check_eq(r.header("mts-protocol"), "1", "MTS-Protocol response header")
    check((r.header("content-type") or "").startswith("application/json"),
          f"Content-Type {r.header('content-type')!r}")


@case
def protocol_header():
    """MTS-Protocol missing or not 1 -> 400 protocol_version (login and pull), errors carry MTS-Protocol: 1"""
    srv = main_server()
    slug, _ = practice(srv)
    u = user(srv, slug)
    s = srv.login(u)
    for proto in (None, "2", "0", "1.0", ""):
        r = srv.curl("GET", "/v1/sync/pull?after=0", token=s.access, protocol=proto)
        r.expect(400, "protocol_version", f"pull with MTS-Protocol {proto!r}")
        check_eq(r.header("mts-protocol"), "1", "MTS-Protocol on the error")
    body = srv.login_body(u, code="000000")
    for proto in (None, "2"):
        srv.curl("POST", "/v1/auth/login", body, protocol=proto).expect(
            400, "protocol_version", f"login with MTS-Protocol {proto!r}")
    s.pull().expect(200, what="pull with MTS-Protocol: 1")


# ---------------------------------------------------------------------------
# TLS

@case
def tls_control_curl_speaks_tls11():
    """control: this curl can speak TLS 1.1 (so the refusal below can fail)"""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                          "-cert", scratch.ca("server.pem"), "-key", scratch.ca("server-key.pem"),
                          "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-www", "-quiet"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.1)
        c = subprocess.run(["curl", "-sS", "-o", "/dev/null", "--cacert", scratch.ca("ca.pem"),
                            "--tlsv1.1", "--tls-max", "1.1", "--ciphers", "DEFAULT@SECLEVEL=0",
                            f"https://127.0.0.1:{port}/"], capture_output=True, text=True, timeout=30)
        if c.returncode != 0 and p.poll() is not None:
            raise Skip(f"openssl s_server cannot serve TLS 1.1 here: {p.stderr.read().decode()}")
        check(c.returncode == 0, f"curl could not speak TLS 1.1 to openssl s_server: {c.stderr}")
    finally:
        p.terminate()
        p.wait()


@case
def tls_11_refused():
    """TLS 1.1 is refused (curl --tls-max 1.1 fails to connect)"""
    srv = main_server()
    r = srv.curl("GET", "/v1/health", protocol=None,
                 extra=["--tlsv1.1", "--tls-max", "1.1", "--ciphers", "DEFAULT@SECLEVEL=0"])
    check(r.status is None and r.rc != 0, f"a TLS 1.1 client was answered: {r.describe()}")
    check(srv.curl("GET", "/v1/health").status == 200, "health after the TLS 1.1 attempt")


@case
def tls_12_and_13_accepted():
    """TLS 1.2 and TLS 1.3 are accepted (and are what was negotiated)"""
    srv = main_server()
    for v in ("1.2", "1.3"):
        r = srv.curl("GET", "/v1/health", protocol=None,
                     extra=[f"--tlsv{v}", "--tls-max", v, "-v"])
        r.expect(200, what=f"health over TLS {v}")
        check(f"SSL connection using TLSv{v}" in r.stderr,
              f"curl did not report TLSv{v}: {r.stderr[-800:]}")


@case
def tls_unknown_ca_and_wrong_host():
    """a client trusting only another CA fails with 60; a name not in the certificate fails with 60; localhost works"""
    srv = main_server()
    r = srv.curl("GET", "/v1/health", cacert="other-ca.pem")
    check(r.rc == 60 and r.status is None, f"with other-ca.pem: expected curl exit 60, got {r.describe()}")
    r = srv.curl("GET", "/v1/health", host="localhost")
    r.expect(200, what="https://localhost (DNS subjectAltName)")
    r = srv.curl("GET", "/v1/health", host="wrong.example",
                 extra=["--resolve", f"wrong.example:{srv.port}:127.0.0.1"])
    check(r.rc == 60 and r.status is None, f"with a wrong host name: expected curl exit 60, got {r.describe()}")


# ---------------------------------------------------------------------------
# Auth

@case
def login_success():
    """login: 200 with mtsa_/mtsr_ tokens, Bearer, lifetimes, ids and role"""
    srv = main_server()
    slug, pid = practice(srv)
    u = user(srv, slug, "practice_admin")
    dev = new_device_id()
    s = srv.login(u, dev)
    a = s.answer
    check(a["access_token"].startswith("mtsa_") and len(a["access_token"]) > 20,
          f"access token form: {a['access_token'][:8]}...")
    check(a["refresh_token"].startswith("mtsr_") and len(a["refresh_token"]) > 20,
          f"refresh token form: {a['refresh_token'][:8]}...")
    check(a["access_token"] != a["refresh_token"], "the two tokens are the same")
    check_eq(a.get("token_type"), "Bearer", "token_type")
    check_eq(a.get("expires_in"), 900, "expires_in")
    check(isinstance(a.get("refresh_expires_in"), int) and a["refresh_expires_in"] > 900,
          f"refresh_expires_in {a.get('refresh_expires_in')!r}")
    check_eq(a.get("practice_id"), pid, "practice_id")
    check_eq(a.get("user_id"), u.user_id, "user_id")
    check_eq(a.get("role"), "practice_admin", "role")
    check_eq(a.get("device_id"), dev, "device_id")
    s.pull().expect(200, what="pull with the new access token")


@case
def login_failures_look_alike():
    """wrong password, wrong TOTP, unknown user, unknown practice: the same 401 invalid_credentials body"""
    srv = main_server()
    slug, _ = practice(srv)
    u = user(srv, slug)
    tries = {
        "wrong password": srv.login_body(u, password=u.password + "x"),
        "wrong TOTP": srv.login_body(u, code=u.wrong_code()),
        "unknown user": srv.login_body(u, username=unique("nobody"), code="123456"),
        "unknown practice": srv.login_body(u, practice=unique("no-such-practice"), code="123456"),
    }
    bodies = {}
    for what, body in tries.items():
        r = srv.curl("POST", "/v1/auth/login", body)
        r.expect(401, "invalid_credentials", what)
        check("access_token" not in r.text, f"{what}: a token in a refusal")
        bodies[what] = r.json
    first = bodies["wrong password"]
    for what, b in bodies.items():
        check(b == first, f"{what} answered {b!r}, wrong password {first!r}: they must not differ")
    srv.login(u)  # two failures are below the lockout


@case
def totp_code_once():
    """a TOTP code works once: the same code again -> 401; the next step's code works"""
    srv = main_server()
    slug, _ = practice(srv)
    u = user(srv, slug)
    code = u.code()
    srv.curl("POST", "/v1/auth/login", srv.login_body(u, code=code)).expect(200, what="first use")
    srv.curl("POST", "/v1/auth/login", srv.login_body(u, code=code)).expect(
        401, "invalid_credentials", "the same code again, another device")
    srv.login(u)


@case
def account_lockout():
    """account_max_failures (5) failures -> 423 account_locked with Retry-After even with the right password; user-unlock clears it"""
    srv = main_server()
    slug, _ = practice(srv)
    u = user(srv, slug)
    other = user(srv, slug)
    for i in range(1, 5):
        srv.curl("POST", "/v1/auth/login", srv.login_body(u, password="wrong", code=u.wrong_code())).expect(
            401, "invalid_credentials", f"failure {i}")
    r = srv.curl("POST", "/v1/auth/login", srv.login_body(u, password="wrong", code=u.wrong_code()))
    check(r.status in (401, 423), f"failure 5: {r.describe()}")
    r = srv.login_raw(u)
    r.expect(423, "account_locked", "the right password and code after 5 failures")
    retry_after(r, 900)
    check("access_token" not in r.text, "a token while locked")
    srv.login(other)  # one account's lockout is not another's
    srv.admin_ok("user-unlock", slug, u.username)
    srv.login(u)


@case
def lockout_of_unknown_account():
    """an unknown username locks like a real one (the lockout reveals nothing)"""
    srv = main_server()
    slug, _ = practice(srv)
    u = user(srv, slug)
    ghost = unique("ghost")
    for i in range(1, 6):
        r = srv.curl("POST", "/v1/auth/login", srv.login_body(u, username=ghost, code="123456"))
        check(r.status in ((401,) if i < 5 else (401, 423)), f"failure {i}: {r.describe()}")
    r = srv.curl("POST", "/v1/auth/login", srv.login_body(u, username=ghost, code="123456"))
    r.expect(423, "account_locked", "the sixth attempt for an unknown user")
    retry_after(r, 900)


@case
def address_rate_limit():
    """address_max_failures failures from one address -> 429 rate_limited with Retry-After, even for a good login"""
    srv = own_server("addr", {"auth": {"address_max_failures": 3, "account_max_failures": 100}})
    try:
        slug, _ = practice(srv)
        u = user(srv, slug)
        for i in range(1, 4):
            r = srv.curl("POST", "/v1/auth/login",
                         srv.login_body(u, username=unique("nobody"), code="123456"))
            check(r.status in ((401,) if i < 3 else (401, 429)), f"failure {i}: {r.describe()}")
        r = srv.login_raw(u)
        r.expect(429, "rate_limited", "a good login after 3 failures from this address")
        retry_after(r, 900)
        check("access_token" not in r.text, "a token while rate-limited")
        srv.curl("GET", "/v1/health").expect(200, what="health while rate-limited")
    finally:
        srv.stop_ok()


@case
def refresh_rotation_and_reuse():
    """refresh rotates; a spent refresh token -> 401 token_reused and its whole family is revoked, other devices not"""
    srv = main_server()
    slug, _ = practice(srv)
    u = user(srv, slug)
    s = srv.login(u)
    bystander = srv.login(u)
    r = srv.curl("POST", "/v1/auth/refresh", {"refresh_token": s.refresh})
    a = r.expect(200, what="refresh")
    check(a["access_token"].startswith("mtsa_") and a["refresh_token"].startswith("mtsr_"),
          "token prefixes after refresh")
    check(a["access_token"] != s.access and a["refresh_token"] != s.refresh,
          "refresh must give new tokens")
    check_eq(a.get("token_type"), "Bearer", "token_type")
    check_eq(a.get("device_id"), s.device_id, "device_id")
    new_access, new_refresh = a["access_token"], a["refresh_token"]
    srv.curl("GET", "/v1/sync/pull?after=0", token=new_access).expect(200, what="pull with the new access token")
    srv.curl("POST", "/v1/auth/refresh", {"refresh_token": s.refresh}).expect(
        401, "token_reused", "the spent refresh token again")
    r = srv.curl("POST", "/v1/auth/refresh", {"refresh_token": new_refresh})
    check(r.status == 401 and r.code in ("unauthorized", "token_reused"),
          f"the family's newer refresh token after the replay: expected 401, got {r.describe()}")
    srv.curl("GET", "/v1/sync/pull?after=0", token=new_access).expect(
        401, "unauthorized", "the family's access token after the replay")
    bystander.pull().expect(200, what="another device's session")


@case
def access_token_expiry():
    """an expired access token -> 401 token_expired (access_token_seconds=1); the refresh token still works"""
    srv = own_server("expiry", {"auth": {"access_token_seconds": 1}})
    try:
        slug, _ = practice(srv)
        u = user(srv, slug)
        s = srv.login(u)
        check_eq(s.answer.get("expires_in"), 1, "expires_in")
        time.sleep(2.5)
        s.pull().expect(401, "token_expired", "pull 2.5 s after a 1 s token")
        srv.curl("POST", "/v1/auth/refresh", {"refresh_token": s.refresh}).expect(200, what="refresh")
    finally:
        srv.stop_ok()


def tamper(token):
    """The token with one character in the middle changed."""
    i = len(token) // 2 + 3
    c = token[i]
    alphabet = ("0123456789" if c.isdigit() else
                "abcdefghijklmnopqrstuvwxyz" if c.islower() else
                "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c.isupper() else "-_")
    repl = alphabet[(alphabet.index(c) + 1) % len(alphabet)] if c in alphabet else "A"
    return token[:i] + repl + token[i + 1:]


@case
def bad_bearer_tokens():
    """missing, tampered, unknown and refresh-as-access bearer tokens -> 401 unauthorized"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    srv.curl("GET", "/v1/sync/pull?after=0").expect(401, "unauthorized", "no Authorization")
    for what, tok in (("tampered", tamper(s.access)),
                      ("truncated", s.access[:-1]),
                      ("unknown", "mtsa_" + "A" * (len(s.access) - 5)),
                      ("refresh token as access token", s.refresh),
                      ("no prefix", s.access[5:])):
        srv.curl("GET", "/v1/sync/pull?after=0", token=tok).expect(401, "unauthorized", what)
    srv.curl("GET", "/v1/sync/pull?after=0", headers=[f"Authorization: Basic {s.access}"]).expect(
        401, "unauthorized", "Basic instead of Bearer")
    s.pull().expect(200, what="the untouched token")


@case
def access_token_as_refresh():
    """an access token (or a tampered refresh token) presented to /v1/auth/refresh is refused with 401"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    for what, tok in (("access token", s.access), ("tampered refresh token", tamper(s.refresh))):
        srv.curl("POST", "/v1/auth/refresh", {"refresh_token": tok}).expect(401, "unauthorized", what)
    srv.curl("POST", "/v1/auth/refresh", {"refresh_token": s.refresh}).expect(
        200, what="the real refresh token afterwards")


@case
def logout_revokes():
    """logout: 200 {revoked: true}; the device's access and refresh tokens stop working, another device's do not"""
    srv = main_server()
    slug, _ = practice(srv)
    u = user(srv, slug)
    s = srv.login(u)
    other = srv.login(u)
    r = s.post("/v1/auth/logout", b"")
    check_eq(r.expect(200, what="logout"), {"revoked": True}, "logout answer")
    s.pull().expect(401, "unauthorized", "pull after logout")
    r = srv.curl("POST", "/v1/auth/refresh", {"refresh_token": s.refresh})
    check(r.status == 401, f"refresh after logout: expected 401, got {r.describe()}")
    other.pull().expect(200, what="the other device after logout")


@case
def logout_without_body():
    """logout takes no body: a POST with none (and so no Content-Type) -> 200 {revoked: true}"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    r = s.post("/v1/auth/logout", None)
    check_eq(r.expect(200, what="logout with no body"), {"revoked": True}, "logout answer")
    s.pull().expect(401, "unauthorized", "pull after logout")


@case
def device_revoke():
    """device-revoke (while the server runs) -> 403 device_revoked on the next request, refresh and login"""
    srv = main_server()
    slug, _ = practice(srv)
    u = user(srv, slug)
    s = srv.login(u, device_name="to be revoked")
    other = srv.login(u)
    out = srv.admin_ok("device-list", slug)
    check(s.device_id in out, f"device-list does not show the device: {out!r}")
    out = srv.admin_ok("user-list", slug)
    check(u.username in out, f"user-list does not show the user: {out!r}")
    srv.admin_ok("device-revoke", slug, s.device_id)
    soft = Soft()
    soft(s.pull().expect, 403, "device_revoked", "pull on the revoked device")
    soft(s.push([]).expect, 403, "device_revoked", "push on the revoked device")
    soft(srv.curl("POST", "/v1/auth/refresh", {"refresh_token": s.refresh}).expect,
         403, "device_revoked", "refresh on the revoked device")
    soft(srv.login_raw(u, device_id=s.device_id, password=u.password + "x", code=u.wrong_code()).expect,
         401, "invalid_credentials", "a wrong password on the revoked device (revocation not told first)")
    soft(srv.login_raw(u, device_id=s.device_id).expect, 403, "device_revoked", "login on the revoked device")
    soft(other.pull().expect, 200, None, "another device of the same user")
    soft.done()


# ---------------------------------------------------------------------------
# Isolation between practices

def two_practices(srv):
    sa, _ = practice(srv, "iso-a")
    sb, _ = practice(srv, "iso-b")
    return srv.login(user(srv, sa)), srv.login(user(srv, sb))


@case
def isolation_pull():
    """a record pushed by practice A never appears in practice B's pull"""
    srv = main_server()
    a, b = two_practices(srv)
    cid, ver, _ = new_client(a, "iso-a1")
    recs, pages = a.pull_all()
    check(("clients", cid) in recs, "A does not see its own record")
    recs, pages = b.pull_all()
    check_eq(list(recs), [], "B's records")
    for p in pages:
        no_marker(p, "B's pull")
        check(cid not in p.text, f"A's record id in B's pull: {p.describe()}")


@case
def isolation_same_id():
    """B pushing a new record with A's record id makes B's own record; A's is untouched (and the other way round)"""
    srv = main_server()
    a, b = two_practices(srv)
    cid, ver_a, fields_a = new_client(a, "iso-a2")
    fields_b = client_fields("iso-b2", status="waiting")
    r = b.push([b.upsert("clients", cid, 0, fields_b)])
    res = r.expect(200, what="B's push")["results"][0]
    result_ok(res, "applied", "B's new record with A's id")
    tag_a = "iso-a2"
    check(tag_a not in r.text, f"B's push answer shows A's data: {r.describe()}")
    recs, _ = a.pull_all()
    rec = recs.get(("clients", cid))
    check(rec is not None and rec["version"] == ver_a, f"A's record changed: {rec!r}")
    check_eq(rec["fields"].get("display_name"), fields_a["display_name"], "A's display_name")
    check_eq(rec["fields"].get("status"), "active", "A's status")
    recs_b, pages_b = b.pull_all()
    rec_b = recs_b.get(("clients", cid))
    check(rec_b is not None, "B does not see its own record")
    check_eq(rec_b["fields"].get("display_name"), fields_b["display_name"], "B's display_name")
    for p in pages_b:
        check(tag_a not in p.text, f"B's pull shows A's data: {p.describe()}")
    # A edits its record: B's stays as it was.
    res = a.push_ok([a.upsert("clients", cid, ver_a, {"status": "closed"})])[0]
    result_ok(res, "applied", "A's edit")
    recs_b2, _ = b.pull_all()
    check_eq(recs_b2[("clients", cid)], rec_b, "B's record after A's edit")


@case
def isolation_no_leak():
    """B's token never reveals A's data: edits and deletes of A's record with A's version, pull, audit head"""
    srv = main_server()
    a, b = two_practices(srv)
    cid, ver_a, fields_a = new_client(a, "iso-a3", phone=f"{MARK}PHONE-iso-a3")
    a.post("/v1/audit/head", {"seq": 77, "mac": HEX64}).expect(200, what="A anchors a head")
    tag = "iso-a3"
    answers = []
    r = b.push([b.upsert("clients", cid, ver_a, {"status": "closed"}),
                b.delete("clients", cid, ver_a)])
    answers.append(r)
    results = r.expect(200, what="B's push against A's record")["results"]
    for res in results:
        check(res.get("status") == "rejected",
              f"B's op on a record B's practice never had: expected rejected, got {res!r}")
    answers.append(b.pull())
    r = b.get("/v1/audit/head")
    answers.append(r)
    r.expect(404, "not_found", "B's audit head (only A anchored)")
    for ans in answers:
        check(tag not in ans.text and HEX64 not in ans.text, f"A's data in B's answer: {ans.describe()}")
    recs, _ = a.pull_all()
    rec = recs[("clients", cid)]
    check_eq(rec["version"], ver_a, "A's record version")
    check_eq(rec["deleted"], False, "A's record deleted")
    check_eq(rec["fields"].get("status"), "active", "A's status")


# ---------------------------------------------------------------------------
# Push

def clinician_record(sess, tag):
    t = stamp()
    cid = rid()
    fields = {"created_at": t, "updated_at": t, "display_name": f"{MARK}CLIN-{tag}",
              "role": "clinician", "active": 1}
    res = sess.push_ok([sess.upsert("clinicians", cid, 0, fields)])[0]
    result_ok(res, "applied", "new clinician")
    return cid


@case
def push_applied():
    """push: new records applied with increasing versions; pull gives the fields back"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    t = stamp()
    cid, nid, fid = rid(), rid(), rid()
    ops = [s.upsert("clients", cid, 0, client_fields("push1", email=f"{MARK}EMAIL-push1@example.org")),
           s.upsert("notes", nid, 0, note_fields(cid, f"S: {MARK}NOTE-push1\nO: calm\n")),
           s.upsert("risk_flags", fid, 0, {"created_at": t, "updated_at": t, "client_id": cid,
                                            "level": "low", "text": f"{MARK}RISK-push1",
                                            "raised_at": t})]
    results = s.push_ok(ops)
    versions = []
    for op, res in zip(ops, results):
        result_ok(res, "applied", f"{op['table']}")
        versions.append(res["version"])
    check(versions == sorted(versions) and len(set(versions)) == 3, f"versions not increasing: {versions}")
    recs, _ = s.pull_all()
    for op, v in zip(ops, versions):
        rec = recs.get((op["table"], op["id"]))
        check(rec is not None, f"{op['table']} {op['id']} not in the pull")
        check_eq(rec["version"], v, f"{op['table']} version")
        check_eq(rec["deleted"], False, f"{op['table']} deleted")
        for k, val in op["fields"].items():
            check_eq(rec["fields"].get(k), val, f"{op['table']}.{k}")


@case
def push_replay():
    """the same push again: every op duplicate with original_status and the same versions; nothing applied twice"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    cid = rid()
    ops = [s.upsert("clients", cid, 0, client_fields("replay")),
           s.upsert("clients", rid(), 0, client_fields("replay2")),
           s.upsert("notes", rid(), 0, note_fields(cid, f"{MARK}NOTE-replay\n"))]
    first = s.push_ok(ops)
    for res in first:
        result_ok(res, "applied", "first push")
    again = s.push_ok(copy.deepcopy(ops))
    for a, b in zip(first, again):
        check(b.get("status") == "duplicate" and b.get("original_status") == "applied"
              and b.get("version") == a["version"],
              f"replay of seq {a['seq']}: expected duplicate of applied v{a['version']}, got {b!r}")
    # A retried op beside a new one.
    extra = s.upsert("clients", rid(), 0, client_fields("replay3"))
    mixed = s.push_ok([ops[1], extra])
    check(mixed[0].get("status") == "duplicate" and mixed[0].get("version") == first[1]["version"],
          f"the retried op: {mixed[0]!r}")
    result_ok(mixed[1], "applied", "the new op")
    recs, _ = s.pull_all()
    check_eq(len(recs), 4, "records after the replays")
    check_eq(recs[("clients", cid)]["version"], first[0]["version"], "the first client's version")


def two_devices(srv):
    slug, _ = practice(srv)
    return slug, srv.login(user(srv, slug)), srv.login(user(srv, slug))


@case
def push_conflict():
    """two devices edit the same field from the same base: the second gets conflict with current and base; nothing applied"""
    srv = main_server()
    _, d1, d2 = two_devices(srv)
    cid, v0, _ = new_client(d1, "conflict")
    r1 = d1.push_ok([d1.upsert("clients", cid, v0, {"status": "waiting"})])[0]
    result_ok(r1, "applied", "first edit")
    r2 = d2.push_ok([d2.upsert("clients", cid, v0, {"status": "closed"})])[0]
    check_eq(r2.get("status"), "conflict", f"second edit {r2!r}")
    check_eq(r2.get("fields"), ["status"], "clashing fields")
    cur, base = r2.get("current") or {}, r2.get("base") or {}
    check_eq(cur.get("version"), r1["version"], "current.version")
    check_eq(cur.get("id"), cid, "current.id")
    check_eq(cur.get("table"), "clients", "current.table")
    check_eq(cur.get("fields", {}).get("status"), "waiting", "current.fields.status")
    check_eq(base.get("version"), v0, "base.version")
    check_eq(base.get("fields", {}).get("status"), "active", "base.fields.status")
    recs, _ = d1.pull_all()
    rec = recs[("clients", cid)]
    check(rec["version"] == r1["version"] and rec["fields"]["status"] == "waiting",
          f"after the conflict: {rec!r}")
    r3 = d2.push_ok([d2.upsert("clients", cid, cur["version"], {"status": "closed"})])[0]
    result_ok(r3, "applied", "the resolution")
    check(r3["version"] > r1["version"], "the resolution's version")


@case
def push_merge_fields():
    """two devices edit different fields from the same base: merged, with both"""
    srv = main_server()
    _, d1, d2 = two_devices(srv)
    cid, v0, f0 = new_client(d1, "merge")
    phone, email = f"{MARK}PHONE-merge", f"{MARK}EMAIL-merge@example.org"
    r1 = d1.push_ok([d1.upsert("clients", cid, v0, {"phone": phone})])[0]
    result_ok(r1, "applied", "first edit")
    r2 = d2.push_ok([d2.upsert("clients", cid, v0, {"email": email})])[0]
    result_ok(r2, "merged", "second edit")
    check(r2["version"] > r1["version"], f"merged version {r2['version']} after {r1['version']}")
    rec = r2.get("record") or {}
    check_eq(rec.get("version"), r2["version"], "record.version")
    f = rec.get("fields", {})
    check(f.get("phone") == phone and f.get("email") == email and
          f.get("display_name") == f0["display_name"], f"merged record {rec!r}")
    recs, _ = d1.pull_all()
    got = recs[("clients", cid)]
    check(got["version"] == r2["version"] and got["fields"].get("phone") == phone
          and got["fields"].get("email") == email, f"pulled after the merge: {got!r}")


NOTE_LINES = [f"S: {MARK}NOTE-line-{i}" for i in range(1, 8)]


def note_body(lines):
    return "\n".join(lines) + "\n"


def new_note(sess, tag):
    cid, _, _ = new_client(sess, tag)
    nid = rid()
    res = sess.push_ok([sess.upsert("notes", nid, 0, note_fields(cid, note_body(NOTE_LINES)))])[0]
    result_ok(res, "applied", "new note")
    return nid, res["version"]


@case
def push_merge_note_lines():
    """notes.body edited on two devices in different lines: merged text holds both edits"""
    srv = main_server()
    _, d1, d2 = two_devices(srv)
    nid, v0 = new_note(d1, "note-merge")
    l1 = list(NOTE_LINES)
    l1[0] = f"S: {MARK}NOTE-edit-first-device"
    l2 = list(NOTE_LINES)
    l2[6] = f"P: {MARK}NOTE-edit-second-device"
    result_ok(d1.push_ok([d1.upsert("notes", nid, v0, {"body": note_body(l1)})])[0], "applied", "first edit")
    r2 = d2.push_ok([d2.upsert("notes", nid, v0, {"body": note_body(l2)})])[0]
    result_ok(r2, "merged", "second edit")
    body = (r2.get("record") or {}).get("fields", {}).get("body", "")
    merged = list(NOTE_LINES)
    merged[0], merged[6] = l1[0], l2[6]
    check_eq(body, note_body(merged), "merged body")
    recs, _ = d2.pull_all()
    check_eq(recs[("notes", nid)]["fields"].get("body"), note_body(merged), "pulled body")


@case
def push_conflict_note_lines():
    """notes.body edited on two devices in the same line: conflict naming body; nothing applied"""
    srv = main_server()
    _, d1, d2 = two_devices(srv)
    nid, v0 = new_note(d1, "note-clash")
    l1 = list(NOTE_LINES)
    l1[3] = f"A: {MARK}NOTE-first-device"
    l2 = list(NOTE_LINES)
    l2[3] = f"A: {MARK}NOTE-second-device"
    r1 = d1.push_ok([d1.upsert("notes", nid, v0, {"body": note_body(l1)})])[0]
    result_ok(r1, "applied", "first edit")
    r2 = d2.push_ok([d2.upsert("notes", nid, v0, {"body": note_body(l2)})])[0]
    check_eq(r2.get("status"), "conflict", f"second edit {r2!r}")
    check_eq(r2.get("fields"), ["body"], "clashing fields")
    check_eq((r2.get("current") or {}).get("fields", {}).get("body"), note_body(l1), "current body")
    check_eq((r2.get("base") or {}).get("fields", {}).get("body"), note_body(NOTE_LINES), "base body")
    recs, _ = d1.pull_all()
    check_eq(recs[("notes", nid)]["version"], r1["version"], "version after the conflict")


@case
def push_signed_note():
    """a signed note never changes: an edit is rejected with code signed; an amendment is applied"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    clin = clinician_record(s, "signer")
    nid, v0 = new_note(s, "signed")
    t = stamp()
    r = s.push_ok([s.upsert("notes", nid, v0, {"status": "signed", "signed_by": clin,
                                                "signed_at": t, "updated_at": t})])[0]
    result_ok(r, "applied", "signing the note")
    v1 = r["version"]
    r = s.push_ok([s.upsert("notes", nid, v1, {"body": note_body(NOTE_LINES + ["changed"])})])[0]
    check(r.get("status") == "rejected" and r.get("code") == "signed",
          f"editing a signed note: expected rejected/signed, got {r!r}")
    check(isinstance(r.get("message"), str) and r["message"], f"no message: {r!r}")
    recs, _ = s.pull_all()
    check_eq(recs[("notes", nid)]["version"], v1, "version after the refused edit")
    client_id = recs[("notes", nid)]["fields"]["client_id"]
    amend = s.push_ok([s.upsert("notes", rid(), 0,
                                note_fields(client_id, f"{MARK}NOTE-amendment\n", amends_id=nid))])[0]
    result_ok(amend, "applied", "an amendment")


@case
def push_rejections():
    """rejected with a code: stale_base (a version never issued), deleted (edit of a tombstone), invalid (a new record without a required field)"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    cid, v0, _ = new_client(s, "reject")
    r = s.push_ok([s.upsert("clients", cid, v0 + 100000, {"status": "closed"})])[0]
    check(r.get("status") == "rejected" and r.get("code") == "stale_base", f"stale base: {r!r}")
    d = s.push_ok([s.delete("clients", cid, v0)])[0]
    result_ok(d, "applied", "delete")
    r = s.push_ok([s.upsert("clients", cid, d["version"], {"status": "closed"})])[0]
    check(r.get("status") == "rejected" and r.get("code") == "deleted", f"edit of a deleted record: {r!r}")
    f = client_fields("reject2")
    del f["display_name"]
    r = s.push_ok([s.upsert("clients", rid(), 0, f)])[0]
    check(r.get("status") == "rejected" and r.get("code") == "invalid", f"new record without display_name: {r!r}")


@case
def push_mass_delete():
    """deleting >25% (and >=20) of the live records -> 409 mass_delete, nothing applied; applied with confirm_mass_delete"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    ops = [s.upsert("clients", rid(), 0, client_fields(f"mass{i}")) for i in range(100)]
    created = s.push_ok(ops)
    for res in created:
        result_ok(res, "applied", "create")
    ids = [(op["id"], res["version"]) for op, res in zip(ops, created)]
    # 20 of 100 (20%): allowed.
    dels = [s.delete("clients", i, v) for i, v in ids[:20]]
    for res in s.push_ok(dels):
        result_ok(res, "applied", "delete of 20%")
    # 25 of the 80 left (31%): refused unless confirmed.
    dels = [s.delete("clients", i, v) for i, v in ids[20:45]]
    r = s.push(dels)
    r.expect(409, "mass_delete", "delete of 31%")
    recs, _ = s.pull_all()
    live = [k for k, rec in recs.items() if not rec["deleted"]]
    check_eq(len(live), 80, "live records after the refused push")
    r = s.push(dels, confirm_mass_delete=False)
    r.expect(409, "mass_delete", "delete of 31% with confirm_mass_delete false")
    for res in s.push_ok(dels, confirm_mass_delete=True):
        result_ok(res, "applied", "confirmed delete")
    recs, _ = s.pull_all()
    check_eq(sum(1 for rec in recs.values() if not rec["deleted"]), 55, "live records")
    check_eq(sum(1 for rec in recs.values() if rec["deleted"]), 45, "tombstones")


@case
def push_too_many_ops():
    """a push of max_ops_per_push + 1 ops -> 413 too_large, nothing applied"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    ops = [s.upsert("clients", rid(), 0, client_fields(f"many{i}")) for i in range(1001)]
    s.push(ops).expect(413, "too_large", "1001 ops")
    recs, _ = s.pull_all()
    check_eq(len(recs), 0, "records after the refused push")


# ---------------------------------------------------------------------------
# Pull

@case
def pull_paging():
    """pull pages: after/limit, next, more, remaining, version order, each record once at its newest revision, tombstones"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    ops = [s.upsert("clients", rid(), 0, client_fields(f"page{i}")) for i in range(25)]
    results = s.push_ok(ops)
    after, seen = 0, []
    for expect_n, expect_remaining, expect_more in ((10, 15, True), (10, 5, True), (5, 0, False)):
        body = s.pull(after, 10).expect(200, what=f"pull after={after}")
        recs = body["records"]
        check_eq(len(recs), expect_n, f"page after={after}: records")
        versions = [r["version"] for r in recs]
        check(versions == sorted(versions) and all(v > after for v in versions),
              f"versions not in order after {after}: {versions}")
        check_eq(body.get("next"), versions[-1], "next")
        check_eq(body.get("more"), expect_more, "more")
        check_eq(body.get("remaining"), expect_remaining, "remaining")
        seen += recs
        after = body["next"]
    check_eq(sorted(r["id"] for r in seen), sorted(op["id"] for op in ops), "the records paged")
    body = s.pull(after, 10).expect(200, what="pull at the end")
    check(body["records"] == [] and body.get("more") is False and body.get("remaining") == 0,
          f"pull at the end: {body!r}")
    # An edit and a delete: each record once, at its newest revision.
    up = s.push_ok([s.upsert("clients", ops[2]["id"], results[2]["version"], {"status": "closed"}),
                    s.delete("clients", ops[4]["id"], results[4]["version"])])
    for res in up:
        result_ok(res, "applied", "edit/delete")
    body = s.pull(after).expect(200, what="pull of the changes")
    recs = body["records"]
    check_eq([r["id"] for r in recs], [ops[2]["id"], ops[4]["id"]], "changed records in version order")
    check_eq(recs[0]["fields"].get("status"), "closed", "edited record")
    tomb = recs[1]
    check(tomb["deleted"] is True and not tomb.get("fields"), f"tombstone: {tomb!r}")
    check(MARK not in json.dumps(tomb), f"the tombstone carries data: {tomb!r}")
    body = s.pull(0, 100).expect(200, what="pull of everything")
    ids = [r["id"] for r in body["records"]]
    check_eq(len(ids), 25, "records in a full pull")
    check_eq(len(set(ids)), 25, "distinct records in a full pull")
    check_eq(body["next"], up[1]["version"], "next of the full pull")


@case
def pull_bad_parameters():
    """pull with after or limit not a non-negative integer -> 400 invalid naming it"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    for q, field in (("after=-1", "after"), ("after=abc", "after"), ("after=1.5", "after"),
                     ("after=0&limit=-5", "limit"), ("after=0&limit=ten", "limit"),
                     ("after=99999999999999999999999", "after")):
        r = s.get(f"/v1/sync/pull?{q}")
        r.expect(400, "invalid", q)
        check_eq(r.field, field, f"{q}: field")


# ---------------------------------------------------------------------------
# Support users

def support_setup(srv):
    slug, _ = practice(srv)
    c = srv.login(user(srv, slug))
    t = stamp()
    cid = rid()
    c.push_ok([
        c.upsert("clients", cid, 0, client_fields(
            "support", date_of_birth=f"{MARK}DOB", email=f"{MARK}EMAIL@example.org",
            phone=f"{MARK}PHONE", address=f"{MARK}ADDRESS", gp_details=f"{MARK}GP",
            emergency_contact=f"{MARK}EMERGENCY")),
        c.upsert("notes", rid(), 0, note_fields(cid, f"{MARK}NOTE-support\n")),
        c.upsert("risk_flags", rid(), 0, {"created_at": t, "updated_at": t, "client_id": cid,
                                          "level": "high", "text": f"{MARK}RISK-support",
                                          "raised_at": t}),
    ])
    return slug, srv.login(user(srv, slug, "support")), cid


@case
def support_pull_redacted():
    """a support user's pull: redacted true, records without their sensitive fields"""
    srv = main_server()
    _, sup, cid = support_setup(srv)
    r = sup.pull()
    body = r.expect(200, what="support pull")
    recs = body["records"]
    # docs/api.md: "records without their sensitive fields and "redacted":
    # true" -- on the page or on each record; either reading is accepted.
    check(body.get("redacted") is True or (recs and all(x.get("redacted") is True for x in recs)),
          f"no redacted: true on the page or on every record: {r.describe()}")
    no_marker(r, "support pull")
    check_eq(sorted(x["table"] for x in recs), ["clients", "notes", "risk_flags"], "tables")
    for rec in recs:
        leaked = set(rec.get("fields", {})) & SENSITIVE[rec["table"]]
        check(not leaked, f"{rec['table']}: sensitive fields given to support: {sorted(leaked)}")
    client = next(x for x in recs if x["table"] == "clients")
    check_eq(client["fields"].get("status"), "active", "a non-sensitive field")


@case
def support_push_forbidden():
    """a support user's push -> 403 forbidden, nothing applied"""
    srv = main_server()
    slug, sup, cid = support_setup(srv)
    r = sup.push([sup.upsert("clients", rid(), 0, client_fields("support-push"))])
    r.expect(403, "forbidden", "support push")
    c = srv.login(user(srv, slug))
    recs, _ = c.pull_all()
    check_eq(len(recs), 3, "records after the refused push")


# ---------------------------------------------------------------------------
# Audit head

@case
def audit_head():
    """audit head: GET before any -> 404; POST then GET; a lower seq -> 409 audit_regressed; per device"""
    srv = main_server()
    slug, _ = practice(srv)
    u = user(srv, slug)
    s, other = srv.login(u), srv.login(u)
    s.get("/v1/audit/head").expect(404, "not_found", "GET before any anchor")
    r = s.post("/v1/audit/head", {"seq": 10, "mac": HEX64})
    body = r.expect(200, what="POST seq 10")
    check(body.get("seq") == 10 and body.get("mac") == HEX64 and isinstance(body.get("anchored_at"), int)
          and abs(body["anchored_at"] - time.time()) < 300, f"POST answer {body!r}")
    got = s.get("/v1/audit/head").expect(200, what="GET after POST")
    check_eq(got, body, "GET answer")
    s.post("/v1/audit/head", {"seq": 5, "mac": HEX64}).expect(409, "audit_regressed", "POST seq 5 after 10")
    check_eq(s.get("/v1/audit/head").expect(200)["seq"], 10, "seq after the refused regression")
    mac2 = HEX64[::-1]
    body = s.post("/v1/audit/head", {"seq": 12, "mac": mac2}).expect(200, what="POST seq 12")
    check_eq(body.get("seq"), 12, "seq")
    other.get("/v1/audit/head").expect(404, "not_found", "another device's head")
    for bad, field in (({"seq": 13, "mac": "xyz"}, "mac"), ({"seq": 13, "mac": HEX64[:-2]}, "mac"),
                       ({"seq": -1, "mac": HEX64}, "seq"), ({"seq": "13", "mac": HEX64}, "seq"),
                       ({"mac": HEX64}, "seq")):
        r = s.post("/v1/audit/head", bad)
        r.expect(400, "invalid", f"audit head {bad!r}")
        check_eq(r.field, field, f"{bad!r}: field")


# ---------------------------------------------------------------------------
# Bad input

@case
def bad_json():
    """malformed, truncated, empty and non-UTF-8 bodies -> 400 bad_json (push, login, refresh)"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    good = json.dumps({"ops": [s.upsert("clients", rid(), 0, client_fields("badjson"))]})
    for what, body in (("malformed", '{"ops": [}'), ("truncated", good[:len(good) // 2]),
                       ("trailing garbage", good + "}"), ("empty", b""),
                       ("not UTF-8", b'{"ops": [], "x": "\xff\xfe"}')):
        r = srv.curl("POST", "/v1/sync/push", body, token=s.access)
        r.expect(400, "bad_json", f"push: {what}")
    srv.curl("POST", "/v1/auth/login", '{"practice": "x", "username": ').expect(
        400, "bad_json", "login: truncated")
    srv.curl("POST", "/v1/auth/refresh", '{"refresh_token": mtsr_x}').expect(
        400, "bad_json", "refresh: malformed")
    recs, _ = s.pull_all()
    check_eq(len(recs), 0, "records after the refused pushes")


@case
def wrong_types():
    """wrong types and values -> 400 invalid with field naming the path (e.g. ops[0].base_version); nothing applied"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))

    def ops():
        cid = rid()
        return [s.upsert("clients", cid, 0, client_fields("types"), seq=1000),
                s.upsert("notes", rid(), 0, note_fields(cid, f"{MARK}NOTE-types\n"), seq=1001)]

    cases = []

    def mutate(field, fn):
        o = ops()
        body = {"ops": o}
        fn(body, o)
        cases.append((field, body))

    mutate("ops[0].base_version", lambda b, o: o[0].__setitem__("base_version", "zero"))
    mutate("ops[0].base_version", lambda b, o: o[0].__setitem__("base_version", -1))
    mutate("ops[0].seq", lambda b, o: o[0].__setitem__("seq", "1000"))
    mutate("ops[0].seq", lambda b, o: o[0].__setitem__("seq", 0))
    mutate("ops[0].id", lambda b, o: o[0].__setitem__("id", 12))
    mutate("ops[0].table", lambda b, o: o[0].__setitem__("table", "patients"))
    mutate("ops[0].op", lambda b, o: o[0].__setitem__("op", "merge"))
    mutate("ops[0].fields", lambda b, o: o[0].__setitem__("fields", ["status"]))
    mutate("ops[1].fields.status", lambda b, o: o[1]["fields"].__setitem__("status", 5))
    mutate("ops[1].fields.status", lambda b, o: o[1]["fields"].__setitem__("status", "final"))
    mutate("ops[1].fields.ai_assisted", lambda b, o: o[1]["fields"].__setitem__("ai_assisted", "yes"))
    mutate("ops[1].fields.ai_assisted", lambda b, o: o[1]["fields"].__setitem__("ai_assisted", 2))
    mutate("ops[1].fields.body", lambda b, o: o[1]["fields"].__setitem__("body", ["a"]))
    mutate("ops[0].fields.display_name", lambda b, o: o[0]["fields"].__setitem__("display_name", 7))
    mutate("ops", lambda b, o: b.__setitem__("ops", "all of them"))
    mutate("ops[1]", lambda b, o: b["ops"].__setitem__(1, 42))
    mutate("confirm_mass_delete", lambda b, o: b.__setitem__("confirm_mass_delete", "yes"))
    for field, body in cases:
        r = s.post("/v1/sync/push", body)
        r.expect(400, "invalid", f"{field} wrong")
        check_eq(r.field, field, f"field of the error for {field}")
        check(field in r.json["error"]["message"], f"message does not name {field}: {r.text}")
        no_marker(r, "the error")
    r = srv.curl("POST", "/v1/auth/login", {"practice": "p", "username": 5, "password": "x",
                                            "totp": "123456", "device_id": new_device_id()})
    r.expect(400, "invalid", "login username 5")
    check_eq(r.field, "username", "login error field")
    recs, _ = s.pull_all()
    check_eq(len(recs), 0, "records after the refused pushes")


@case
def unknown_fields():
    """an unknown field anywhere -> 400 invalid naming it (a typo is never ignored)"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    cid = rid()

    def push(field, body):
        r = s.post("/v1/sync/push", body)
        r.expect(400, "invalid", f"unknown {field}")
        check_eq(r.field, field, "field of the error")

    op = s.upsert("clients", cid, 0, client_fields("unknown"), seq=2000)
    push("bogus", {"ops": [op], "bogus": 1})
    push("ops[0].colour", {"ops": [dict(op, colour="red")]})
    for name in ("nickname", "version", "deleted", "id", "email_bidx"):
        push(f"ops[0].fields.{name}", {"ops": [dict(op, fields=dict(op["fields"], **{name: "x"}))]})
    t = stamp()
    doc = s.upsert("documents", rid(), 0, {"created_at": t, "updated_at": t, "client_id": cid,
                                           "file_name": f"{MARK}FILE.pdf", "size_bytes": 1,
                                           "file_key": "x"}, seq=2001)
    push("ops[0].fields.file_key", {"ops": [doc]})
    body = srv.login_body(user(srv, slug), code="123456")
    body["remember_me"] = True
    r = srv.curl("POST", "/v1/auth/login", body)
    r.expect(400, "invalid", "login with remember_me")
    check_eq(r.field, "remember_me", "login error field")
    r = srv.curl("POST", "/v1/auth/refresh", {"refresh_token": s.refresh, "scope": "all"})
    r.expect(400, "invalid", "refresh with scope")
    check_eq(r.field, "scope", "refresh error field")
    r = s.post("/v1/audit/head", {"seq": 1, "mac": HEX64, "device_id": s.device_id})
    r.expect(400, "invalid", "audit head with device_id")
    check_eq(r.field, "device_id", "audit head error field")
    recs, _ = s.pull_all()
    check_eq(len(recs), 0, "records after the refused pushes")


@case
def body_too_large():
    """a body over max_body_bytes (64 KiB here; 1 MiB sent) -> 413 too_large, for push and login; the server stays up"""
    srv = own_server("small", {"server": {"max_body_bytes": 65536}})
    try:
        slug, _ = practice(srv)
        s = srv.login(user(srv, slug))
        cid = rid()
        small = s.push_ok([s.upsert("notes", rid(), 0, note_fields(cid, "x" * 60000))])[0]
        result_ok(small, "applied", "a 60 KB push under the limit")
        big = {"ops": [s.upsert("notes", rid(), 0, note_fields(cid, "y" * (1024 * 1024)))]}
        s.post("/v1/sync/push", big).expect(413, "too_large", "1 MiB push")
        r = srv.curl("POST", "/v1/auth/login", {"practice": slug, "username": "x",
                                                "password": "p" * (1024 * 1024), "totp": "123456",
                                                "device_id": new_device_id()})
        r.expect(413, "too_large", "1 MiB login")
        srv.curl("GET", "/v1/health").expect(200, what="health afterwards")
        recs, _ = s.pull_all()
        check_eq(len(recs), 1, "records afterwards")
    finally:
        srv.stop_ok()


@case
def wrong_content_type():
    """a body that is not application/json -> 415 unsupported_media_type; a charset parameter is fine"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    body = {"ops": [s.upsert("clients", rid(), 0, client_fields("ctype"))]}
    for ct in ("text/plain", "application/x-www-form-urlencoded", "application/jsonp", None):
        r = s.post("/v1/sync/push", body, content_type=ct)
        r.expect(415, "unsupported_media_type", f"Content-Type {ct!r}")
    srv.curl("POST", "/v1/auth/refresh", {"refresh_token": s.refresh}, content_type="text/plain").expect(
        415, "unsupported_media_type", "refresh as text/plain")
    check_eq(len(s.pull_all()[0]), 0, "records after the refused pushes")
    res = s.post("/v1/sync/push", body, content_type="application/json; charset=utf-8").expect(
        200, what="application/json; charset=utf-8")
    result_ok(res["results"][0], "applied", "push with a charset")


@case
def unknown_endpoint_and_method():
    """an unknown endpoint -> 404 not_found; GET /v1/sync/push -> 405 method_not_allowed"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    s.get("/v1/nope").expect(404, "not_found", "GET /v1/nope")
    s.get("/v1/sync/push").expect(405, "method_not_allowed", "GET /v1/sync/push")
    s.post("/v1/sync/pull", {}).expect(405, "method_not_allowed", "POST /v1/sync/pull")
    srv.curl("GET", "/v1/auth/login").expect(405, "method_not_allowed", "GET /v1/auth/login")


# ---------------------------------------------------------------------------
# Robustness

@case
def slow_clients():
    """clients that stall mid-headers or mid-handshake do not hold up others; the server stays up"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    new_client(s, "slow")
    stalled = []
    try:
        for i in range(8):
            t = srv.tls_socket()
            t.sendall(b"POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nMTS-Proto")
            stalled.append(t)
        for i in range(4):  # TCP only: the TLS handshake never starts
            stalled.append(socket.create_connection(("127.0.0.1", srv.port), timeout=10))
        for i in range(3):
            time.sleep(1)
            srv.curl("GET", "/v1/health", timeout=10).expect(200, what=f"health during the stall ({i})")
            body = s.pull(timeout=10).expect(200, what=f"pull during the stall ({i})")
            check_eq(len(body["records"]), 1, "records")
    finally:
        for t in stalled:
            t.close()
    check(srv.running(), "the server died")
    srv.curl("GET", "/v1/health").expect(200, what="health afterwards")


@case
def graceful_shutdown():
    """SIGTERM while a 1000-op push is arriving: the push completes with 200, the server exits 0, the records are kept"""
    srv = own_server("shutdown", {})
    try:
        slug, _ = practice(srv)
        u = user(srv, slug)
        s = srv.login(u)
        ops = [s.upsert("clients", rid(), 0, client_fields(f"term{i}")) for i in range(1000)]
        body = {"ops": ops}
        size = len(json.dumps(body))
        # Upload at 100 KB/s, so that the push is certainly in flight (its
        # headers and part of its body received) when SIGTERM comes.
        got = {}
        t = threading.Thread(target=lambda: got.setdefault(
            "r", srv.curl("POST", "/v1/sync/push", body, token=s.access,
                          extra=["--limit-rate", "100K"], timeout=120)))
        t.start()
        time.sleep(1.0)
        check(t.is_alive() and size > 150 * 1024, f"the push ({size} bytes) ended within 1 s")
        srv.signal(signal.SIGTERM)
        t.join(180)
        check(not t.is_alive(), "curl did not finish")
        r = got["r"]
        results = r.expect(200, what=f"push across SIGTERM (server stderr:\n{srv.log_text(8)}\n)")["results"]
        check_eq(len(results), 1000, "results")
        check(all(x.get("status") == "applied" for x in results), "not every op applied")
        status = srv.wait(60)
        check(status is not None, "the server did not exit within 60 s of SIGTERM")
        check(status == 0, f"exit status {status}; server stderr:\n{srv.log_text(40)}")
        srv.start()
        recs, _ = srv.login(u).pull_all(limit=5000)
        check_eq(len(recs), 1000, "records after the restart")
    finally:
        if srv.running():
            srv.kill()


@case
def shutdown_with_stalled_client():
    """SIGTERM with only a stalled connection open (half a request): the server still exits 0"""
    srv = own_server("shutdown2", {})
    try:
        stalled = srv.tls_socket()
        stalled.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        srv.signal(signal.SIGTERM)
        status = srv.wait(60)
        check(status is not None, "the server did not exit within 60 s of SIGTERM")
        check(status == 0, f"exit status {status}; server stderr:\n{srv.log_text(40)}")
        stalled.close()
    finally:
        if srv.running():
            srv.kill()


# ---------------------------------------------------------------------------
# What the shared server leaves behind

@case
def protocol_header_on_every_response():
    """every response the shared server gave (errors included) carried MTS-Protocol: 1"""
    srv = main_server()
    check(srv.answered > 100, f"only {srv.answered} responses so far")
    check(not srv.protocol_misses, "responses without MTS-Protocol: 1:\n" + "\n".join(srv.protocol_misses[:30]))


def scan_files(folder, needles):
    """(path, needle) for every needle found in a file under @folder."""
    found = []
    for root, _, files in os.walk(folder):
        for name in files:
            if name.endswith(".conf"):
                continue
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                data = f.read()
            for n in needles:
                if n.encode() in data:
                    found.append((os.path.relpath(path, folder), n))
    return found


def secrets_of(srv):
    needles = [MARK]
    for u in srv.users:
        needles += [u.password, u.secret]
    needles += sorted(srv.tokens)
    return needles


@case
def nothing_in_plaintext_at_rest():
    """the database (and -wal) hold no sensitive plaintext, password, TOTP secret or token; nor does the log; SIGTERM exits 0"""
    srv = main_server()
    slug, _ = practice(srv)
    s = srv.login(user(srv, slug))
    t = stamp()
    cid, sid = rid(), rid()
    s.push_ok([
        s.upsert("clinicians", rid(), 0, {"created_at": t, "updated_at": t, "role": "clinician", "active": 1,
                                          "display_name": f"{MARK}CLIN-rest",
                                          "email": f"{MARK}CLIN-EMAIL@example.org"}),
        s.upsert("clients", cid, 0, client_fields(
            "rest", date_of_birth=f"{MARK}DOB-rest", email=f"{MARK}EMAIL-rest@example.org",
            phone=f"{MARK}PHONE-rest", address=f"{MARK}ADDRESS-rest", gp_details=f"{MARK}GP-rest",
            emergency_contact=f"{MARK}EMERGENCY-rest")),
        s.upsert("sessions", sid, 0, {"created_at": t, "updated_at": t, "client_id": cid,
                                      "starts_at": "2026-11-27T10:00:00.000Z",
                                      "ends_at": "2026-11-27T10:50:00.000Z", "modality": "video",
                                      "status": "scheduled", "location": f"{MARK}LOCATION-rest"}),
        s.upsert("notes", rid(), 0, note_fields(cid, f"{MARK}NOTE-rest\n", session_id=sid)),
        s.upsert("documents", rid(), 0, {"created_at": t, "updated_at": t, "client_id": cid,
                                         "file_name": f"{MARK}FILE-rest.pdf", "mime_type": "application/pdf",
                                         "size_bytes": 1234}),
        s.upsert("agreements", rid(), 0, {"created_at": t, "updated_at": t, "client_id": cid,
                                          "title": "Therapy agreement", "body": f"{MARK}AGREEMENT-rest",
                                          "status": "generated", "generated_at": t}),
        s.upsert("risk_flags", rid(), 0, {"created_at": t, "updated_at": t, "client_id": cid,
                                          "level": "medium", "text": f"{MARK}RISK-rest", "raised_at": t}),
    ])
    recs, _ = s.pull_all()
    check(len(recs) == 7 and any(MARK in json.dumps(r) for r in recs.values()),
          "the records did not round-trip")
    check(os.path.exists(srv.db_path), f"no database at {srv.db_path}")
    # Control: the scan sees what is meant to be stored in the clear (the
    # agreement's title, a record id, the practice's slug).
    controls = ["Therapy agreement", cid, slug]
    seen = {n for _, n in scan_files(srv.dir, controls)}
    check(seen == set(controls), f"the scan cannot see plain values: found only {sorted(seen)}")
    needles = secrets_of(srv)
    problems = [f"{p}: {n[:12]}..." for p, n in scan_files(srv.dir, needles)]
    log = srv.all_log()
    problems += [f"server log: {n[:12]}..." for n in needles if n in log]
    check(not problems, "found in plaintext while running:\n" + "\n".join(problems))
    srv.stop_ok()
    problems = [f"{p}: {n[:12]}..." for p, n in scan_files(srv.dir, needles)]
    check(not problems, "found in plaintext after shutdown:\n" + "\n".join(problems))


def audit_table(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for t in tables:
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')]
            if "audit" in t and "event" in cols and "seq" in cols:
                return t, [r[0] for r in con.execute(f'SELECT event FROM "{t}" ORDER BY seq')]
        raise Failed(f"no audit table with seq and event columns among {tables}")
    finally:
        con.close()


@case
def audit_log_verifies():
    """audit-verify passes; the log has logins and failed logins; an edited entry makes audit-verify fail"""
    srv = _main or main_server()
    if srv.running():
        srv.stop_ok()
    rc, out, err = srv.admin("audit-verify")
    check(rc == 0, f"audit-verify: exit {rc}\n{out}{err}")
    table, events = audit_table(srv.db_path)
    kinds = sorted(set(events))
    for what, pred in (("a login", lambda e: e == "login"),
                       ("a failed login", lambda e: "login" in e and "fail" in e),
                       ("a refused audit-head regression", lambda e: "regress" in e),
                       ("a replayed refresh token", lambda e: "reuse" in e or "replay" in e),
                       ("a device revocation", lambda e: "revoke" in e)):
        check(any(pred(e) for e in events), f"no entry for {what} among {kinds}")
    # Tamper with a copy: change one entry in the middle.
    copy_dir = os.path.join(scratch.path, "tampered")
    shutil.copytree(srv.dir, copy_dir)
    db = os.path.join(copy_dir, os.path.basename(srv.db_path))
    con = sqlite3.connect(db)
    try:
        n = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        target = n // 2
        for trig, in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                                 (table,)).fetchall():
            con.execute(f'DROP TRIGGER "{trig}"')
        cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
        col = "detail_json" if "detail_json" in cols else "event"
        con.execute(f'UPDATE "{table}" SET "{col}" = ? WHERE seq = ?',
                    ('{"tampered":1}' if col == "detail_json" else "tampered", target))
        con.commit()
    finally:
        con.close()
    rc, out, err = srv.admin("audit-verify", config=os.path.join(copy_dir, os.path.basename(srv.config)))
    check(rc != 0, f"audit-verify passed an edited log: {out}{err}")
    check(str(target) in out + err, f"audit-verify does not name entry {target}: {out}{err}")
    rc, out, err = srv.admin("audit-verify")
    check(rc == 0, f"audit-verify of the original after the copy: exit {rc}\n{out}{err}")


def finish(failed):
    for srv in _servers:
        if srv.running():
            srv.kill()
    if failed == 0:
        scratch.remove()
    else:
        print(f"# scratch directory kept: {scratch.path}")


if __name__ == "__main__":
    sys.exit(tap.run(finish))
