"""Real HTTP servers on loopback for the tests of what city311 sends out (webhooks, forwards).

`Receiver` answers each POST as its `answer` says (a status code, or a delay to hang), keeping
what it received; it runs in a thread of the test process.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A webhook receiver: `status` to answer; `hang` seconds to wait before answering."""

    def __init__(self, status: int = 204, hang: float = 0.0) -> None:
        self.status = status
        self.hang = hang
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
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/city311"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    """The address of a receiver that is down: nothing listens there."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"
