"""The Node SDK drivers' preload (tests/sdks/node/proxy.cjs): `fetch`, `http`/`https` (with or without an agent of
the caller's) and worker threads all go through HTTPS_PROXY as CONNECT tunnels, a direct socket is refused, the
proxy variables are gone for the SDKs, and without a usable proxy nothing runs. Checked against a CONNECT-proxy
stub on 127.0.0.1 that tunnels every host to one local HTTPS server with a trustme certificate; one real driver
(mParticle) runs end to end through the same stub."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from conftest import needs

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "tests" / "sdks" / "node"
PRELOAD = NODE_DIR / "proxy.cjs"
SINK_HOST = "api.sdk-sink.test"  # never resolvable: only a tunnel through the stub can reach the server
BOUND = 120  # seconds a node process may take before the test gives up: a guard against hanging, not a timing


def _node_missing() -> list[str]:
    missing = [] if shutil.which("node") else ["node"]
    for package in ("undici", "https-proxy-agent", "mparticle"):
        if not (ROOT / "node_modules" / package / "package.json").exists():
            missing.append(f"npm {package}")
    return missing


@dataclass
class Recorded:
    """What the HTTPS server received: one dict per request (method, path, host, body)."""

    requests: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _https_server(ca: trustme.CA, hosts: list[str], record: Recorded) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with record.lock:
                record.requests.append({"method": self.command, "path": self.path,
                                        "host": self.headers.get("Host"), "body": body})
            payload = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*hosts).configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class ConnectStub:
    """An HTTP proxy on 127.0.0.1 that only speaks CONNECT: it records each target and tunnels it to one local
    port, whatever the host (as `mouchard proxy` maps production hosts to a sink)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.targets: list[str] = []
        self.refused: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, _, rest = line.partition(" ")
        if method != "CONNECT":
            self.refused.append(line)
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            client.close()
            return
        self.targets.append(rest.split(" ", 1)[0])
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        leftover = head.split(b"\r\n\r\n", 1)[1]
        if leftover:
            upstream.sendall(leftover)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


@dataclass
class Lab:
    ca_pem: Path
    server: ThreadingHTTPServer
    stub: ConnectStub
    record: Recorded

    @property
    def server_port(self) -> int:
        return self.server.server_address[1]

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment: the stub as HTTPS_PROXY (unless overridden), the test CA for Node."""
        env = {k: v for k, v in os.environ.items()
               if k.lower() not in ("https_proxy", "http_proxy", "all_proxy", "no_proxy", "node_options")}
        env.update(HTTPS_PROXY=f"http://127.0.0.1:{self.stub.port}", NODE_EXTRA_CA_CERTS=str(self.ca_pem))
        env.update(extra)
        return {k: v for k, v in env.items() if v != ""}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    needs(_node_missing(), "run `npm install` (scripts/setup.sh)")
    ca = trustme.CA(organization_name="mouchard sdk sink")
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    record = Recorded()
    server = _https_server(ca, [SINK_HOST, "s2s.mparticle.com"], record)
    stub = ConnectStub(server.server_address[1])
    try:
        yield Lab(ca_pem, server, stub, record)
    finally:
        stub.close()
        server.shutdown()
        server.server_close()


def _node(lab: Lab, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["node", "--require", str(PRELOAD), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=BOUND)


PROBE = """
import https from 'node:https';
import net from 'node:net';
import { Worker } from 'node:worker_threads';

const post = (url, body, agent) => new Promise((resolve, reject) => {
  const request = https.request(url, { method: 'POST', agent }, (response) => {
    response.resume();
    response.on('end', () => resolve(response.statusCode));
  });
  request.on('error', reject);
  request.end(body);
});
const out = {};
out.fetch = (await fetch('https://HOST/fetch', { method: 'POST', body: 'via-fetch' })).status;
out.https = await post('https://HOST/https', 'via-https');
out.own_agent = await post('https://HOST/own-agent', 'via-own-agent', new https.Agent({ keepAlive: true }));
out.worker = await new Promise((resolve, reject) => {
  const worker = new Worker(`fetch('https://HOST/worker', { method: 'POST', body: 'via-worker' })
    .then((r) => require('node:worker_threads').parentPort.postMessage(r.status))`, { eval: true });
  worker.once('message', resolve);
  worker.once('error', reject);
});
out.direct = await new Promise((resolve) => {
  const socket = net.connect(PORT, '127.0.0.1');
  socket.on('connect', () => { socket.destroy(); resolve('connected'); });
  socket.on('error', (error) => resolve(error.code));
});
out.env = ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy', 'NO_PROXY'].filter((name) => name in process.env);
console.log(JSON.stringify(out));
"""


def test_preload_tunnels_fetch_https_and_workers_through_the_proxy(lab: Lab, tmp_path: Path) -> None:
    probe = tmp_path / "probe.mjs"
    probe.write_text(PROBE.replace("HOST", SINK_HOST).replace("PORT", str(lab.server_port)))
    done = _node(lab, [str(probe)], lab.env(HTTP_PROXY=f"http://127.0.0.1:{lab.stub.port}", NO_PROXY="localhost"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"fetch": 200, "https": 200, "own_agent": 200, "worker": 200,
                                       "direct": "EMOUCHARDDIRECT", "env": []}
    assert lab.stub.targets == [f"{SINK_HOST}:443"] * 4
    assert lab.stub.refused == []
    got = sorted((r["method"], r["path"], r["host"], r["body"]) for r in lab.record.requests)
    assert got == [("POST", "/fetch", SINK_HOST, b"via-fetch"), ("POST", "/https", SINK_HOST, b"via-https"),
                   ("POST", "/own-agent", SINK_HOST, b"via-own-agent"),
                   ("POST", "/worker", SINK_HOST, b"via-worker")]


@pytest.mark.parametrize("proxy", ["", "not a url", "https://127.0.0.1:3128", "socks5://127.0.0.1:1080", "http://"])
def test_preload_refuses_to_run_without_a_usable_proxy(lab: Lab, tmp_path: Path, proxy: str) -> None:
    probe = tmp_path / "probe.mjs"
    probe.write_text(f"await fetch('https://{SINK_HOST}/must-not-leave'); console.log('sent');\n")
    done = _node(lab, [str(probe)], lab.env(HTTPS_PROXY=proxy))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("proxy.cjs: ") and "HTTPS_PROXY" in done.stderr
    assert lab.stub.targets == [] and lab.record.requests == []


def test_mparticle_driver_sends_the_planted_email_through_the_preload(lab: Lab, tmp_path: Path) -> None:
    from tests.sdks.values import export, planted

    values = export(tmp_path / "values.json")
    email = planted()["email"]
    done = _node(lab, [str(NODE_DIR / "mparticle.mjs"), str(values), "email"], lab.env())
    assert done.returncode == 0, done.stderr
    version = json.loads((ROOT / "node_modules" / "mparticle" / "package.json").read_text())["version"]
    assert json.loads(done.stdout) == {"sdk": "mparticle", "version": version, "sent": ["email"],
                                       "where": {"email": "batch.user_identities.email"}}
    assert lab.stub.targets == ["s2s.mparticle.com:443"]
    [request] = lab.record.requests
    assert (request["method"], request["path"], request["host"]) == ("POST", "/v2/events", "s2s.mparticle.com")
    batch = json.loads(request["body"])
    assert batch["user_identities"] == {"customerid": "player-4821", "email": email}
    assert "android_advertising_id" not in batch["device_info"] and "user_attributes" not in batch


def test_driver_refuses_to_run_without_the_preload(lab: Lab, tmp_path: Path) -> None:
    from tests.sdks.values import export

    values = export(tmp_path / "values.json")
    done = subprocess.run(["node", str(NODE_DIR / "mparticle.mjs"), str(values), "email"], cwd=ROOT, env=lab.env(),
                          capture_output=True, text=True, timeout=BOUND)
    assert done.returncode == 2 and done.stdout == ""
    assert "--require tests/sdks/node/proxy.cjs" in done.stderr
    assert lab.stub.targets == [] and lab.record.requests == []
