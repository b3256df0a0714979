"""What one HTTP client may take from the server, bounded below the app: the request head's size and the time
to send it (a uvicorn protocol), malformed percent-encoding refused, and the security headers every answer
carries (an ASGI middleware). uvicorn's own errors answer in the API's JSON error shape."""
from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from urllib.parse import unquote_to_bytes

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from newssearch.limits import HEAD_TIMEOUT_S, MAX_HEAD_BYTES

# The page loads only its own script, style and API; inline script, plugins, <base> and framing are refused.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"  # JSON: nothing to run, never framed
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer")]
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def _json_error(status: int, message: str, parameter: str | None = None) -> bytes:
    body = {"error": message, "status": status, **({"parameter": parameter} if parameter else {})}
    return json.dumps(body).encode()


def _undecodable(part: bytes) -> str | None:
    """Why `part` (raw, from the URL) is not percent-encoded UTF-8, or None when it is."""
    if b"%" not in part and part.isascii():
        return None
    if _BAD_ESCAPE.search(part):
        return "a % not followed by two hex digits"
    try:
        unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8 once decoded"
    return None


def encoding_problem(raw_path: bytes, query: bytes) -> tuple[str, str | None] | None:
    """(message, parameter) when the path or a query parameter is not percent-encoded UTF-8, else None.
    Starlette would put U+FFFD in place of the bad bytes, and the search run on what was never asked."""
    for pair in query.split(b"&") if query else ():
        name, _, value = pair.partition(b"=")
        why = _undecodable(name) or _undecodable(value)
        if why:
            label = None if _undecodable(name) else unquote_to_bytes(name.replace(b"+", b" ")).decode()
            return f"{label or 'query'}: not valid percent-encoding ({why})", label
    why = _undecodable(raw_path)
    if why:
        parameter = "article_id" if raw_path.startswith(b"/articles/") else None
        return f"{parameter or 'path'}: not valid percent-encoding ({why})", parameter
    return None


class GuardMiddleware:
    """Refuses a path or query that is not percent-encoded UTF-8 (400), and adds the security headers to
    every answer (the page sets its own Content-Security-Policy)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        problem = encoding_problem(scope.get("raw_path") or scope["path"].encode(), scope.get("query_string", b""))
        if problem is not None:
            body = _json_error(400, *problem)
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                    (b"content-security-policy", API_CSP.encode()), *SECURITY_HEADERS]})
            await send({"type": "http.response.body", "body": body})
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"content-security-policy" for k, _ in headers):
                    headers.append((b"content-security-policy", API_CSP.encode()))
                message = {**message, "headers": headers + SECURITY_HEADERS}
            await send(message)

        await self.app(scope, receive, send_with_headers)


@lru_cache(maxsize=1)
def _limits() -> tuple[int, float]:
    settings = json.loads(os.environ.get("NEWSSEARCH_SERVE") or "{}")
    return settings.get("max_head_bytes", MAX_HEAD_BYTES), settings.get("head_timeout_s", HEAD_TIMEOUT_S)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with two bounds it lacks: a request head over MAX_HEAD_BYTES is refused
    (431) as it arrives, not read to the end, and a head not complete HEAD_TIMEOUT_S after it began (or
    after the connection opened) is answered 408 and the connection closed (slow-header clients). Its own
    400s answer in the API's JSON shape."""

    _head_timer = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._head_bytes = 0
        self._reading_head = True
        self._arm_head_timer()

    def connection_lost(self, exc) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._reading_head and self._head_bytes > _limits()[0] and not self.transport.is_closing():
            self._refuse(431, f"request line and headers over {_limits()[0] // 1024} KB")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._reading_head:
            self._reading_head, self._head_bytes = True, 0
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._reading_head, self._head_bytes = False, 0
        self._cancel_head_timer()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, msg)

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(_limits()[1], self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self._reading_head and not self.transport.is_closing():
            if self._head_bytes:
                self._refuse(408, f"request head not received within {_limits()[1]:g} s")
            else:
                self.transport.close()  # nothing sent: nothing to answer

    def _refuse(self, status: int, message: str) -> None:
        self._cancel_head_timer()
        body = _json_error(status, message)
        reason = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
        self.transport.write(b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                             b"connection: close\r\n\r\n%s" % (status, reason, len(body), body))
        self.transport.close()
