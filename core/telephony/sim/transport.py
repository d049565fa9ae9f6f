"""How the carrier reaches the app: a Flask test client in-process, or HTTP to a running server."""

import threading
from urllib.parse import urlencode

import requests
from flask import Flask


class InProcessTransport:
    """Sends webhooks through a Flask test client, each in its own app context."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def request(self, method: str, path: str, params: dict, headers: dict) -> tuple[int, str]:
        """Send one request; return the status code and body."""
        with self.app.app_context():
            client = self.app.test_client()
            if method == "GET":
                response = client.get(path, headers=headers)
            else:
                response = client.post(path, data=params, headers=headers)
            return response.status_code, response.get_data(as_text=True)


class HttpTransport:
    """Sends webhooks over HTTP to `base_url` (a keep-alive session per thread)."""

    def __init__(self, base_url: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def request(self, method: str, path: str, params: dict, headers: dict) -> tuple[int, str]:
        """Send one request; return the status code and body."""
        url = self.base_url + path
        if method == "GET":
            response = self._session().get(url, headers=headers, timeout=self.timeout)
        else:
            body = urlencode(params)
            headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
            response = self._session().post(url, data=body, headers=headers, timeout=self.timeout)
        if "charset" not in response.headers.get("Content-Type", "").lower():
            response.encoding = "utf-8"  # XML's default, where requests would guess Latin-1
        return response.status_code, response.text
