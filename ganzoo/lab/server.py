"""The live lab's HTTP server: the standard library's ``ThreadingHTTPServer`` in front of a :class:`LiveSession`.

It serves one page and a small JSON API, nothing else (no files from disk):

- ``GET /``: the live page; ``GET /api/state``: the session's state;
- ``GET /api/frames?version=V&since=N``: frames the page does not have yet;
- ``POST /api/action`` ``{"do": "play" | "pause" | "d_step" | "g_step" | "step" | "reset"}``;
- ``POST /api/settings`` ``{"lr_g": .., "lr_d": .., "loss": .., "n_critic": .., "every": ..}`` (any of them);
- ``POST /api/save`` ``{}``: write the page of what was watched to the path the server was given.

Every parameter is checked: a bad one gets HTTP 400 and ``{"error": "one line"}``. Bound to a loopback address it
answers only requests addressed to one (no DNS rebinding) and POSTs only as JSON from its own page (no cross-site
form posts).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ganzoo.errors import GanzooError
from ganzoo.lab.session import LiveSession

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_BODY = 16 * 1024


class BadRequest(Exception):
    """A request refused with ``status`` and a one-line message."""

    def __init__(self, message: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = status


class LabServer(ThreadingHTTPServer):
    """Serves ``session`` at ``(host, port)`` (port 0: any free one); ``save_to`` is where ``/api/save`` writes."""

    daemon_threads = True  # a hanging browser connection never keeps the process alive

    def __init__(self, session: LiveSession, host: str, port: int, save_to: Path,
                 log: Callable[[str], None] | None = None) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.session, self.save_to, self.log = session, Path(save_to), log
        self.loopback_only = host in LOOPBACK
        super().__init__((host, port), Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


def _query_int(query: dict[str, list[str]], name: str) -> int:
    values = query.get(name)
    if not values or len(values) != 1:
        raise BadRequest(f"give exactly one {name}=N")
    try:
        return int(values[0])
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, got {values[0]!r}") from None


class Handler(BaseHTTPRequestHandler):
    """Routes the page's requests to the session."""

    server: LabServer
    server_version = "ganzoo-lab"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the standard library's signature
        if self.server.log is not None:
            self.server.log(format % args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, allow_nan=False).encode(), "application/json")

    def _check_origin(self) -> None:
        """On loopback, refuse requests that name another host (DNS rebinding) or come from another site."""
        if not self.server.loopback_only:
            return
        port = self.server.server_address[1]
        allowed = {f"{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]")}
        if self.headers.get("Host", "") not in allowed:
            raise BadRequest("this lab answers only at its loopback address", HTTPStatus.FORBIDDEN)
        origin = self.headers.get("Origin")
        if origin is not None and origin.removeprefix("http://") not in allowed:
            raise BadRequest("requests from other sites are refused", HTTPStatus.FORBIDDEN)

    def _body(self) -> Any:
        if self.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
            raise BadRequest("send JSON (Content-Type: application/json)", HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise BadRequest("a POST needs a Content-Length", HTTPStatus.LENGTH_REQUIRED) from None
        if not 0 <= length <= MAX_BODY:
            raise BadRequest(f"the body must be at most {MAX_BODY} bytes", HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest(f"the body is not JSON: {exc}") from None

    def _handle(self, route: Callable[[], None]) -> None:
        try:
            self._check_origin()
            route()
        except BadRequest as exc:
            self._json(exc.status, {"error": str(exc)})
        except GanzooError as exc:  # the session's refusals: bad parameters, actions that cannot be taken now
            self._json(HTTPStatus.BAD_REQUEST, {"error": " ".join(str(exc).split())})
        except Exception as exc:  # noqa: BLE001 - one request fails, the server stays up
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {type(exc).__name__}: {exc}"})

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        self._handle(self._get)

    def do_POST(self) -> None:  # noqa: N802 - the standard library's name
        self._handle(self._post)

    def _get(self) -> None:
        url = urlsplit(self.path)
        session = self.server.session
        query = parse_qs(url.query, keep_blank_values=True)
        if url.path in ("/", "/index.html"):
            if query:
                raise BadRequest("the page takes no parameters")
            self._send(HTTPStatus.OK, session.page().encode(), "text/html; charset=utf-8")
        elif url.path == "/api/state":
            self._json(HTTPStatus.OK, session.state())
        elif url.path == "/api/frames":
            if set(query) - {"version", "since"}:
                raise BadRequest(f"unknown parameter {sorted(set(query) - {'version', 'since'})[0]!r}")
            self._json(HTTPStatus.OK, session.frames(_query_int(query, "version"), _query_int(query, "since")))
        else:
            raise BadRequest(f"nothing at {url.path}", HTTPStatus.NOT_FOUND)

    def _post(self) -> None:
        url = urlsplit(self.path)
        if url.query:
            raise BadRequest("send parameters in the JSON body, not the URL")
        session = self.server.session
        if url.path == "/api/action":
            body = self._body()
            if not isinstance(body, dict) or set(body) != {"do"}:
                raise BadRequest('send {"do": ACTION}')
            self._json(HTTPStatus.OK, {"live": session.act(body["do"])})
        elif url.path == "/api/settings":
            self._json(HTTPStatus.OK, {"live": session.update(self._body())})
        elif url.path == "/api/save":
            if self._body() not in ({}, None):
                raise BadRequest("/api/save takes no parameters: the server writes to its --out path")
            path = session.save(self.server.save_to)
            self._json(HTTPStatus.OK, {"path": str(path), "frames": session.state()["frames"]})
        else:
            raise BadRequest(f"nothing at {url.path}", HTTPStatus.NOT_FOUND)
