"""Local stand-ins for the workforce tool's tests.

- Liquid with Ground Truth's extra filters (python-liquid; ``grant_read_access``
  supplied by the test, since it presigns S3 URIs in the real service);
- ``clickseg serve`` on a free port, the local SageMaker endpoint;
- API Gateway on 127.0.0.1: HTTP requests become REST-API proxy events for a
  Lambda handler, next to a few static files.
"""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from liquid import Environment

from clickseg_widget.serving.server import ServerProcess

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def liquid_environment(grant_read_access: Callable[[str], str]) -> Environment:
    """Liquid as Ground Truth runs it: autoescaped output, ``to_json`` and ``grant_read_access``."""
    env = Environment(autoescape=True)
    env.filters["to_json"] = json.dumps
    env.filters["grant_read_access"] = grant_read_access
    return env


@contextmanager
def endpoint_server(endpoint_name: str, backend: str = "grabcut") -> Iterator[str]:
    """``clickseg serve`` in a child process answering one endpoint name; yields its base URL."""
    with ServerProcess(["--backend", backend, "--endpoint-name", endpoint_name, "--threads", "2"]) as server:
        yield server.url


def rest_api_event(method: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """An API Gateway REST API (payload 1.0) Lambda proxy event."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": path, "httpMethod": method, "stage": "prod", "requestId": "local"},
        "body": body.decode("utf-8") if body else None,
        "isBase64Encoded": False,
    }


class ApiGateway:
    """127.0.0.1 HTTP server: ``routes`` map paths to Lambda handlers, ``files`` to (content type, bytes)."""

    def __init__(self, routes: dict[str, Callable[[dict, Any], dict]], files: dict[str, tuple[str, bytes]] | None = None):
        self.routes, self.files = routes, dict(files or {})
        self.events: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = urlsplit(self.path).path
                if path in gateway.files:
                    content_type, data = gateway.files[path]
                    self._reply(200, {"Content-Type": content_type}, data)
                else:
                    self._lambda("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._lambda("POST")

            def do_OPTIONS(self) -> None:  # noqa: N802
                self._lambda("OPTIONS")

            def _lambda(self, method: str) -> None:
                path = urlsplit(self.path).path
                if path not in gateway.routes:
                    self._reply(404, {"Content-Type": "application/json"}, b'{"message": "Missing Authentication Token"}')
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                event = rest_api_event(method, path, dict(self.headers.items()), body)
                gateway.events.append(event)
                result = gateway.routes[path](event, None)
                gateway.results.append(result)
                self._reply(result["statusCode"], result.get("headers", {}), (result.get("body") or "").encode("utf-8"))

            def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "ApiGateway":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
