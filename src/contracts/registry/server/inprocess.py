"""Calling a ``RegistryApp`` in process, through the client's transport seam: no socket, same answers."""

from __future__ import annotations

import json
import urllib.parse

from contracts.registry.server.app import RegistryApp
from contracts.registry.transport import Request, Response


class AppTransport:
    """``RegistryClient("app://embedded", transport=AppTransport(app))`` talks to ``app`` directly."""

    def __init__(self, app: RegistryApp) -> None:
        self.app = app

    def handle_request(self, request: Request) -> Response:
        url = urllib.parse.urlsplit(request.target)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        answer = self.app.handle(request.method, url.path, query, request.body)
        return Response(answer.status, json.dumps(answer.payload).encode())
