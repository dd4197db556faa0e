"""Real HTTP servers on loopback for the tests of what city311 sends out (webhooks, forwards).

`Receiver` answers each POST as its `answer` says (a status code, or a delay to hang), keeping
what it received; it runs in a thread of the test process.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A webhook receiver: `status` to answer; `hang` seconds to wait before answering; `tls`:
    served over https with that context's certificate."""

    def __init__(
        self, status: int = 204, hang: float = 0.0, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.status = status
        self.hang = hang
        self.tls = tls
        # Extra headers to answer with (a redirect's location).
        self.answer_headers: dict[str, str] = {}
        self.received: list[Received] = []
        # Called per POST before answering; may change `status` (fail n times, then recover).
        self.before: Callable[[Receiver], None] | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                if receiver.before:
                    receiver.before(receiver)
                if receiver.hang:
                    time.sleep(receiver.hang)
                self.send_response(receiver.status)
                for name, value in receiver.answer_headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return self.url_at("127.0.0.1")

    def url_at(self, host: str) -> str:
        """Its address under another name (one tests/fakedns.py answers)."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.server.server_address[1]}/hooks/city311"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    """The address of a receiver that is down: nothing listens there."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


class GeoReportServer:
    """A small GeoReport v2 server (a contractor's work-order system): files what is posted to
    /requests.json, lists /servicerequestupdates.json as the test writes `updates`, answers
    /requests.json?service_request_id= and /tokens/<token>.json. `down` POSTs answer 503;
    `feed=False`: no updates feed (404); `tokens=True`: a POST answers a token only."""

    def __init__(self, *, feed: bool = True, tokens: bool = False) -> None:
        self.feed, self.tokens, self.down, self.refuse = feed, tokens, 0, ""
        self.posted: list[dict[str, list[str]]] = []
        self.updates: list[dict[str, object]] = []
        self.statuses: dict[str, dict[str, object]] = {}
        self.reads: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                if server.down:
                    server.down -= 1
                    return self.answer(503, [{"code": 503, "description": "Down for upkeep"}])
                if server.refuse:
                    return self.answer(400, [{"code": 400, "description": server.refuse}])
                server.posted.append(form)
                remote_id = f"CW-{len(server.posted)}"
                server.statuses[remote_id] = {"service_request_id": remote_id, "status": "open"}
                if server.tokens:
                    return self.answer(201, [{"token": f"tok-{remote_id}"}])
                return self.answer(201, [{"service_request_id": remote_id}])

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                server.reads.append(self.path)
                if url.path.endswith("/servicerequestupdates.json") and server.feed:
                    return self.answer(200, server.updates)
                if url.path.endswith("/requests.json"):
                    ids = ",".join(query.get("service_request_id", [""])).split(",")
                    return self.answer(
                        200, [server.statuses[i] for i in ids if i in server.statuses]
                    )
                if "/tokens/" in url.path:
                    token = url.path.rsplit("/", 1)[-1].removesuffix(".json")
                    remote_id = token.removeprefix("tok-")
                    return self.answer(200, [{"token": token, "service_request_id": remote_id}])
                return self.answer(404, [{"code": 404, "description": "No such resource"}])

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/open311/v2/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
