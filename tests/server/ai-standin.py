#!/usr/bin/env python3
"""A loopback HTTPS stand-in for an AI provider, for the AI relay's tests.

    ai-standin.py --provider anthropic|openai --cert F --key F --port-file F
                  --log F [--mode MODE] [--control F] [--api-key K]
                  [--model M] [--max-tokens N] [--sleep S]

It speaks the provider's wire format (Anthropic's Messages API,
POST /v1/messages; OpenAI's Chat Completions, POST /v1/chat/completions)
on 127.0.0.1 over TLS with the certificate given (made at test time by
make-test-ca.sh), writes its port to --port-file once it listens, and runs
until killed.

It CHECKS every request it receives and writes one JSON line per request
to --log: {"n", "provider", "mode", "path", "method", "headers" (names),
"body" (the parsed JSON), "violations": [...], "answer_marker"}.  A
violation is anything the relay must not do: a wrong path or method, a
missing or wrong x-api-key / anthropic-version (Anthropic) or
Authorization: Bearer (OpenAI), a content type other than
application/json, another model or max_tokens than expected, messages
not of the provider's shape (Anthropic: a top-level system string and one
user message; OpenAI: a system then a user message, store: false), and
any of the --control file's "forbid" strings (client ids, names) anywhere
in the raw body.  The test reads the log and asserts there are none.

Modes (--mode, or "mode" in the --control file, re-read on every request so
one process serves many cases): ok, 529, 500, 503, 429-rate (retry-after: 1),
429-rate-long (retry-after: 120), 429-once (429 with retry-after: 1 to the
first request in this mode, then ok), 429-spend, 400, 401, 403, 413,
timeout (sleeps --sleep seconds, default 5, then answers ok), bad-json
(a 200 that is not JSON), close (closes the connection without answering).

An ok answer is derived from the request: the draft is "<provider> draft
<marker>: " followed by every token of the sent text that starts with
"ECHO-", where <marker> is a fresh "STANDIN-DRAFT-<hex>" (logged as
answer_marker, so a test can look for it elsewhere).  For a risk-signal
request (the system prompt asks for "signals") it answers JSON naming a
line of the text between <text> and </text> as a passage (the first
holding "RISK", else the first), plus one passage that is not in the text
(the relay must drop it), inside a ```json fence.
"""
import argparse
import http.server
import json
import os
import re
import secrets
import socket
import ssl
import sys
import threading
import time

LOCK = threading.Lock()
COUNT = {"n": 0, "once": set()}


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--provider", required=True, choices=["anthropic", "openai"])
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--control")
    ap.add_argument("--api-key")
    ap.add_argument("--model")
    ap.add_argument("--max-tokens", type=int)
    ap.add_argument("--sleep", type=float, default=5.0)
    return ap.parse_args()


ARGS = parse_args()


def control():
    """The mode and the forbidden strings now."""
    mode, forbid = ARGS.mode, []
    if ARGS.control and os.path.exists(ARGS.control):
        try:
            with open(ARGS.control) as f:
                c = json.load(f)
            mode = c.get("mode", mode)
            forbid = c.get("forbid", [])
        except (OSError, ValueError):
            pass
    return mode, forbid


def sent_text(user):
    m = re.search(r"<text>\n(.*)\n</text>", user, re.S)
    return m.group(1) if m else user


def check_request(handler, raw, body, forbid):
    """The violations of one request."""
    v = []
    h = handler.headers
    if handler.command != "POST":
        v.append(f"method {handler.command}")
    ctype = (h.get("content-type") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        v.append(f"content-type {h.get('content-type')!r}")
    if ARGS.provider == "anthropic":
        if handler.path != "/v1/messages":
            v.append(f"path {handler.path}")
        if ARGS.api_key is not None and h.get("x-api-key") != ARGS.api_key:
            v.append("x-api-key missing or wrong")
        if h.get("anthropic-version") != "2023-06-01":
            v.append(f"anthropic-version {h.get('anthropic-version')!r}")
        if h.get("authorization") is not None:
            v.append("an Authorization header sent to Anthropic")
    else:
        if handler.path != "/v1/chat/completions":
            v.append(f"path {handler.path}")
        if ARGS.api_key is not None and h.get("authorization") != f"Bearer {ARGS.api_key}":
            v.append("Authorization: Bearer missing or wrong")
        if h.get("x-api-key") is not None:
            v.append("an x-api-key header sent to OpenAI")
    if not isinstance(body, dict):
        v.append("body is not a JSON object")
        return v, None, None
    if ARGS.model is not None and body.get("model") != ARGS.model:
        v.append(f"model {body.get('model')!r}")
    if not isinstance(body.get("model"), str) or not body.get("model"):
        v.append("no model")
    mt = body.get("max_tokens")
    if not isinstance(mt, int) or isinstance(mt, bool) or mt <= 0:
        v.append(f"max_tokens {mt!r}")
    elif ARGS.max_tokens is not None and mt != ARGS.max_tokens:
        v.append(f"max_tokens {mt} (expected {ARGS.max_tokens})")
    msgs = body.get("messages")
    system = user = None
    if ARGS.provider == "anthropic":
        allowed = {"model", "max_tokens", "system", "messages"}
        if set(body) - allowed:
            v.append(f"unexpected members {sorted(set(body) - allowed)}")
        system = body.get("system")
        if not isinstance(system, str) or not system:
            v.append("no system prompt")
        if (not isinstance(msgs, list) or len(msgs) != 1 or not isinstance(msgs[0], dict)
                or msgs[0].get("role") != "user" or not isinstance(msgs[0].get("content"), str)
                or set(msgs[0]) != {"role", "content"}):
            v.append("messages is not one user message with string content")
        else:
            user = msgs[0]["content"]
    else:
        allowed = {"model", "max_tokens", "store", "messages"}
        if set(body) - allowed:
            v.append(f"unexpected members {sorted(set(body) - allowed)}")
        if body.get("store") is not False:
            v.append(f"store is {body.get('store')!r}, not false")
        if (not isinstance(msgs, list) or len(msgs) != 2
                or not all(isinstance(m, dict) and set(m) == {"role", "content"}
                           and isinstance(m.get("content"), str) for m in msgs)
                or [m.get("role") for m in msgs] != ["system", "user"]):
            v.append("messages is not [system, user] with string contents")
        else:
            system, user = msgs[0]["content"], msgs[1]["content"]
    text = raw.decode("utf-8", "replace")
    for s in forbid:
        if s and (s in text or json.dumps(s)[1:-1] in text):
            v.append(f"a client identifier was sent: {s[:8]}...")
    return v, system, user


def ok_answer(system, user, marker):
    """The answer body (a dict) derived from the request."""
    if system is not None and '"signals"' in system:
        text = sent_text(user or "")
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        marked = [ln for ln in lines if "RISK" in ln]
        first = (marked or lines or [""])[0]
        answer = json.dumps({"signals": [
            {"passage": first, "reason": f"stand-in reason {marker}"},
            {"passage": "a passage that is not in the text " + marker, "reason": "made up"},
        ]})
        answer = "```json\n" + answer + "\n```"
    else:
        echoes = re.findall(r"ECHO-[A-Za-z0-9-]+", user or "")
        answer = f"{ARGS.provider} draft {marker}: " + " ".join(echoes)
    model = ARGS.model or "stand-in-model"
    if ARGS.provider == "anthropic":
        return {"id": "msg_standin", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": answer}], "stop_reason": "end_turn",
                "usage": {"input_tokens": 1, "output_tokens": 1}}
    return {"id": "chatcmpl-standin", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer, "refusal": None}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1}}


def error_body(status, kind):
    if ARGS.provider == "anthropic":
        types = {400: "invalid_request_error", 401: "authentication_error",
                 403: "permission_error", 413: "request_too_large", 429: "rate_limit_error",
                 500: "api_error", 503: "api_error", 529: "overloaded_error"}
        msg = {"spend": "Your credit balance is too low: you have reached your spend limit.",
               }.get(kind, f"stand-in error {status}")
        return {"type": "error", "error": {"type": types.get(status, "api_error"), "message": msg}}
    code = {"spend": "insufficient_quota", "rate": "rate_limit_exceeded"}.get(kind)
    msg = {"spend": "You exceeded your current quota, please check your plan and billing details.",
           }.get(kind, f"stand-in error {status}")
    return {"error": {"message": msg, "type": "insufficient_quota" if kind == "spend"
                      else "requests" if status == 429 else "invalid_request_error",
                      "param": None, "code": code}}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def handle_any(self):
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        mode, forbid = control()
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            body = None
        violations, system, user = check_request(self, raw, body, forbid)
        marker = "STANDIN-DRAFT-" + secrets.token_hex(8)
        with LOCK:
            COUNT["n"] += 1
            n = COUNT["n"]
            effective = mode
            if mode == "429-once":
                effective = "ok" if "429-once" in COUNT["once"] else "429-rate"
                COUNT["once"].add("429-once")
            else:
                COUNT["once"].discard("429-once")
            entry = {"n": n, "provider": ARGS.provider, "mode": effective, "path": self.path,
                     "method": self.command, "headers": sorted(k.lower() for k in self.headers),
                     "body": body, "violations": violations, "answer_marker": marker,
                     "time": time.time()}
            with open(ARGS.log, "a") as f:
                f.write(json.dumps(entry) + "\n")
        try:
            self.answer(effective, system, user, marker)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass

    def answer(self, mode, system, user, marker):
        if mode == "ok":
            self.send_json(200, ok_answer(system, user, marker))
        elif mode == "timeout":
            time.sleep(ARGS.sleep)
            self.send_json(200, ok_answer(system, user, marker))
        elif mode == "bad-json":
            data = b"<html>not json</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif mode == "close":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif mode == "429-rate":
            self.send_json(429, error_body(429, "rate"), [("retry-after", "1")])
        elif mode == "429-rate-long":
            self.send_json(429, error_body(429, "rate"), [("retry-after", "120")])
        elif mode == "429-spend":
            self.send_json(429, error_body(429, "spend"))
        elif re.fullmatch(r"\d{3}", mode):
            self.send_json(int(mode), error_body(int(mode), ""))
        else:
            self.send_json(500, {"error": {"type": "api_error", "message": f"unknown mode {mode}"}})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(ARGS.cert, ARGS.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, ARGS.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
