"""A small HTTP/1.1 client on plain asyncio streams, for the load benches (bench/load.py, bench/ceiling.py,
bench/calibrate.py), which run on the same machine as the server they measure: every millisecond of the client's
CPU is taken from the server. It does the little the benches need and nothing more: in bench/load.py the client's
CPU per request went from 1.26 ms with aiohttp to about 0.8 ms, and to 0.39-0.44 ms on uvloop with Debian's
python3.11 (run() below). Most of what is left is the kernel's work for a new loopback TCP connection per request.

One request per TCP connection (`Connection: close`; gunicorn's sync workers close after each answer anyway).
GET, and POST with an urlencoded form or multipart/form-data (fields and files). The status line, the headers and
the whole body are read (Content-Length, chunked, or up to EOF). Redirects are not followed. A request is never
sent twice: a broken connection (refused, reset, EOF before the whole answer, a malformed answer, the timeout)
comes back as a Response with status 0.

    response = await request("POST", "http://127.0.0.1:8000/login", data={"username": "x"}, cookies=jar)
    response.status, response.header("location"), response.text()
"""
from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlencode, urlsplit


def run(coroutine):
    """asyncio.run on uvloop's event loop when it is installed (requirements-dev.txt): its loop and transports cost
    the client less CPU than asyncio's own, CPU the server sharing the machine then has."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


TIMEOUT = 30.0  # seconds for the whole request: connect, send, read the answer
NO_BODY = (204, 304)
TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"  # kept as they are in a request target (RFC 3986's reserved characters and %)
BROKEN = (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


@dataclass
class Response:
    """An answer: status (0 when the connection broke), headers (lower-case names, in order) and the raw body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        """The first header of that (lower-case) name."""
        for key, value in self.headers:
            if key == name:
                return value
        return default

    def header_list(self, name: str) -> list[str]:
        """Every header of that (lower-case) name (Set-Cookie comes once per cookie)."""
        return [value for key, value in self.headers if key == name]

    def text(self) -> str:
        """The body as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")


def _quote(value: str) -> str:
    """A name or file name inside a multipart header's quotes (as browsers escape it)."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def multipart(data: dict[str, str], files: dict[str, tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body of the fields and the files ({name: (filename, content type, bytes)}), and its
    Content-Type (with a random boundary)."""
    boundary = "----jiefen" + secrets.token_hex(16)
    parts = []
    for name, value in data.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()
                     + str(value).encode() + b"\r\n")
    for name, (filename, content_type, content) in files.items():
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"; '
                f'filename="{_quote(filename)}"\r\nContent-Type: {content_type}\r\n\r\n')
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def encode_request(method: str, url: str, data: dict[str, str] | None = None,
                   files: dict[str, tuple[str, str, bytes]] | None = None,
                   headers: dict[str, str] | None = None) -> tuple[str, int, bytes]:
    """(host, port, the request's bytes): request line, headers and body in one buffer."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"only plain http:// URLs, not {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not target.isascii() or " " in target:  # gunicorn refuses (400) a target that is not printable ASCII
        target = quote(target, safe=TARGET_SAFE)  # UTF-8, percent-encoded, as browsers send it
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close", "Accept: */*"]
    body = b""
    if files:
        body, content_type = multipart(data or {}, files)
        lines.append(f"Content-Type: {content_type}")
    elif data is not None:
        body = urlencode(data).encode("ascii")
        lines.append("Content-Type: application/x-www-form-urlencoded")
    if body or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return parts.hostname, parts.port or 80, head + body


def parse_head(head: bytes) -> tuple[int, list[tuple[str, str]]]:
    """(status, headers) of a response's head (status line and header lines, CRLF-separated); ValueError if it is
    not HTTP."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit() or rest[3:4] not in ("", " "):
        raise ValueError(f"not an HTTP status line: {lines[0]!r}")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"not a header line: {line!r}")
        headers.append((name.strip().lower(), value.strip()))
    return int(code), headers


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A chunked body (chunk extensions and trailers ignored)."""
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, up to the empty line
                pass
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise ValueError("a chunk not followed by CRLF")


async def read_response(reader: asyncio.StreamReader, method: str) -> Response:
    """Status line, headers and the whole body."""
    status, headers = parse_head((await reader.readuntil(b"\r\n\r\n"))[:-4])
    response = Response(status, headers)
    if method == "HEAD" or status in NO_BODY or 100 <= status < 200:
        return response
    if "chunked" in response.header("transfer-encoding").lower():
        response.body = await read_chunked(reader)
    elif (length := response.header("content-length")) != "":
        response.body = await reader.readexactly(int(length))
    else:
        response.body = await reader.read()  # up to EOF
    return response


def cookie_header(cookies: dict[str, str]) -> str:
    """The Cookie header for a jar ({name: value})."""
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def update_cookies(cookies: dict[str, str], set_cookies: list[str], now: float | None = None) -> None:
    """Apply Set-Cookie header values to the jar: name=value stores; an empty value, Max-Age=0 (or less) or an
    Expires in the past deletes. The value is kept as sent (quotes included, as browsers do). Other attributes
    (Path, Domain, Secure, HttpOnly, SameSite) are ignored: the benches talk to one host."""
    now = time.time() if now is None else now
    for line in set_cookies:
        pair, *attributes = line.split(";")
        name, eq, value = pair.partition("=")
        name = name.strip()
        if not eq or not name:
            continue
        gone = not value.strip()
        for attribute in attributes:
            key, _, arg = attribute.partition("=")
            key, arg = key.strip().lower(), arg.strip()
            if key == "max-age" and arg.lstrip("-").isdigit():
                gone = gone or int(arg) <= 0
            elif key == "expires":
                gone = gone or _expired(arg, now)
        if gone:
            cookies.pop(name, None)
        else:
            cookies[name] = value.strip()


def _expired(date: str, now: float) -> bool:
    """Whether an Expires date is in the past (an unreadable date is not)."""
    try:
        return parsedate_to_datetime(date).timestamp() <= now
    except (TypeError, ValueError, IndexError):
        return False


async def request(method: str, url: str, *, data: dict[str, str] | None = None,
                  files: dict[str, tuple[str, str, bytes]] | None = None, headers: dict[str, str] | None = None,
                  cookies: dict[str, str] | None = None, seconds: float = TIMEOUT) -> Response:
    """One request on a new connection, never resent: the answer, or status 0 when the connection broke or the
    whole exchange took longer than `seconds`. `cookies` (a jar kept by the caller) is sent and updated
    from the answer's Set-Cookie headers."""
    headers = dict(headers or {})
    if cookies:
        headers["Cookie"] = cookie_header(cookies)
    host, port, raw = encode_request(method, url, data, files, headers)
    writer = None
    try:
        async with asyncio.timeout(seconds):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(raw)
            await writer.drain()
            response = await read_response(reader, method)
    except BROKEN:
        return Response(0)
    finally:
        if writer is not None:
            writer.close()
    if cookies is not None:
        update_cookies(cookies, response.header_list("set-cookie"))
    return response
