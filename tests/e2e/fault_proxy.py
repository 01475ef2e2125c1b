"""A fault-injecting proxy in front of the emulator, on 127.0.0.1: set as one function's AWS_ENDPOINT_URL, it passes
every request through unchanged (its Host header too, so signatures hold) except, while a service is `down`, the
requests for that service, which get the answer AWS gives when it is unavailable."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# How a JSON-protocol request names its service: the X-Amz-Target prefix.
TARGETS = {"glue": "AWSGlue.", "kms": "TrentService.", "dynamodb": "DynamoDB_", "events": "AWSEvents."}


class FaultProxy:
    """The proxy's switch and what it saw."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname is not None and parts.port is not None, upstream
        self.host, self.port = parts.hostname, parts.port
        self.down: set[str] = set()
        self.refused = 0
        self.passed = 0
        self._lock = threading.Lock()

    def answers_for(self, target: str) -> bool:
        return not any(target.startswith(TARGETS[service]) for service in self.down)

    def count(self, refused: bool) -> None:
        with self._lock:
            if refused:
                self.refused += 1
            else:
                self.passed += 1


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not proxy.answers_for(self.headers.get("X-Amz-Target", "")):
                proxy.count(refused=True)
                answer = json.dumps({"__type": "ServiceUnavailableException",
                                     "message": "injected by the test's fault proxy"}).encode()
                self.send_response(503)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                return
            proxy.count(refused=False)
            upstream = http.client.HTTPConnection(proxy.host, proxy.port, timeout=120)
            try:
                upstream.request(self.command, self.path, body=body,
                                 headers={k: v for k, v in self.headers.items() if k.lower() != "connection"})
                response = upstream.getresponse()
                payload = response.read()
            finally:
                upstream.close()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _relay

    return Handler


@contextmanager
def fault_proxy(upstream: str) -> Iterator[tuple[FaultProxy, str]]:
    """A running proxy in front of `upstream` and its endpoint URL; stopped afterwards."""
    proxy = FaultProxy(upstream)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield proxy, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
