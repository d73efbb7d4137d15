"""Serve the Flask app with waitress, a production WSGI server (threads, no hand-rolled sockets)."""
from __future__ import annotations

from flask import Flask
from waitress import create_server

DEFAULT_THREADS = 4


def serve(app: Flask, host: str = "127.0.0.1", port: int = 8080, threads: int = DEFAULT_THREADS) -> None:
    """Block serving ``app``; prints the bound address (port 0 picks a free one)."""
    server = create_server(app, host=host, port=port, threads=threads, ident="clickseg")
    print(f"clickseg serve: listening on http://{server.effective_host}:{server.effective_port}", flush=True)
    server.run()
