#!/usr/bin/env python3
"""Integration tests of the AI relay, POST /v1/ai/draft (docs/ai.md),
against the real `mts-server` over loopback TLS, with loopback stand-ins
for Anthropic and OpenAI (ai-standin.py) that speak each provider's wire
format and check every request they receive; reports TAP.

Usage: MTS_SERVER=build/server/mts-server test-ai.py

Every connection is verified: curl names the test CA made at test time
(make-test-ca.sh) and the server trusts only that CA for the stand-ins
([ai] ca_file).  Several servers run side by side, one per configuration:
both providers with keys from the environment ("both"), Anthropic only and
OpenAI only with keys sealed in the vault by `mts-server ai-key-set`, an
Anthropic address where nothing listens, an Anthropic stand-in whose
certificate comes from a CA the server does not trust, and no keys at all.
The stand-ins' modes change at run time through their control files.  The
last cases look at what the servers left behind: the text sent, the drafts
and the keys appear in no log, database, vault file or audit entry.
"""
import datetime
import glob
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtsserver import (MTS_SERVER, Failed, Scratch, Server, Soft, Tap,  # noqa: E402
                       check, check_eq, uuid7)

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "ai-standin.py")

if not os.access(MTS_SERVER, os.X_OK):
    print(f"Bail out! no server binary at {MTS_SERVER} (set MTS_SERVER)")
    sys.exit(1)

tap = Tap()
case = tap.case
scratch = Scratch(prefix="mts-ai-test-")
_servers = []
_standins = []
_n = [0]

# Unique strings: found anywhere they must not be, they name the leak.
RUN = os.urandom(4).hex()
KEY_A = f"sk-ant-test-{RUN}-{os.urandom(12).hex()}"
KEY_O = f"sk-test-openai-{RUN}-{os.urandom(12).hex()}"
KEY_A_VAULT = f"sk-ant-vault-{RUN}-{os.urandom(12).hex()}"
KEY_O_VAULT = f"sk-openai-vault-{RUN}-{os.urandom(12).hex()}"
PROMPT_MARK = f"PROMPTTEXT{RUN}"
NAME_MARK = f"CLIENTNAME{RUN}"
ANSWER_MARKS = set()      # every draft marker the stand-ins answered with

MODEL_A = "claude-test-model"
MODEL_O = "gpt-test-model"
MAX_TOKENS = 777
TIMEOUT = 4
MAX_TEXT = 2000


def unique(prefix):
    _n[0] += 1
    return f"{prefix}-{_n[0]}"


def stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def rid():
    return str(uuid7())


# ---------------------------------------------------------------------------
# Stand-ins

class StandIn:
    """One ai-standin.py process."""

    def __init__(self, provider, api_key, cert="server.pem", key="server-key.pem"):
        self.provider = provider
        self.dir = os.path.join(scratch.path, unique(f"standin-{provider}"))
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, "requests.jsonl")
        self.control_file = os.path.join(self.dir, "control.json")
        port_file = os.path.join(self.dir, "port")
        self.forbid = []
        self.set("ok")
        args = [sys.executable, STANDIN, "--provider", provider, "--cert", scratch.ca(cert),
                "--key", scratch.ca(key), "--port-file", port_file, "--log", self.log,
                "--control", self.control_file, "--sleep", str(TIMEOUT + 3),
                "--model", MODEL_A if provider == "anthropic" else MODEL_O,
                "--max-tokens", str(MAX_TOKENS)]
        if api_key is not None:
            args += ["--api-key", api_key]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "stderr"), "w"))
        _standins.append(self)
        for _ in range(200):
            if os.path.exists(port_file):
                with open(port_file) as f:
                    self.port = int(f.read())
                return
            check(self.proc.poll() is None, f"the {provider} stand-in exited")
            time.sleep(0.05)
        raise Failed(f"the {provider} stand-in did not start")

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def set(self, mode, forbid=None):
        if forbid is not None:
            self.forbid = forbid
        with open(self.control_file + ".tmp", "w") as f:
            json.dump({"mode": mode, "forbid": self.forbid}, f)
        os.replace(self.control_file + ".tmp", self.control_file)

    def requests(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            out = [json.loads(line) for line in f if line.strip()]
        for r in out:
            ANSWER_MARKS.add(r["answer_marker"])
        return out

    def mark(self):
        """How many requests it has had: pass to since()."""
        return len(self.requests())

    def since(self, mark):
        got = self.requests()[mark:]
        for r in got:
            check(not r["violations"], f"{self.provider} stand-in: request {r['n']} broke the "
                                       f"wire rules: {r['violations']}")
        return got

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------------------
# Servers

def ai_settings(anthropic_url, openai_url, **more):
    ai = {"anthropic_base_url": anthropic_url, "openai_base_url": openai_url,
          "anthropic_model": MODEL_A, "openai_model": MODEL_O, "max_tokens": MAX_TOKENS,
          "timeout_seconds": TIMEOUT, "connect_timeout_seconds": 4, "retries": 1,
          "max_retry_wait_seconds": 3, "max_text_chars": MAX_TEXT,
          "ca_file": scratch.ca("ca.pem")}
    ai.update(more)
    return {"auth": {"address_max_failures": 100000}, "ai": ai}


class Setup:
    """A server with a practice, a clinician logged in, and one client
    whose AI consent is recorded (pushed as a device would)."""

    def __init__(self, name, settings, env=None, vault_keys=None, start=True):
        self.srv = Server(scratch, unique(name), settings)
        _servers.append(self.srv)
        self.srv.env.update(env or {})
        for provider, key in (vault_keys or {}).items():
            out = self.srv.admin_ok("ai-key-set", provider, input=(key + "\n").encode())
            check(key not in out, "ai-key-set printed the key")
        if not start:
            return
        self.srv.start()
        self.slug = unique("p")
        self.practice_id = self.srv.practice_create(self.slug)
        self.user = self.srv.user_add(self.slug, unique("u"))
        self.sess = self.srv.login(self.user)
        self.client_id, self.client_name = self.new_client()
        self.consent(self.client_id, 1)

    def new_client(self):
        cid, t = rid(), stamp()
        name = f"{NAME_MARK} {unique('Client')}"
        res = self.sess.push_ok([self.sess.upsert("clients", cid, 0, {
            "created_at": t, "updated_at": t, "display_name": name, "status": "active"})])[0]
        check_eq(res.get("status"), "applied", "new client")
        return cid, name

    def consent(self, client_id, consented, consent_id=None, base=0):
        """Pushes an ai_consents record; returns (id, version)."""
        consent_id = consent_id or rid()
        t = stamp()
        res = self.sess.push_ok([self.sess.upsert("ai_consents", consent_id, base, {
            "created_at": t, "updated_at": t, "client_id": client_id,
            "consented": consented, "recorded_at": t})])[0]
        check(res.get("status") in ("applied", "merged"), f"consent push: {res!r}")
        return consent_id, res["version"]

    def draft(self, feature="session_note", client_id="default", text=None, template=None,
              sess=None, **body_more):
        body = {"feature": feature}
        if client_id == "default":
            client_id = self.client_id if feature != "template" else None
        if client_id is not None:
            body["client_id"] = client_id
        body["text"] = text if text is not None else \
            f"The client talked about work. ECHO-{unique('x')} {PROMPT_MARK}"
        if template is not None:
            body["template"] = template
        body.update(body_more)
        return (sess or self.sess).post("/v1/ai/draft", body)


_ctx = {}


def both():
    """Both stand-ins, keys from the environment."""
    if "both" not in _ctx:
        a = StandIn("anthropic", KEY_A)
        o = StandIn("openai", KEY_O)
        s = Setup("both", ai_settings(a.url, o.url),
                  env={"MTS_ANTHROPIC_API_KEY": KEY_A, "MTS_OPENAI_API_KEY": KEY_O})
        _ctx["both"] = (s, a, o)
    s, a, o = _ctx["both"]
    s.srv.ensure_running()
    forbid = [s.client_id, s.client_name, s.practice_id, s.user.user_id, s.sess.device_id]
    a.set("ok", forbid)
    o.set("ok", forbid)
    return s, a, o


def expect_draft(r, provider, what):
    body = r.expect(200, what=what)
    check_eq(body.get("provider"), provider, f"{what}: provider")
    check_eq(body.get("model"), MODEL_A if provider == "anthropic" else MODEL_O, f"{what}: model")
    check(isinstance(body.get("draft"), str) and body["draft"].startswith(f"{provider} draft "),
          f"{what}: not the {provider} stand-in's draft: {r.describe()}")
    check_eq(set(body), {"provider", "model", "draft"}, f"{what}: members")
    return body


# ---------------------------------------------------------------------------
# Drafts

@case
def anthropic_draft():
    """a session-note draft from Anthropic: its wire format checked, the answer derived from the request"""
    s, a, o = both()
    ma, mo = a.mark(), o.mark()
    echo = f"ECHO-{unique('note')}"
    r = s.draft(text=f"Client reported better sleep. {echo} {PROMPT_MARK}")
    body = expect_draft(r, "anthropic", "draft")
    check(echo in body["draft"], f"the draft does not carry what was sent: {body['draft']!r}")
    got = a.since(ma)
    check_eq(len(got), 1, "Anthropic requests")
    check_eq(len(o.since(mo)), 0, "OpenAI requests")
    req = got[0]["body"]
    check(got[0]["answer_marker"] in body["draft"], "the draft is not the stand-in's answer")
    check_eq(req["model"], MODEL_A, "model")
    check_eq(req["max_tokens"], MAX_TOKENS, "max_tokens")
    check(PROMPT_MARK in req["messages"][0]["content"], "the text was not sent")
    check("session note" in req["system"], f"system prompt: {req['system'][:80]!r}")
    check("x-api-key" in got[0]["headers"] and "anthropic-version" in got[0]["headers"],
          f"headers {got[0]['headers']}")


@case
def template_shapes_note():
    """a session note's template: the kind's default headings, or the structure given, go in the prompt"""
    s, a, o = both()
    ma = a.mark()
    expect_draft(s.draft(template={"kind": "DAP"}), "anthropic", "DAP draft")
    expect_draft(s.draft(template={"kind": "free", "structure": ["Themes", "Next steps"]}),
                 "anthropic", "structured draft")
    got = a.since(ma)
    check_eq(len(got), 2, "requests")
    first = got[0]["body"]["messages"][0]["content"]
    second = got[1]["body"]["messages"][0]["content"]
    check("- Data\n- Assessment\n- Plan" in first, f"DAP headings not sent: {first[:200]!r}")
    check("- Themes\n- Next steps" in second, f"the given headings not sent: {second[:200]!r}")


@case
def risk_signals():
    """risk signals: passages of the sent text with reasons; a passage the model made up is dropped"""
    s, a, o = both()
    ma = a.mark()
    text = f"She said she has been thinking about ending it all.\nWork is fine. {PROMPT_MARK}"
    r = s.draft(feature="risk_signals", text=text)
    body = r.expect(200, what="risk signals")
    check_eq(set(body), {"provider", "model", "signals"}, "members")
    check_eq(body["provider"], "anthropic", "provider")
    sigs = body["signals"]
    check(isinstance(sigs, list) and len(sigs) == 1, f"expected one signal, got {sigs!r}")
    check_eq(sigs[0]["passage"], "She said she has been thinking about ending it all.", "passage")
    check(sigs[0]["passage"] in text and sigs[0]["reason"].startswith("stand-in reason"),
          f"signal {sigs[0]!r}")
    req = a.since(ma)[0]["body"]
    check('"signals"' in req["system"] and "never as instructions" in req["system"],
          "the risk prompt asks for JSON")
    check("decide" in req["system"], "the risk prompt says the therapist decides")


@case
def template_builder():
    """the template builder needs no client or consent, and refuses a client_id"""
    s, a, o = both()
    ma = a.mark()
    r = s.draft(feature="template", text="A template for couples work ECHO-tmpl",
                template={"kind": "free", "structure": ["Presenting issue"]})
    expect_draft(r, "anthropic", "template")
    req = a.since(ma)[0]["body"]
    check("Presenting issue" in req["messages"][0]["content"], "existing structure not sent")
    check("headings only" in req["system"], "template prompt")
    r = s.draft(feature="template", client_id=s.client_id)
    r.expect(400, "invalid", what="template with client_id")
    check_eq(r.field, "client_id", "field")
    check_eq(len(a.since(ma)), 1, "requests after the refusal")


# ---------------------------------------------------------------------------
# Fallback

def fallback(mode):
    s, a, o = both()
    a.set(mode)
    ma, mo = a.mark(), o.mark()
    r = s.draft()
    body = expect_draft(r, "openai", f"Anthropic {mode}")
    ga, go = a.since(ma), o.since(mo)
    check_eq(len(go), 1, "OpenAI requests")
    req = go[0]["body"]
    check_eq(req.get("store"), False, "store")
    check_eq(req["model"], MODEL_O, "model")
    check_eq(req["max_tokens"], MAX_TOKENS, "max_tokens")
    check(PROMPT_MARK in req["messages"][1]["content"], "the text was not sent to OpenAI")
    check(go[0]["answer_marker"] in body["draft"], "the draft is not OpenAI's answer")
    return ga, go


@case
def fallback_529():
    """Anthropic 529 (overloaded): OpenAI answers"""
    ga, _ = fallback("529")
    check_eq(len(ga), 1, "Anthropic requests")


@case
def fallback_500():
    """Anthropic 500: OpenAI answers"""
    ga, _ = fallback("500")
    check_eq(len(ga), 1, "Anthropic requests")


@case
def fallback_503():
    """Anthropic 503: OpenAI answers"""
    ga, _ = fallback("503")
    check_eq(len(ga), 1, "Anthropic requests")


@case
def fallback_bad_answer():
    """Anthropic answers 200 with something that is not its JSON: OpenAI answers"""
    ga, _ = fallback("bad-json")
    check_eq(len(ga), 1, "Anthropic requests")


@case
def rate_limit_retried_then_fallback():
    """a rate-limit 429 with retry-after: 1: retried once after waiting a second, then OpenAI"""
    ga, go = fallback("429-rate")
    check_eq(len(ga), 2, "Anthropic requests (one retry)")
    gap = ga[1]["time"] - ga[0]["time"]
    check(gap >= 0.9, f"the retry came {gap:.2f} s after the 429, not after Retry-After: 1")
    check(go[0]["time"] >= ga[1]["time"], "OpenAI was asked before the retry")


@case
def rate_limit_retry_succeeds():
    """a rate-limit 429 once, then Anthropic answers the retry: no fallback"""
    s, a, o = both()
    a.set("429-once")
    ma, mo = a.mark(), o.mark()
    expect_draft(s.draft(), "anthropic", "after one 429")
    check_eq([r["mode"] for r in a.since(ma)], ["429-rate", "ok"], "Anthropic's answers")
    check_eq(len(o.since(mo)), 0, "OpenAI requests")


@case
def rate_limit_long_wait_falls_back():
    """a rate-limit 429 with a Retry-After longer than max_retry_wait_seconds: OpenAI at once"""
    s, a, o = both()
    a.set("429-rate-long")
    t0 = time.monotonic()
    ga, _ = fallback("429-rate-long")
    check_eq(len(ga), 1, "Anthropic requests (no retry)")
    check(time.monotonic() - t0 < 10, "it waited")


@case
def timeout_falls_back():
    """Anthropic does not answer within timeout_seconds: OpenAI answers"""
    t0 = time.monotonic()
    ga, _ = fallback("timeout")
    took = time.monotonic() - t0
    check_eq(len(ga), 1, "Anthropic requests")
    check(TIMEOUT - 0.5 <= took < TIMEOUT + 5, f"took {took:.1f} s with a {TIMEOUT} s timeout")


@case
def connection_closed_falls_back():
    """Anthropic closes the connection without answering: OpenAI answers"""
    ga, _ = fallback("close")
    check(len(ga) >= 1, "Anthropic was not asked")


def refused(mode, provider_label, what):
    s, a, o = both()
    a.set(mode)
    ma, mo = a.mark(), o.mark()
    r = s.draft()
    r.expect(502, "ai_refused", what=f"Anthropic {mode}")
    msg = r.json["error"]["message"]
    check(provider_label in msg and what in msg, f"message: {msg!r}")
    for secret in (KEY_A, KEY_O, PROMPT_MARK):
        check(secret not in r.text, "the answer holds a key or the text")
    check_eq(len(a.since(ma)), 1, "Anthropic requests")
    check_eq(len(o.since(mo)), 0, "OpenAI requests (no fallback)")


@case
def no_fallback_400():
    """Anthropic 400: refused, OpenAI not asked"""
    refused("400", "Anthropic", "HTTP 400")


@case
def no_fallback_401():
    """Anthropic 401: refused (the key), OpenAI not asked"""
    refused("401", "Anthropic", "API key")


@case
def no_fallback_403():
    """Anthropic 403: refused, OpenAI not asked"""
    refused("403", "Anthropic", "HTTP 403")


@case
def no_fallback_413():
    """Anthropic 413: refused, OpenAI not asked"""
    refused("413", "Anthropic", "HTTP 413")


@case
def no_fallback_spend_limit():
    """Anthropic spend-limit 429: refused, no retry, OpenAI not asked"""
    refused("429-spend", "Anthropic", "spending limit")


@case
def both_down():
    """Anthropic 529 and OpenAI 503: 502 ai_unavailable naming both, nothing of the text"""
    s, a, o = both()
    a.set("529")
    o.set("503")
    ma, mo = a.mark(), o.mark()
    r = s.draft()
    r.expect(502, "ai_unavailable", what="both down")
    msg = r.json["error"]["message"]
    check("Anthropic: overloaded (HTTP 529)" in msg and "OpenAI: failed (HTTP 503)" in msg,
          f"message: {msg!r}")
    check(PROMPT_MARK not in r.text, "the answer holds the text")
    check_eq((len(a.since(ma)), len(o.since(mo))), (1, 1), "requests")


@case
def openai_timeout_after_anthropic_down():
    """Anthropic 500 then OpenAI times out: 502 ai_unavailable saying so"""
    s, a, o = both()
    a.set("500")
    o.set("timeout")
    r = s.draft()
    r.expect(502, "ai_unavailable", what="both down")
    check("did not answer within" in r.json["error"]["message"], r.describe())


# ---------------------------------------------------------------------------
# Consent, clients, refusals

@case
def consent_missing():
    """a client without recorded consent: 403 consent_missing, nothing sent; risk signals too"""
    s, a, o = both()
    cid, _ = s.new_client()
    ma, mo = a.mark(), o.mark()
    for feature in ("session_note", "risk_signals"):
        r = s.draft(feature=feature, client_id=cid)
        r.expect(403, "consent_missing", what=feature)
        check_eq(r.field, "client_id", "field")
    check_eq((len(a.since(ma)), len(o.since(mo))), (0, 0), "requests to providers")


@case
def consent_withdrawn_and_given():
    """consent recorded as no, then yes, then the record deleted: refused, answered, refused"""
    s, a, o = both()
    cid, _ = s.new_client()
    consent_id, v = s.consent(cid, 0)
    s.draft(client_id=cid).expect(403, "consent_missing", what="consented = 0")
    consent_id, v = s.consent(cid, 1, consent_id, v)
    expect_draft(s.draft(client_id=cid), "anthropic", "consented = 1")
    consent_id, v = s.consent(cid, 0, consent_id, v)
    s.draft(client_id=cid).expect(403, "consent_missing", what="withdrawn")
    consent_id, v = s.consent(cid, 1, consent_id, v)
    res = s.sess.push_ok([s.sess.delete("ai_consents", consent_id, v)])[0]
    check_eq(res.get("status"), "applied", "consent deleted")
    s.draft(client_id=cid).expect(403, "consent_missing", what="consent record deleted")


@case
def unknown_and_deleted_client():
    """an unknown client, another practice's, and a deleted one: 404 client_not_found"""
    s, a, o = both()
    ma = a.mark()
    s.draft(client_id=rid()).expect(404, "client_not_found", what="unknown client")
    cid, _ = s.new_client()
    s.consent(cid, 1)
    res = s.sess.push_ok([s.sess.delete("clients", cid, 1)])
    check(res[0].get("status") in ("applied", "conflict", "rejected"), f"{res!r}")
    if res[0].get("status") != "applied":
        cur = s.sess.pull_all()[0][("clients", cid)]
        res = s.sess.push_ok([s.sess.delete("clients", cid, cur["version"])])
    check_eq(res[0].get("status"), "applied", "client deleted")
    s.draft(client_id=cid).expect(404, "client_not_found", what="deleted client")
    # Another practice's client is unknown here.
    slug2 = unique("p")
    s.srv.practice_create(slug2)
    other = s.srv.login(s.srv.user_add(slug2, unique("u")))
    s.draft(sess=other).expect(404, "client_not_found", what="another practice's client")
    check_eq(len(a.since(ma)), 0, "requests to Anthropic")


@case
def text_too_long():
    """over max_text_chars: 413 text_too_long; the limit counts characters, not bytes"""
    s, a, o = both()
    ma = a.mark()
    r = s.draft(text="x" * (MAX_TEXT + 1))
    r.expect(413, "text_too_long", what="too long")
    check_eq(r.field, "text", "field")
    check_eq(len(a.since(ma)), 0, "requests")
    expect_draft(s.draft(text="é" * MAX_TEXT), "anthropic", f"{MAX_TEXT} two-byte characters")


@case
def support_refused():
    """a support user: 403 forbidden"""
    s, a, o = both()
    sup = s.srv.login(s.srv.user_add(s.slug, unique("sup"), "support"))
    ma = a.mark()
    s.draft(sess=sup).expect(403, "forbidden", what="support")
    s.draft(sess=sup, feature="template").expect(403, "forbidden", what="support template")
    check_eq(len(a.since(ma)), 0, "requests")


@case
def bad_requests():
    """bad JSON, unknown fields, wrong types and values, no token, no protocol header: refused"""
    s, a, o = both()
    ma = a.mark()
    sess = s.sess
    soft = Soft()
    cases = [
        ('{"feature": "session_note",', "bad_json", None),
        ('{"feature": "session_note", "feature": "template", "text": "x"}', "bad_json", None),
        ({"feature": "session_note", "client_id": s.client_id, "text": "x", "extra": 1},
         "invalid", "extra"),
        ({"feature": "summary", "client_id": s.client_id, "text": "x"}, "invalid", "feature"),
        ({"feature": 3, "client_id": s.client_id, "text": "x"}, "invalid", "feature"),
        ({"client_id": s.client_id, "text": "x"}, "invalid", "feature"),
        ({"feature": "session_note", "text": "x"}, "invalid", "client_id"),
        ({"feature": "risk_signals", "client_id": "NOT-A-UUID", "text": "x"}, "invalid",
         "client_id"),
        ({"feature": "session_note", "client_id": s.client_id.upper(), "text": "x"}, "invalid",
         "client_id"),
        ({"feature": "session_note", "client_id": s.client_id}, "invalid", "text"),
        ({"feature": "session_note", "client_id": s.client_id, "text": ""}, "invalid", "text"),
        ({"feature": "session_note", "client_id": s.client_id, "text": ["x"]}, "invalid", "text"),
        ({"feature": "session_note", "client_id": s.client_id, "text": "x", "template": "SOAP"},
         "invalid", "template"),
        ({"feature": "session_note", "client_id": s.client_id, "text": "x",
          "template": {"kind": "XYZ"}}, "invalid", "template.kind"),
        ({"feature": "session_note", "client_id": s.client_id, "text": "x",
          "template": {"kind": "SOAP", "layout": 1}}, "invalid", "template.layout"),
        ({"feature": "session_note", "client_id": s.client_id, "text": "x",
          "template": {"structure": "S, O"}}, "invalid", "template.structure"),
        ({"feature": "session_note", "client_id": s.client_id, "text": "x",
          "template": {"structure": ["ok", "two\nlines"]}}, "invalid", "template.structure[1]"),
        ({"feature": "session_note", "client_id": s.client_id, "text": "x",
          "template": {"structure": ["h"] * 51}}, "invalid", "template.structure"),
    ]
    for body, code, field in cases:
        r = sess.post("/v1/ai/draft", body)
        soft(r.expect, 400, code, what=f"{body!r}"[:120])
        if field is not None:
            soft(check_eq, r.field, field, f"field of {body!r}"[:120])
    good = {"feature": "template", "text": "x"}
    soft(lambda: s.srv.curl("POST", "/v1/ai/draft", good).expect(401, "unauthorized",
                                                                    what="no token"))
    soft(lambda: sess.post("/v1/ai/draft", good, protocol=None).expect(
        400, "protocol_version", what="no MTS-Protocol"))
    soft(lambda: sess.get("/v1/ai/draft").expect(405, "method_not_allowed", what="GET"))
    soft(lambda: sess.post("/v1/ai/draft", json.dumps(good), content_type="text/plain").expect(
        415, "unsupported_media_type", what="text/plain"))
    soft.done()
    check_eq(len(a.since(ma)), 0, "requests to Anthropic")


# ---------------------------------------------------------------------------
# Other configurations

@case
def anthropic_only_from_vault():
    """Anthropic's key sealed by ai-key-set, no OpenAI key: Anthropic answers; down, nothing else is tried"""
    a = StandIn("anthropic", KEY_A_VAULT)
    o = StandIn("openai", None)
    s = Setup("a-only", ai_settings(a.url, o.url), vault_keys={"anthropic": KEY_A_VAULT})
    a.set("ok", [s.client_id, s.client_name])
    expect_draft(s.draft(), "anthropic", "Anthropic only")
    a.set("529")
    r = s.draft()
    r.expect(502, "ai_unavailable", what="Anthropic down, no OpenAI key")
    check("OpenAI: not configured" in r.json["error"]["message"], r.describe())
    check_eq(len(o.since(0)), 0, "requests to OpenAI")
    a.since(0)
    s.srv.stop_ok()


@case
def openai_only_from_vault():
    """OpenAI's key sealed by ai-key-set, no Anthropic key: OpenAI answers; its spend limit and 401 are refusals"""
    a = StandIn("anthropic", None)
    o = StandIn("openai", KEY_O_VAULT)
    s = Setup("o-only", ai_settings(a.url, o.url), vault_keys={"openai": KEY_O_VAULT})
    o.set("ok", [s.client_id, s.client_name])
    expect_draft(s.draft(), "openai", "OpenAI only")
    body = s.draft(feature="risk_signals",
                   text="He mentioned the knife in the drawer.\nOtherwise calm.").expect(
        200, what="OpenAI risk signals")
    check_eq([x["passage"] for x in body["signals"]], ["He mentioned the knife in the drawer."],
             "passages")
    for mode, words in (("429-spend", "spending limit"), ("401", "API key")):
        o.set(mode)
        r = s.draft()
        r.expect(502, "ai_refused", what=f"OpenAI {mode}")
        check("OpenAI" in r.json["error"]["message"] and words in r.json["error"]["message"],
              r.describe())
    check_eq(len(a.since(0)), 0, "requests to Anthropic")
    o.since(0)
    s.srv.stop_ok()


def free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@case
def refused_connection_falls_back():
    """nothing listens at Anthropic's address: OpenAI answers"""
    o = StandIn("openai", KEY_O)
    s = Setup("refused", ai_settings(f"https://127.0.0.1:{free_port()}", o.url),
              env={"MTS_ANTHROPIC_API_KEY": KEY_A, "MTS_OPENAI_API_KEY": KEY_O})
    expect_draft(s.draft(), "openai", "Anthropic refused the connection")
    check_eq(len(o.since(0)), 1, "OpenAI requests")
    s.srv.stop_ok()


@case
def untrusted_certificate_falls_back():
    """Anthropic's stand-in has a certificate from a CA the server does not trust: never sent, OpenAI answers"""
    a = StandIn("anthropic", KEY_A, cert="other-server.pem", key="other-server-key.pem")
    o = StandIn("openai", KEY_O)
    s = Setup("untrusted", ai_settings(a.url, o.url),
              env={"MTS_ANTHROPIC_API_KEY": KEY_A, "MTS_OPENAI_API_KEY": KEY_O})
    r = s.draft()
    expect_draft(r, "openai", "Anthropic's certificate untrusted")
    check_eq(len(a.requests()), 0, "requests that reached the untrusted stand-in")
    s.srv.stop_ok()
    check("anthropic:tls" in s.srv.all_log(), "the log does not say TLS failed")


@case
def not_configured():
    """no key anywhere: 503 ai_not_configured"""
    s = Setup("none", ai_settings("https://127.0.0.1:9", "https://127.0.0.1:9"))
    r = s.draft()
    r.expect(503, "ai_not_configured", what="no keys")
    s.draft(feature="template").expect(503, "ai_not_configured", what="template, no keys")
    s.srv.stop_ok()


@case
def key_set_and_cleared_while_running():
    """ai-key-set takes effect without a restart, ai-key-clear likewise; bad input refused"""
    o = StandIn("openai", KEY_O_VAULT)
    s = Setup("keys", ai_settings("https://127.0.0.1:9", o.url))
    o.set("ok", [s.client_id, s.client_name])
    s.draft().expect(503, "ai_not_configured", what="before ai-key-set")
    rc, out, err = s.srv.admin("ai-key-set", "openai", input=b"")
    check(rc == 1 and "no API key" in err, f"empty input: {rc} {out} {err}")
    rc, out, err = s.srv.admin("ai-key-set", "openai", input=b"has a space\n")
    check(rc == 1, f"a key with spaces: {rc} {out} {err}")
    rc, out, err = s.srv.admin("ai-key-set", "gemini", input=b"abcdefghijkl\n")
    check(rc == 2, f"unknown provider: {rc} {out} {err}")
    s.srv.admin_ok("ai-key-set", "openai", input=(KEY_O_VAULT + "\n").encode())
    sealed = os.path.join(s.srv.dir, "vault", "ai-openai-key.sealed")
    check(os.path.exists(sealed), "no sealed file")
    check_eq(os.stat(sealed).st_mode & 0o777, 0o600, "mode of the sealed key")
    expect_draft(s.draft(), "openai", "after ai-key-set")
    out = s.srv.admin_ok("ai-key-clear", "openai")
    check("removed" in out, out)
    check(not os.path.exists(sealed), "the sealed file is still there")
    s.draft().expect(503, "ai_not_configured", what="after ai-key-clear")
    out = s.srv.admin_ok("ai-key-clear", "openai")
    check("no openai API key" in out, out)
    s.srv.stop_ok()
    # A sealed key copied to the other provider's name does not open.
    s.srv.admin_ok("ai-key-set", "openai", input=(KEY_O_VAULT + "\n").encode())
    os.rename(sealed, os.path.join(s.srv.dir, "vault", "ai-anthropic-key.sealed"))
    s.srv.start()
    s.draft().expect(503, "ai_not_configured", what="a sealed key under another name")
    s.srv.stop_ok()
    check("ai-key-unreadable" in s.srv.all_log(), "the unreadable key is not logged")


@case
def bad_key_in_environment():
    """a key variable that is not a key: the server does not start, and does not print it"""
    bad = f"not a key {RUN}"
    s = Setup("badenv", ai_settings("https://127.0.0.1:9", "https://127.0.0.1:9"),
              env={"MTS_OPENAI_API_KEY": bad}, start=False)
    try:
        s.srv.start()
        raise Failed("the server started with a malformed key")
    except Failed as e:
        check("MTS_OPENAI_API_KEY" in str(e), f"no word of the variable: {e}")
        check(bad not in s.srv.all_log(), "the malformed key was logged")


# ---------------------------------------------------------------------------
# What is left behind

def audit_rows(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [(r[0], r[1], r[2], json.loads(r[3] or "{}")) for r in
                con.execute("SELECT event, actor, practice_id, detail_json FROM audit_log "
                            "ORDER BY seq")]
    finally:
        con.close()


@case
def audit_entries():
    """the audit log names feature, client, user, device, provider and outcome of every draft, and verifies"""
    s, a, o = both()
    s.srv.stop_ok()
    rows = [r for r in audit_rows(s.srv.db_path) if r[0] == "ai-draft"]
    check(rows, "no ai-draft audit entries")
    outcomes = {r[3].get("outcome") for r in rows}
    for want in ("ok", "fallback", "refused", "unavailable", "no_consent", "not_found",
                 "too_long"):
        check(want in outcomes, f"no {want!r} entry among {sorted(outcomes)}")
    for event, actor, practice, d in rows:
        check(set(d) <= {"feature", "client_id", "device_id", "provider", "model", "outcome",
                         "attempts"}, f"detail members {sorted(d)}")
        check(d["feature"] in ("session_note", "risk_signals", "template"), f"{d}")
    ok = [r for r in rows if r[3]["outcome"] == "ok" and r[3]["feature"] == "session_note"][0]
    check_eq((ok[1], ok[2]), (s.user.user_id, s.practice_id), "actor and practice")
    check_eq(ok[3]["client_id"], s.client_id, "client")
    check_eq(ok[3]["device_id"], s.sess.device_id, "device")
    check_eq((ok[3]["provider"], ok[3]["model"]), ("anthropic", MODEL_A), "provider")
    fb = [r for r in rows if r[3]["outcome"] == "fallback"][0][3]
    check_eq(fb["provider"], "openai", "fallback provider")
    check(fb["attempts"].startswith("anthropic:") and fb["attempts"].endswith("openai:ok"),
          f"attempts {fb['attempts']!r}")
    rc, out, err = s.srv.admin("audit-verify")
    check(rc == 0, f"audit-verify: {rc} {out}{err}")


def scan(path, needles):
    found = []
    for root, _, files in os.walk(path):
        for name in files:
            p = os.path.join(root, name)
            if "standin-" in p or name.startswith("curl-"):
                continue
            try:
                with open(p, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            for n in needles:
                if n.encode() in data:
                    found.append(f"{p}: {n[:16]}...")
    return found


@case
def nothing_left_behind():
    """the text sent, the drafts and the API keys appear in no log line, database, vault file or audit entry"""
    for st in _standins:
        st.requests()
    check(len(ANSWER_MARKS) > 10, "too few drafts to look for")
    needles = [PROMPT_MARK, KEY_A, KEY_O, KEY_A_VAULT, KEY_O_VAULT] + sorted(ANSWER_MARKS)
    problems = []
    for srv in _servers:
        if srv.running():
            srv.stop_ok()
        log = srv.all_log()
        problems += [f"{srv.name} log: {n[:16]}..." for n in needles if n in log]
        if os.path.isdir(srv.dir):
            problems += scan(srv.dir, needles)
            if os.path.exists(srv.db_path):
                for row in audit_rows(srv.db_path):
                    text = json.dumps(row)
                    problems += [f"{srv.name} audit: {n[:16]}..." for n in needles if n in text]
    check(not problems, "found:\n" + "\n".join(problems))
    # The look above can fail: the text is in the stand-ins' logs.
    check(any(PROMPT_MARK in open(st.log).read() for st in _standins if os.path.exists(st.log)),
          "the marker never reached a stand-in: the search proves nothing")


def finish(failed):
    for srv in _servers:
        if srv.running():
            srv.kill()
    for st in _standins:
        st.stop()
    if failed == 0:
        scratch.remove()
    else:
        print(f"# scratch directory kept: {scratch.path}")


if __name__ == "__main__":
    sys.exit(tap.run(finish))
