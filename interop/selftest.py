#!/usr/bin/env python3
"""Self-test of driver.py against a throwaway Connect-JSON server (http.server on 127.0.0.1).

Run with the venv's python (interop/setup.sh prints it):
    target/interop-venv/bin/python interop/selftest.py [--dump FILE]

Starts a tiny server on 127.0.0.1 (ephemeral port), runs driver.py on a scenario as a subprocess,
checks every output line and what the server received, prints the captured requests (path, query,
headers, body) and exits 0 on success. Bounded: everything stops after at most 90 s.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "selftest-token"

CAPTURED: list[dict] = []
LOCK = threading.Lock()
COUNTS: dict[str, int] = {}

POLICY = lambda gid, role: {"groupId": gid, "role": role, "runnerId": "r1"}  # noqa: E731

RUNNER = {
    "runnerId": "r1",
    "name": "my runner",
    "kind": "RUNNER_KIND_REMOTE",
    "provider": "RUNNER_PROVIDER_FUTURE_THING",  # unknown enum value
    "createdAt": "2024-01-02T03:04:05.123456789Z",  # nanoseconds
    "updatedAt": "2024-01-02T03:04:05Z",
    "status": {"phase": "RUNNER_PHASE_ACTIVE", "version": "1", "capabilities": ["RUNNER_CAPABILITY_X"]},
    "spec": {"configuration": {"region": "eu", "continuousProfiling": True}},  # field unknown to the SDK
    "somethingNew": {"a": [1, 2]},  # unknown top-level field
    "creator": None,  # explicit null
}


def connect_error(code: str, message: str) -> dict:
    return {"code": code, "message": message}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def _send(self, status: int, body, headers: dict | None = None, ctype="application/json"):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        self._send(405, connect_error("unimplemented", "GET not supported"))

    def do_POST(self):
        u = urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        query = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        with LOCK:
            CAPTURED.append(
                {
                    "method": self.command,
                    "path": u.path,
                    "raw_query": u.query,
                    "query": query,
                    "headers": dict(self.headers.items()),
                    "raw_body": raw.decode("utf-8", "replace"),
                    "body": body,
                }
            )
            COUNTS[u.path] = COUNTS.get(u.path, 0) + 1
            count = COUNTS[u.path]
        proc = u.path.rsplit("/", 2)[-2:]
        proc = "/".join(proc)
        b = body if isinstance(body, dict) else {}

        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(401, connect_error("unauthenticated", "bad token"))

        if proc == "gitpod.v1.RunnerService/CreateRunnerPolicy":
            return self._send(200, {"policy": POLICY(b.get("groupId"), b.get("role"))})
        if proc == "gitpod.v1.ProjectService/CreateProjectPolicy":
            return self._send(200, {"policy": {"groupId": b.get("groupId"), "role": b.get("role")}})
        if proc == "gitpod.v1.RunnerService/ListRunnerPolicies":
            # the SDK fetches page 2 with ?token= in the URL; query overrides the body's pagination
            token = query.get("token") or (b.get("pagination") or {}).get("token") or ""
            if token == "":
                return self._send(
                    200,
                    {"pagination": {"nextToken": "page-2"},
                     "policies": [POLICY("g1", "RUNNER_ROLE_ADMIN"), POLICY("g2", "RUNNER_ROLE_USER")]},
                )
            if token == "page-2":
                return self._send(200, {"pagination": {"nextToken": ""}, "policies": [POLICY("g3", "RUNNER_ROLE_USER")]})
            return self._send(400, connect_error("invalid_argument", f"bad token {token!r}"))
        if proc == "gitpod.v1.RunnerConfigurationService/ListEnvironmentClasses":
            # last page omits the (empty) items field, as ProtoJSON does; nextToken omitted too
            token = query.get("token", "")
            if token == "":
                return self._send(200, {"environmentClasses": [{"id": "ec1", "enabled": True}],
                                        "pagination": {"nextToken": "t2"}})
            return self._send(200, {"pagination": {}})
        if proc == "gitpod.v1.RunnerService/GetRunner":
            if b.get("runnerId") == "missing":
                return self._send(404, connect_error("not_found", "runner missing not found"))
            return self._send(200, {"runner": RUNNER})
        if proc in ("gitpod.v1.RunnerService/DeleteRunner", "gitpod.v1.RunnerService/UpdateRunner"):
            return self._send(200, {})
        if proc == "gitpod.v1.RunnerConfigurationService/CreateHostAuthenticationToken":
            return self._send(200, {"token": {"id": "t1", "expiresAt": b.get("expiresAt")}})
        if proc == "gitpod.v1.RunnerConfigurationService/ValidateRunnerConfiguration":
            return self._send(200, {"scmIntegration": {"valid": True}})
        if proc == "gitpod.v1.RunnerService/CreateRunnerLogsToken":  # 503 twice (retry-after-ms), then ok
            if count <= 2:
                return self._send(503, connect_error("unavailable", "try later"), {"retry-after-ms": "10"})
            return self._send(200, {"accessToken": "tok"})
        if proc == "gitpod.v1.RunnerService/CreateRunner":  # 409 always: does the SDK retry it?
            return self._send(409, connect_error("already_exists", "runner exists"), {"retry-after": "0.01"})
        if proc == "gitpod.v1.RunnerConfigurationService/GetRunnerConfigurationSchema":  # empty 200 body
            return self._send(200, b"")
        if proc == "gitpod.v1.RunnerService/CreateRunnerToken":  # non-JSON error body
            return self._send(502, b"bad gateway", ctype="text/plain")
        return self._send(404, connect_error("unimplemented", f"{proc} is not implemented"))


SCENARIO = [
    {"id": "create", "call": "runners.policies.create",
     "kwargs": {"runner_id": "r1", "group_id": "g9", "role": "RUNNER_ROLE_ADMIN"}},
    {"id": "list", "call": "runners.policies.list", "paginate": True,
     "kwargs": {"runner_id": "r1", "page_size": 2, "pagination": {"page_size": 2}}},
    {"id": "list-body-token", "call": "runners.policies.list", "paginate": True,
     "kwargs": {"runner_id": "r1", "pagination": {"token": "", "page_size": 2}}},
    {"id": "list-first-page-only", "call": "runners.policies.list", "kwargs": {"runner_id": "r1"}},
    {"id": "envclasses-missing-items", "call": "runners.configurations.environment_classes.list", "paginate": True,
     "kwargs": {"filter": {"runner_ids": ["r1"], "enabled": True}}},
    {"id": "not-found", "call": "runners.retrieve", "kwargs": {"runner_id": "missing"}, "expect_error": True},
    {"id": "get", "call": "runners.retrieve", "kwargs": {"runner_id": "r1"}},
    {"id": "update-nulls", "call": "runners.update", "kwargs": {"runner_id": "r1", "name": None, "spec": None}},
    {"id": "delete", "call": "runners.delete", "kwargs": {"runner_id": "r1", "force": True}},
    {"id": "hat-datetime", "call": "runners.configurations.host_authentication_tokens.create",
     "kwargs": {"runner_id": "r1", "expires_at": {"$datetime": "2025-01-02T03:04:05.5Z"}}},
    {"id": "hat-string", "call": "runners.configurations.host_authentication_tokens.create",
     "kwargs": {"runner_id": "r1", "expires_at": "2025-01-02T03:04:05.123456789Z"}},
    {"id": "validate-bytes", "call": "runners.configurations.validate",
     "kwargs": {"runner_id": "r1", "scm_integration": {"oauth_encrypted_client_secret": {"$bytes_io": "aGVsbG8="}}}},
    {"id": "validate-bytes-str", "call": "runners.configurations.validate",
     "kwargs": {"runner_id": "r1", "scm_integration": {"oauth_encrypted_client_secret": "aGVsbG8="}}},
    {"id": "retry-503", "call": "runners.create_logs_token", "kwargs": {"runner_id": "r1"},
     "options": {"max_retries": 2}},
    {"id": "retry-409", "call": "runners.create", "kwargs": {"name": "x"},
     "options": {"max_retries": 2}, "expect_error": True},
    {"id": "text-502", "call": "runners.create_runner_token", "kwargs": {"runner_id": "r1"}, "expect_error": True},
    {"id": "empty-200", "call": "runners.configurations.schema.retrieve", "kwargs": {"runner_id": "r1"},
     "expect_error": True},
    {"id": "project-policy", "call": "projects.policies.create",
     "kwargs": {"project_id": "p1", "group_id": "g1", "role": "PROJECT_ROLE_ADMIN"}},
]


def check(lines: dict[str, dict]) -> list[str]:
    bad: list[str] = []

    def expect(cond, what):
        if not cond:
            bad.append(what)

    for cid, line in lines.items():
        expect(line.get("as_expected"), f"{cid}: not as expected: {line}")
    expect(lines["create"]["result"] == {"policy": {"groupId": "g9", "role": "RUNNER_ROLE_ADMIN", "runnerId": "r1"}},
           "create result")
    expect([p["groupId"] for p in lines["list"]["result"]] == ["g1", "g2", "g3"] and lines["list"]["pages"] == 2,
           "list over 2 pages")
    expect([p["groupId"] for p in lines["list-body-token"]["result"]] == ["g1", "g2", "g3"], "list with body token")
    expect(lines["list-first-page-only"]["result"]["pagination"] == {"nextToken": "page-2"}, "first page envelope")
    expect(lines["envclasses-missing-items"]["result"] == [{"id": "ec1", "enabled": True}]
           and lines["envclasses-missing-items"]["pages"] == 2, "missing items field on last page")
    e = lines["not-found"]["error"]
    expect(e["type"] == "NotFoundError" and e["status"] == 404 and e["code"] == "not_found"
           and e["body"] == connect_error("not_found", "runner missing not found"), f"404 error: {e}")
    r = lines["get"]["result"]["runner"]
    expect(r["provider"] == "RUNNER_PROVIDER_FUTURE_THING", "unknown enum kept")
    expect(r["somethingNew"] == {"a": [1, 2]} and r["spec"]["configuration"]["continuousProfiling"] is True,
           "unknown fields kept")
    expect(r["createdAt"] == "2024-01-02T03:04:05.123456Z", f"nanos truncated to micros: {r['createdAt']}")
    expect(r["updatedAt"] == "2024-01-02T03:04:05Z", f"whole seconds: {r['updatedAt']}")
    expect("creator" in r and r["creator"] is None, "explicit null kept")
    expect(lines["hat-datetime"]["result"]["token"]["expiresAt"] == "2025-01-02T03:04:05.500000Z", "datetime echo")
    expect(lines["hat-string"]["result"]["token"]["expiresAt"] == "2025-01-02T03:04:05.123456Z", "string echo")
    expect(lines["delete"]["result"] == {}, "delete -> {}")
    expect(lines["retry-503"]["ok"] and COUNTS["/gitpod.v1.RunnerService/CreateRunnerLogsToken"] == 3, "503 retried twice")
    expect(COUNTS["/gitpod.v1.RunnerService/CreateRunner"] == 3, "SDK retries 409 (twice)")
    e = lines["text-502"]["error"]
    expect(e["type"] == "InternalServerError" and e["status"] == 502 and e["body"] == "bad gateway"
           and e["code"] is None, f"text 502: {e}")
    expect(lines["empty-200"]["error"]["type"] == "JSONDecodeError", "empty 200 body")
    expect(COUNTS["/gitpod.v1.RunnerService/CreateRunnerToken"] == 1, "--max-retries 0 default: no retry")
    return bad


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", help="write the captured requests and driver output as JSON to this file")
    args = ap.parse_args()

    signal.signal(signal.SIGALRM, lambda *_: (print("selftest: timed out", file=sys.stderr), os._exit(124)))
    signal.alarm(90)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(SCENARIO, f)
            scen = f.name
        proc = subprocess.run(
            [sys.executable, os.path.join(HERE, "driver.py"), "--base-url", f"http://127.0.0.1:{port}",
             "--token", TOKEN, scen],
            capture_output=True, text=True, timeout=60,
        )
        os.unlink(scen)
    finally:
        server.shutdown()
        server.server_close()

    print(f"driver exit {proc.returncode}")
    if proc.stderr:
        print("driver stderr:\n" + proc.stderr)
    out = [json.loads(l) for l in proc.stdout.splitlines() if l.strip()]
    for l in out:
        print("OUT " + json.dumps(l))
    for c in CAPTURED:
        print("REQ " + json.dumps(c))
    if args.dump:
        with open(args.dump, "w") as f:
            json.dump({"driver_output": out, "captured": CAPTURED}, f, indent=2)

    lines = {l["id"]: l for l in out}
    bad = [] if proc.returncode == 0 else [f"driver exit {proc.returncode}"]
    if [l["id"] for l in out] != [c["id"] for c in SCENARIO]:
        bad.append("one line per call, in order")
    else:
        bad += check(lines)
    for b in bad:
        print("FAIL " + b)
    print("selftest: " + ("FAILED" if bad else "ok"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
