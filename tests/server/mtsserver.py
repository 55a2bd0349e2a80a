"""A fixture for integration tests of the real `mts-server` over loopback TLS.

Standard library only.  What it gives a test script (tests/server/test-api.py):

  Scratch()            a temporary folder with a CA made at test time by
                       make-test-ca.sh (ca.pem, server.pem, other-ca.pem,
                       expired.pem, ...); kept when a case failed
  Server(scratch, name, {"auth": {"access_token_seconds": 1}, ...})
                       one server: its own folder, config (test settings:
                       port 0, kdf=test, password_kdf=min, the test CA's
                       certificate), database and vault
    .admin(...)        an admin command (`mts-server --config F COMMAND ...`)
    .practice_create(slug, name), .user_add(slug, username, role)
    .start(), .stop()  run it; start waits for the "listening" log line and
                       parses the port from it
    .curl(method, path, body, token=..., ...)
                       the curl command line with --cacert (peer and host
                       verification always on), `MTS-Protocol: 1`, -sS;
                       returns a Response (status, JSON or raw body, headers)
    .login(user, device_id) -> Session (tokens, push/pull helpers)
  User.code()          the next unused TOTP code of a user, from oathtool
  Tap()                a TAP reporter: every case runs whatever happened to
                       the ones before; exit status 1 if any failed

Environment: MTS_SERVER is the server binary (default: build/server/mts-server
beside this source tree); MTS_SERVER_WRAPPER, if set, is a command line the
server runs under (for example valgrind).
"""
import atexit
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
MTS_SERVER = os.path.abspath(os.environ.get("MTS_SERVER") or
                             os.path.join(HERE, "..", "..", "build", "server", "mts-server"))
WRAPPER = shlex.split(os.environ.get("MTS_SERVER_WRAPPER", ""))
VAULT_PASSPHRASE = "vault passphrase for tests only"
TOTP_PERIOD = 30

# The environment every child gets: none of the caller's MTS_* settings.
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("MTS_")}
BASE_ENV["LC_ALL"] = "C"


# Servers running now: killed if the test script exits or is killed (a
# server runs in its own session, so a signal to the script's process group
# would not reach it).
_live = set()


def _kill_live(*_):
    for srv in list(_live):
        if srv.proc is not None and srv.proc.poll() is None:
            srv.proc.kill()
    _live.clear()


def _on_signal(signum, _frame):
    _kill_live()
    os._exit(128 + signum)


atexit.register(_kill_live)


class Failed(Exception):
    """A check failed; the message says what was expected and what came."""


class Skip(Exception):
    """The case cannot run here; the message says why."""


def check(cond, what):
    if not cond:
        raise Failed(what)


def check_eq(got, expected, what):
    if got != expected:
        raise Failed(f"{what}: expected {expected!r}, got {got!r}")


class Soft:
    """Collects failed checks so that one case reports all of them:
    soft(fn, args...) runs fn and keeps its Failed; done() raises them."""

    def __init__(self):
        self.errors = []

    def __call__(self, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except Failed as e:
            self.errors.append(str(e))
            return None

    def done(self):
        if self.errors:
            raise Failed("\n".join(self.errors))


# ---------------------------------------------------------------------------
# TAP

class Tap:
    """Cases registered with @tap.case run in order, each on its own: an
    exception in one is reported as `not ok` with a diagnostic and the next
    one still runs."""

    def __init__(self):
        self.cases = []

    def case(self, fn):
        self.cases.append(fn)
        return fn

    def run(self, finish=None):
        """Runs every case, then @finish(failed) if given; returns the exit
        status (1 if anything failed)."""
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        print(f"1..{len(self.cases)}", flush=True)
        failed = 0
        for n, fn in enumerate(self.cases, 1):
            title = (fn.__doc__ or fn.__name__).strip().splitlines()[0]
            t0 = time.monotonic()
            try:
                fn()
                print(f"ok {n} - {title}")
            except Skip as e:
                print(f"ok {n} - {title} # SKIP {e}")
            except Failed as e:
                failed += 1
                print(f"not ok {n} - {title}")
                print(_diag(str(e)))
            except Exception:
                failed += 1
                print(f"not ok {n} - {title}")
                print(_diag(traceback.format_exc()))
            if os.environ.get("MTS_TEST_TIMES"):
                print(f"# {time.monotonic() - t0:.1f} s")
            sys.stdout.flush()
        if finish is not None:
            try:
                finish(failed)
            except Exception:
                print(_diag("cleanup failed:\n" + traceback.format_exc()))
        return 1 if failed else 0


def _diag(text):
    return "# " + text.rstrip("\n").replace("\n", "\n# ")


# ---------------------------------------------------------------------------
# Scratch folder and certificates

class Scratch:
    """A temporary folder holding the test CA (in ca/) and one folder per
    server."""

    def __init__(self, prefix="mts-server-test-"):
        self.path = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.path, 0o700)
        self.ca_dir = os.path.join(self.path, "ca")
        p = subprocess.run([os.path.join(HERE, "make-test-ca.sh"), self.ca_dir],
                           capture_output=True, text=True, timeout=120)
        check(p.returncode == 0, f"make-test-ca.sh failed ({p.returncode}): {p.stderr}")

    def ca(self, name):
        """The path of one of make-test-ca.sh's files, e.g. ca('ca.pem')."""
        return os.path.join(self.ca_dir, name)

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


# ---------------------------------------------------------------------------
# Responses

class Response:
    """What curl got: status (None if curl failed: see rc and stderr), the
    raw body, the body parsed as JSON (None if it is not JSON), the headers
    of the final response (names lower-cased; a repeated header keeps its
    last value)."""

    def __init__(self, rc, stderr, raw, header_text, status_text):
        self.rc = rc
        self.stderr = stderr
        self.raw = raw
        self.status = None
        if rc == 0 or status_text.strip() not in ("", "000"):
            try:
                self.status = int(status_text.strip())
            except ValueError:
                self.status = None
            if self.status == 0:
                self.status = None
        self.headers = {}
        blocks = [b for b in re.split(r"\r?\n\r?\n", header_text) if b.strip()]
        if blocks:
            for line in blocks[-1].splitlines()[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    self.headers[name.strip().lower()] = value.strip()
        try:
            self.json = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            self.json = None

    @property
    def text(self):
        return self.raw.decode("utf-8", "replace")

    @property
    def code(self):
        """The error code of an error body, or None."""
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), dict):
            return self.json["error"].get("code")
        return None

    @property
    def field(self):
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), dict):
            return self.json["error"].get("field")
        return None

    def header(self, name):
        return self.headers.get(name.lower())

    def describe(self):
        if self.status is None:
            return f"curl exit {self.rc}: {self.stderr.strip()}"
        body = self.text
        if len(body) > 600:
            body = body[:600] + f"... ({len(self.raw)} bytes)"
        return f"HTTP {self.status} {body}"

    def expect(self, status, code=None, what="request"):
        """Requires @status (and, for an error, the error @code); returns
        the parsed JSON body."""
        if self.status != status or (code is not None and self.code != code):
            want = f"{status}" + (f" {code}" if code else "")
            raise Failed(f"{what}: expected {want}, got {self.describe()}")
        if code is not None:
            err = self.json["error"]
            check(isinstance(err.get("message"), str) and err["message"],
                  f"{what}: error without a message: {self.text}")
        return self.json


# ---------------------------------------------------------------------------
# Users and sessions

class User:
    """A user made with user-add; code() hands out its TOTP codes, each once,
    in increasing steps (the server refuses a step not after the last one
    used), sleeping into the next 30-second step only if the three codes a
    moment accepts (one step either side) are spent."""

    def __init__(self, practice, username, password, role, user_id, secret):
        self.practice = practice
        self.username = username
        self.password = password
        self.role = role
        self.user_id = user_id
        self.secret = secret
        self.last_step = -1

    def code(self):
        while True:
            now = time.time()
            cur = int(now // TOTP_PERIOD)
            step = max(self.last_step + 1, cur - 1)
            # The previous step's code stops working when the next step
            # begins: skip it when there is too little left of this one.
            if step == cur - 1 and (cur + 1) * TOTP_PERIOD - now < 5:
                step = cur
            if step <= cur + 1:
                break
            time.sleep((step - 1) * TOTP_PERIOD - now + 0.5)
        self.last_step = step
        return totp(self.secret, step * TOTP_PERIOD + 1)

    def wrong_code(self):
        """A six-digit code that is right for no step near now."""
        now = int(time.time())
        near = {totp(self.secret, now + d * TOTP_PERIOD) for d in range(-3, 4)}
        c = 123456
        while f"{c:06d}" in near:
            c = (c + 1) % 1000000
        return f"{c:06d}"


def totp(secret, at):
    """The TOTP code of base32 @secret at Unix time @at (oathtool)."""
    p = subprocess.run(["oathtool", "--totp", "-b", f"--now=@{int(at)}", secret],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, f"oathtool failed: {p.stderr}")
    code = p.stdout.strip()
    check(re.fullmatch(r"\d{6}", code), f"oathtool printed {code!r}")
    return code


def new_device_id():
    return str(uuid7())


def uuid7():
    """A UUIDv7 (time-ordered), as the apps make record and device ids."""
    ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


class Session:
    """A logged-in device: tokens from the login answer, its own op
    sequence numbers, and helpers for the authenticated endpoints."""

    def __init__(self, server, user, device_id, answer):
        self.server = server
        self.user = user
        self.device_id = device_id
        self.answer = answer
        self.access = answer["access_token"]
        self.refresh = answer["refresh_token"]
        self.seq = 0

    def next_seq(self):
        self.seq += 1
        return self.seq

    def upsert(self, table, record_id, base_version, fields, seq=None):
        """One push op (a dict) with the device's next sequence number."""
        return {"seq": seq if seq is not None else self.next_seq(), "table": table,
                "id": record_id, "op": "upsert", "base_version": base_version,
                "fields": fields}

    def delete(self, table, record_id, base_version, seq=None):
        return {"seq": seq if seq is not None else self.next_seq(), "table": table,
                "id": record_id, "op": "delete", "base_version": base_version}

    def get(self, path, **kw):
        return self.server.curl("GET", path, token=self.access, **kw)

    def post(self, path, body, **kw):
        return self.server.curl("POST", path, body, token=self.access, **kw)

    def push(self, ops, confirm_mass_delete=None, **kw):
        body = {"ops": ops}
        if confirm_mass_delete is not None:
            body["confirm_mass_delete"] = confirm_mass_delete
        return self.post("/v1/sync/push", body, **kw)

    def push_ok(self, ops, **kw):
        """Pushes and requires 200 with one result per op, in order; returns
        the results."""
        r = self.push(ops, **kw)
        body = r.expect(200, what="push")
        results = body.get("results") if isinstance(body, dict) else None
        check(isinstance(results, list) and len(results) == len(ops),
              f"push: expected {len(ops)} results, got {r.describe()}")
        for op, res in zip(ops, results):
            check(res.get("seq") == op["seq"], f"push: results out of order: {r.describe()}")
        return results

    def pull(self, after=0, limit=None, **kw):
        q = f"/v1/sync/pull?after={after}"
        if limit is not None:
            q += f"&limit={limit}"
        return self.get(q, **kw)

    def pull_all(self, limit=None):
        """Every record, following `next` while `more`; returns a dict
        (table, id) -> record and the raw page bodies."""
        records, pages, after = {}, [], 0
        for _ in range(10000):
            r = self.pull(after, limit)
            body = r.expect(200, what=f"pull after={after}")
            pages.append(r)
            for rec in body["records"]:
                records[(rec["table"], rec["id"])] = rec
            if not body.get("more"):
                return records, pages
            check(body["next"] > after, f"pull: next {body['next']} is not after {after}")
            after = body["next"]
        raise Failed("pull never ended")


# ---------------------------------------------------------------------------
# The server

DEFAULT_SETTINGS = {
    "server": {"listen": "127.0.0.1", "port": 0},
    "storage": {"backend": "sqlite", "path": "mts-server.db"},
    "vault": {"directory": "vault", "kdf": "test"},
    # refresh_retry_seconds = 0: a spent refresh token is always taken as a
    # theft here, which is what these tests check (test-sync-faults.c checks
    # the retry window).
    "auth": {"password_kdf": "min", "refresh_retry_seconds": 0},
}


class Server:
    """One mts-server with its own folder under the scratch folder."""

    def __init__(self, scratch, name, settings=None, cert="server.pem", key="server-key.pem"):
        self.scratch = scratch
        self.name = name
        self.dir = os.path.join(scratch.path, name)
        os.makedirs(self.dir, mode=0o700)
        self.settings = {k: dict(v) for k, v in DEFAULT_SETTINGS.items()}
        self.settings["server"]["tls_certificate"] = scratch.ca(cert)
        self.settings["server"]["tls_key"] = scratch.ca(key)
        for group, values in (settings or {}).items():
            self.settings.setdefault(group, {}).update(values)
        self.config = os.path.join(self.dir, "mts-server.conf")
        with open(self.config, "w") as f:
            for group, values in self.settings.items():
                f.write(f"[{group}]\n")
                for k, v in values.items():
                    f.write(f"{k}={v}\n")
                f.write("\n")
        self.env = dict(BASE_ENV)
        self.env["MTS_VAULT_PASSPHRASE"] = VAULT_PASSPHRASE
        # In the AddressSanitizer build the server runs with memory-error
        # detection but without LeakSanitizer: GCC 12's LSan crashes ("Tracer
        # caught signal 11") walking the dynamic TLS that glib-networking's
        # GnuTLS leaves in GIO's worker threads, and without that walk it
        # reports GLib's thread-local caches as leaks.  The server's own
        # parts are leak-checked in their unit tests under valgrind.
        if "ASAN_OPTIONS" in self.env:
            self.env["ASAN_OPTIONS"] += ":detect_leaks=0"
        self.proc = None
        self.port = None
        self.log = []            # the server's stderr lines, all runs
        self._log_lock = threading.Lock()
        self._reader = None
        self._n = 0              # curl temp-file counter
        self.users = []          # every User made, for the at-rest checks
        self.tokens = set()      # every token the server handed out
        self.answered = 0        # responses curl got
        self.protocol_misses = []  # ...of which without MTS-Protocol: 1

    @property
    def db_path(self):
        return os.path.join(self.dir, self.settings["storage"]["path"])

    # -- admin commands ------------------------------------------------------

    def admin(self, *args, env=None, config=None, timeout=60, input=None):
        """Runs `mts-server --config CONFIG ARGS...` (@config: another
        config file; @input: bytes for its standard input, else none);
        returns (exit status, stdout, stderr)."""
        e = dict(self.env)
        e.update(env or {})
        p = subprocess.run([*WRAPPER, MTS_SERVER, "--config", config or self.config, *args],
                           stdin=subprocess.DEVNULL if input is None else None, input=input,
                           capture_output=True, env=e,
                           timeout=timeout, start_new_session=True)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def admin_ok(self, *args, env=None, input=None):
        rc, out, err = self.admin(*args, env=env, input=input)
        check(rc == 0, f"mts-server {' '.join(args)}: exit {rc}\nstdout: {out}\nstderr: {err}")
        return out

    def practice_create(self, slug, name=None):
        """Makes a practice; returns its id (what the command prints)."""
        out = self.admin_ok("practice-create", slug, name or f"Practice {slug}")
        m = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", out)
        check(m, f"practice-create printed no id: {out!r}")
        return m.group(0)

    def user_add(self, slug, username, role="clinician", password=None):
        """Adds a user (password through MTS_USER_PASSWORD); returns a User
        with the TOTP secret from the otpauth URI the command prints."""
        password = password or f"pw-{username}-{os.urandom(6).hex()}"
        out = self.admin_ok("user-add", "--no-qr", slug, username, role,
                            env={"MTS_USER_PASSWORD": password})
        m = re.search(r"^user ([0-9a-f-]{36})\s*$", out, re.M)
        check(m, f"user-add printed no 'user <id>' line: {out!r}")
        s = re.search(r"otpauth://totp/\S*[?&]secret=([A-Z2-7]+)", out)
        check(s, f"user-add printed no otpauth URI with a secret: {out!r}")
        user = User(slug, username, password, role, m.group(1), s.group(1))
        self.users.append(user)
        return user

    # -- running -------------------------------------------------------------

    def start(self, timeout=30):
        """Starts `serve` and waits for its listening line."""
        check(self.proc is None, "server already running")
        self.port = None
        listening = threading.Event()
        self.proc = subprocess.Popen([*WRAPPER, MTS_SERVER, "--config", self.config, "serve"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=self.env,
                                     start_new_session=True)
        proc = self.proc
        _live.add(self)

        def read():
            for raw in proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                with self._log_lock:
                    self.log.append(line)
                if self.port is None and '"listening"' in line:
                    port = None
                    try:
                        obj = json.loads(line)
                        if obj.get("event") == "listening":
                            port = int(obj["port"])
                    except (ValueError, KeyError, TypeError):
                        m = re.search(r'"port"\s*:\s*(\d+)', line)
                        port = int(m.group(1)) if m else None
                    if port:
                        self.port = port
                        listening.set()
            listening.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        listening.wait(timeout)
        if self.port is None:
            if proc.poll() is None:
                self._terminate(5)
                raise Failed(f"server {self.name} did not log a listening line within "
                             f"{timeout} s; its stderr:\n{self.log_text()}")
            self._reader.join(5)
            status = proc.wait()
            self.proc = None
            raise Failed(f"server {self.name} exited ({status}) before listening; "
                         f"its stderr:\n{self.log_text()}")
        check(self.port > 0, f"listening on port {self.port}")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def ensure_running(self):
        if self.proc is not None and self.proc.poll() is not None:
            status = self.proc.returncode
            self.proc = None
            raise Failed(f"server {self.name} has died (exit {status}); its stderr:\n"
                         f"{self.log_text()}")
        if self.proc is None:
            self.start()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        """Waits for the server to exit; returns its status (None on timeout)."""
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        if self._reader is not None:
            self._reader.join(5)
        self.proc = None
        _live.discard(self)
        return status

    def stop(self, timeout=30):
        """SIGTERM, then waits; returns the exit status (killing it and
        failing if it does not exit in time)."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        status = self.wait(timeout)
        if status is None:
            self._terminate(0)
            raise Failed(f"server {self.name} did not exit within {timeout} s of SIGTERM")
        return status

    def stop_ok(self, timeout=30):
        """stop(), requiring exit status 0 (showing the server's stderr if not)."""
        status = self.stop(timeout)
        check(status == 0, f"server {self.name}: exit status {status} on SIGTERM; its stderr:\n"
                           f"{self.log_text(40)}")

    def _terminate(self, grace):
        try:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        _live.discard(self)

    def kill(self):
        if self.proc is not None:
            self._terminate(5)

    def log_text(self, last=60):
        with self._log_lock:
            lines = list(self.log)
        if len(lines) > last:
            lines = [f"... ({len(lines) - last} earlier lines)"] + lines[-last:]
        return "\n".join(lines) if lines else "(nothing on stderr)"

    def all_log(self):
        with self._log_lock:
            return "\n".join(self.log)

    # -- requests ------------------------------------------------------------

    def url(self, path, host="127.0.0.1"):
        return f"https://{host}:{self.port}{path}"

    def curl(self, method, path, body=None, token=None, protocol="1",
             content_type="application/json", headers=(), cacert="ca.pem",
             extra=(), host="127.0.0.1", timeout=60):
        """Runs the curl command line against the server.  @body: a dict or
        list (sent as JSON), str or bytes (sent as they are), or None.
        @protocol None leaves out the MTS-Protocol header.  @cacert names a
        make-test-ca.sh file.  Returns a Response."""
        check(self.port is not None, f"server {self.name} is not running")
        self._n += 1
        base = os.path.join(self.dir, f"curl-{self._n}")
        args = ["curl", "-sS", "--cacert", self.scratch.ca(cacert),
                "--max-time", str(timeout), "-o", base + ".body", "-D", base + ".head",
                "-w", "%{http_code}", "-H", "Expect:"]
        if method not in ("GET", "POST") or (method == "GET" and body is not None):
            args += ["-X", method]
        if protocol is not None:
            args += ["-H", f"MTS-Protocol: {protocol}"]
        if token is not None:
            args += ["-H", f"Authorization: Bearer {token}"]
        data = None
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
            elif isinstance(body, str):
                data = body.encode()
            else:
                data = bytes(body)
            args += ["-H", f"Content-Type: {content_type}" if content_type else "Content-Type:"]
            args += ["--data-binary", "@-"]
        elif method == "POST":
            # An empty body, and no Content-Type (curl would say form data).
            args += ["--data-binary", "", "-H", "Content-Type:"]
        for h in headers:
            args += ["-H", h]
        args += list(extra)
        args.append(self.url(path, host))
        p = subprocess.run(args, input=data, stdin=None if data is not None else subprocess.DEVNULL,
                           capture_output=True, timeout=timeout + 30)
        raw = b""
        head = ""
        try:
            with open(base + ".body", "rb") as f:
                raw = f.read()
            os.unlink(base + ".body")
        except FileNotFoundError:
            pass
        try:
            with open(base + ".head", "r", encoding="latin-1") as f:
                head = f.read()
            os.unlink(base + ".head")
        except FileNotFoundError:
            pass
        r = Response(p.returncode, p.stderr.decode("utf-8", "replace"), raw, head,
                     p.stdout.decode("ascii", "replace"))
        if r.status is not None:
            self.answered += 1
            if r.header("mts-protocol") != "1":
                self.protocol_misses.append(f"{method} {path} -> {r.status}")
        if isinstance(r.json, dict):
            for k in ("access_token", "refresh_token"):
                if isinstance(r.json.get(k), str):
                    self.tokens.add(r.json[k])
        return r

    # -- raw TLS, for what curl cannot do (stall, send a request in parts) --

    def tls_socket(self, timeout=30):
        """A TLS connection to the server, verified against the test CA."""
        ctx = ssl.create_default_context(cafile=self.scratch.ca("ca.pem"))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        try:
            return ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        except Exception:
            sock.close()
            raise

    def raw_request(self, method, path, body=None, token=None):
        """The bytes of an HTTP/1.1 request as a client would send it."""
        data = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}",
                "MTS-Protocol: 1", "Connection: close"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + data


    # -- logging in ----------------------------------------------------------

    def login_body(self, user, device_id=None, password=None, code=None,
                   practice=None, username=None, device_name="test device"):
        return {"practice": practice if practice is not None else user.practice,
                "username": username if username is not None else user.username,
                "password": password if password is not None else user.password,
                "totp": code if code is not None else user.code(),
                "device_id": device_id or new_device_id(),
                "device_name": device_name}

    def login_raw(self, user, **kw):
        return self.curl("POST", "/v1/auth/login", self.login_body(user, **kw))

    def login(self, user, device_id=None, device_name="test device"):
        """Logs @user in on @device_id (a new one if None); returns a
        Session, failing unless the answer is 200 with both tokens."""
        device_id = device_id or new_device_id()
        r = self.curl("POST", "/v1/auth/login",
                      self.login_body(user, device_id=device_id, device_name=device_name))
        body = r.expect(200, what=f"login of {user.practice}/{user.username}")
        for k in ("access_token", "refresh_token"):
            check(isinstance(body.get(k), str), f"login: no {k}: {r.describe()}")
        return Session(self, user, device_id, body)


def read_response(sock):
    """Reads one HTTP response from @sock: (status, headers, body bytes)."""
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    body = resp.read()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
