"""bench/http_client.py against a real HTTP server in a thread: GET, urlencoded and multipart POSTs (the server parses
them with the stdlib and echoes what it got), cookies set and deleted, chunked and until-EOF bodies, and status 0,
sent once only, when the connection breaks or the answer takes too long."""
from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from collections import Counter
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from bench import http_client

HITS: Counter = Counter()  # requests the server received, by path


def parts_of(content_type: str, body: bytes) -> list[dict]:
    """The parts of a multipart/form-data body, as the stdlib email parser reads them."""
    message = BytesParser(policy=policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    return [{"name": part.get_param("name", header="content-disposition"), "filename": part.get_filename(),
             "type": part.get_content_type() if part.get_filename() else None,
             "content": part.get_payload(decode=True).decode()} for part in message.iter_parts()]


class Handler(BaseHTTPRequestHandler):
    """Answers by path; /echo tells what it received."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        """Quiet."""

    def answer(self, payload: dict, status: int = 200, extra: tuple = ()) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        HITS[self.path] += 1
        self.route(b"")

    def do_POST(self) -> None:
        HITS[self.path] += 1
        self.route(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def route(self, body: bytes) -> None:
        """The answer of each test path."""
        if self.path == "/close":  # EOF before any header
            self.close_connection = True
        elif self.path == "/reset":  # RST before any header
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
        elif self.path == "/slow":
            time.sleep(1.0)
            self.answer({})
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in ("你好，".encode(), b"chunked ", b"world"):
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\nX-Trailer: 1\r\n\r\n")
        elif self.path == "/eof":  # no length: the body runs to the end of the connection
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"to the end \xff")
            self.close_connection = True
        elif self.path == "/set":
            self.answer({}, 302, (("Location", "/next"), ("Set-Cookie", "session=abc.def; Path=/; HttpOnly"),
                                  ("Set-Cookie", "theme=dark; Max-Age=3600")))
        elif self.path == "/delete":
            self.answer({}, extra=(("Set-Cookie", "session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; "
                                                  "Path=/"),))
        else:
            self.echo(body)

    def echo(self, body: bytes) -> None:
        content_type = self.headers.get("Content-Type", "")
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()} if "urlencoded" in content_type else None
        parts = parts_of(content_type, body) if content_type.startswith("multipart/") else None
        self.answer({"method": self.command, "path": self.path, "cookie": self.headers.get("Cookie"),
                     "connection": self.headers.get("Connection"), "form": form, "parts": parts})


@pytest.fixture(scope="module")
def base():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def fetch(*args, **kw) -> http_client.Response:
    return asyncio.run(http_client.request(*args, **kw))


def test_get_reads_status_headers_and_body(base):
    response = fetch("GET", base + "/page?q=1")
    assert response.status == 200 and response.header("content-type") == "application/json"
    echoed = json.loads(response.text())
    assert echoed["method"] == "GET" and echoed["path"] == "/page?q=1" and echoed["connection"] == "close"
    assert echoed["cookie"] is None and echoed["form"] is None


def test_non_ascii_target_is_percent_encoded(base):
    """gunicorn refuses a request target that is not printable ASCII."""
    echoed = json.loads(fetch("GET", base + "/org/cases/search?q=工资 a%2Fb").text())
    assert echoed["path"] == "/org/cases/search?q=%E5%B7%A5%E8%B5%84%20a%2Fb"


def test_urlencoded_post(base):
    response = fetch("POST", base + "/form", data={"q": "老板拖欠工资 & more", "csrf_token": "t=1"})
    assert json.loads(response.text())["form"] == {"q": "老板拖欠工资 & more", "csrf_token": "t=1"}


def test_multipart_post_with_fields_and_a_file(base):
    files = {"file": ("LB-s-1-1.pdf", "application/pdf", b"%PDF-1.4 body")}
    response = fetch("POST", base + "/upload", data={"csrf_token": "abc", "description": "聊天记录"}, files=files)
    assert json.loads(response.text())["parts"] == [
        {"name": "csrf_token", "filename": None, "type": None, "content": "abc"},
        {"name": "description", "filename": None, "type": None, "content": "聊天记录"},
        {"name": "file", "filename": "LB-s-1-1.pdf", "type": "application/pdf", "content": "%PDF-1.4 body"}]


def test_cookies_are_set_sent_and_deleted(base):
    jar: dict[str, str] = {}
    response = fetch("POST", base + "/set", data={}, cookies=jar)
    assert response.status == 302 and response.header("location") == "/next"
    assert jar == {"session": "abc.def", "theme": "dark"}
    assert json.loads(fetch("GET", base + "/echo", cookies=jar).text())["cookie"] == "session=abc.def; theme=dark"
    fetch("GET", base + "/delete", cookies=jar)
    assert jar == {"theme": "dark"}


@pytest.mark.parametrize("header, kept", [
    ("a=1", True), ("a=", False), ("a=1; Max-Age=0", False), ("a=1; max-age=-1", False),
    ("a=1; Max-Age=60", True), ("a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT", False),
    ("a=1; Expires=Fri, 01 Jan 2100 00:00:00 GMT", True), ("a=1; Expires=not a date", True)])
def test_set_cookie_attributes(header, kept):
    jar = {"a": "old", "b": "2"}
    http_client.update_cookies(jar, [header])
    assert jar == ({"a": "1", "b": "2"} if kept else {"b": "2"})


def test_chunked_body(base):
    response = fetch("GET", base + "/chunked")
    assert (response.status, response.text()) == (200, "你好，chunked world")


def test_body_up_to_eof_decoded_with_replacement(base):
    assert fetch("GET", base + "/eof").text() == "to the end \ufffd"


@pytest.mark.parametrize("path", ["/close", "/reset"])
def test_connection_broken_before_the_headers_is_status_0_and_not_resent(base, path):
    before = HITS[path]
    jar = {"session": "x"}
    assert fetch("GET", base + path, cookies=jar).status == 0
    assert HITS[path] - before == 1 and jar == {"session": "x"}


def test_timeout_is_status_0(base):
    before = HITS["/slow"]
    started = time.monotonic()
    assert fetch("GET", base + "/slow", seconds=0.3).status == 0
    assert time.monotonic() - started < 0.9 and HITS["/slow"] - before == 1


def test_refused_connection_is_status_0():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        assert fetch("GET", f"http://127.0.0.1:{port}/").status == 0
