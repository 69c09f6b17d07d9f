"""The local web server of the review page: 127.0.0.1 only, a random token, nothing else.

Who may talk to it: a request must name this computer in its Host header
(127.0.0.1 or localhost, with our port: a web page elsewhere cannot reach it
through DNS rebinding), carry the access token printed at start (query
``token=`` or header ``X-Minorguard-Token``), and for a decision send JSON from
our own origin. Anything else gets 403 before any data is read.
"""

from __future__ import annotations

import hmac
import json
import secrets
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from consent_db.errors import RegisterError
from minorguard.locale import t
from minorguard.photos.file_names import json_text, shown
from minorguard.review.app import ReviewApp, ReviewProblem
from minorguard.review.page import render_page

__all__ = ["ReviewServer"]

_MAX_BODY = 64 * 1024
# pictures may stay in this browser's cache a while (their URL carries the file's sha256); nothing else is cached
_PRIVATE_CACHE = {"Cache-Control": "private, max-age=600"}
_LOCAL_NAMES = ("127.0.0.1", "localhost")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # one request per connection: nothing idles in a worker thread, so Ctrl-C can wait for them all
    protocol_version = "HTTP/1.0"
    timeout = 15
    server_version = "minorguard-review"
    sys_version = ""

    # -- gatekeeping --------------------------------------------------------
    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
        if not name:
            name, port = port, ""
        return name in _LOCAL_NAMES and port in ("", str(self.server.port))

    def _token_ok(self, query: dict[str, list[str]]) -> bool:
        given = self.headers.get("X-Minorguard-Token") or (query.get("token") or [""])[0]
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.server.token.encode())

    def _origin_ok(self) -> bool:
        origin = self.headers.get("Origin")
        if origin is None:
            return True  # not a browser cross-site request (browsers always send Origin on POST)
        return origin in {f"http://{name}:{self.server.port}" for name in _LOCAL_NAMES}

    def _gate(self) -> tuple[str, dict[str, list[str]]] | None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if not self._host_ok():
            self._refuse(HTTPStatus.FORBIDDEN, "review.http.not_local")
            return None
        if not self._token_ok(query):
            self._refuse(HTTPStatus.FORBIDDEN, "review.http.bad_token")
            return None
        return parts.path, query

    # -- answers ------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if "Cache-Control" not in (extra or {}):
            self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")  # the token is in the URL
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json_text(payload).encode("utf-8"), "application/json; charset=utf-8")

    def _send_error(self, status: int, message: str, code: str | None = None, field: str | None = None) -> None:
        if self.path.startswith("/api/") or self.command == "POST":
            # "error" is the line the page shows; "code" (the message's catalogue key) and "field", when there are
            # some, are for a program: they stay the same in every language
            extra = {k: v for k, v in (("code", code), ("field", field)) if v is not None}
            self._send_json(status, {"error": message, **extra})
        else:
            self._send(status, shown(message + "\n").encode("utf-8"), "text/plain; charset=utf-8")

    def _refuse(self, status: int, key: str, **values: Any) -> None:
        """An error in the page's language (its toast shows it); the message's key is its code."""
        self._send_error(status, t(key, self.server.app.lang, **values), key)

    def do_GET(self) -> None:
        gate = self._gate()
        if gate is None:
            return
        path, query = gate
        app = self.server.app
        try:
            if path == "/":
                nonce = secrets.token_urlsafe(16)
                csp = (
                    f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
                    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
                )
                body = render_page(nonce, app.lang).encode("utf-8")
                self._send(200, body, "text/html; charset=utf-8", {"Content-Security-Policy": csp})
            elif path == "/api/state":
                self._send_json(200, app.state())
            elif path == "/api/children":
                self._send_json(200, {"children": app.search_children((query.get("q") or [""])[0])})
            elif path.startswith("/photo/") and path.endswith(".jpg"):
                self._send(200, app.preview(int(path[len("/photo/") : -4])), "image/jpeg", _PRIVATE_CACHE)
            elif path.startswith("/face/") and path.endswith(".jpg"):
                photo, face = path[len("/face/") : -4].split("/", 1)
                self._send(200, app.face_crop(int(photo), int(face)), "image/jpeg", _PRIVATE_CACHE)
            else:
                self._refuse(404, "review.http.not_found")
        except ReviewProblem as problem:
            self._send_error(problem.status, problem.message, problem.code, problem.field)
        except ValueError:
            self._refuse(404, "review.http.not_found")
        except ConnectionError:
            raise
        except RegisterError as error:  # the register's key replaced, the register gone: its own line, as on the console
            self._send_error(503, error.text(app.lang), f"register.{error.code}")
        except Exception as error:
            self._refuse(500, "review.http.failed", error=f"{type(error).__name__}: {error}")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        gate = self._gate()
        if gate is None:
            return
        path, _ = gate
        if not self._origin_ok():
            self._refuse(HTTPStatus.FORBIDDEN, "review.http.cross_origin")
            return
        if path != "/api/decide":
            self._refuse(404, "review.http.not_found")
            return
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            self._refuse(415, "review.http.not_json")
            return
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if not 0 < length <= _MAX_BODY:
            self._refuse(413 if length > _MAX_BODY else 400, "review.http.body_size")
            return
        try:
            payload = json.loads(self.rfile.read(length).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            payload = None
        if not isinstance(payload, dict):
            self._refuse(400, "review.http.bad_json")
            return
        try:
            if "group" in payload:  # one decision about one person: every face of theirs
                self._send_json(200, self.server.app.decide_group(payload))
            else:
                self._send_json(200, {"photo": self.server.app.decide(payload)})
        except ReviewProblem as problem:
            self._send_error(problem.status, problem.message, problem.code, problem.field)
        except ConnectionError:
            raise
        except RegisterError as error:
            self._send_error(503, t("review.not_saved", self.server.app.lang, error=error.text(self.server.app.lang)), f"register.{error.code}")
        except Exception as error:
            self._send_error(500, t("review.not_saved", self.server.app.lang, error=f"{type(error).__name__}: {error}"))

    def log_message(self, format: str, *args: Any) -> None:
        # the query string holds the token: never log request lines
        if self.server.verbose:
            sys.stderr.write(f"review: {self.command} {urlsplit(self.path).path} {args[1] if len(args) > 1 else ''}\n")


class _Server(ThreadingHTTPServer):
    # a decision being written when Ctrl-C comes is finished, not cut: close() joins the workers
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: ReviewApp, token: str, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.token = token
        self.verbose = verbose

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request, client_address) -> None:
        """One line instead of a traceback; a browser that went away (reload, closed tab) is not an error."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        sys.stderr.write(f"review: request failed: {type(error).__name__}: {error}\n")


class ReviewServer:
    """Serves ``app`` on 127.0.0.1; ``url`` holds the access token.

    >>> server = ReviewServer(app)          # doctest: +SKIP
    >>> server.serve_forever()               # until Ctrl-C / shutdown()
    """

    def __init__(self, app: ReviewApp, port: int = 0, token: str | None = None, verbose: bool = False) -> None:
        self.token = token or secrets.token_urlsafe(24)
        # bound to loopback only: the page is for the person at this computer
        self._server = _Server(("127.0.0.1", port), app, self.token, verbose)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> ReviewServer:
        """Serve on a background thread (tests, embedding)."""
        self._thread = threading.Thread(target=self.serve_forever, name="minorguard-review", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting requests, let running ones finish, close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
