"""The load generator: logged-in sessions over plain sockets, a bounded threaded drive, percentiles."""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

HOST = "127.0.0.1"


class Session:
    """One logged-in user's cookies, shared by the threads (requests of one session may run in parallel)."""

    def __init__(self, port: int, username: str, password: str) -> None:
        self.port = port
        status, headers, body = request(port, "GET", "/accounts/login/", {})
        cookies = parse_cookies(headers)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status != 200 or token is None:
            raise RuntimeError(f"login page: {status}")
        form = {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1).decode()}
        status, headers, _body = request(port, "POST", "/accounts/login/", self._headers(cookies), form)
        cookies.update(parse_cookies(headers))
        if status != 302 or "sessionid" not in cookies:
            raise RuntimeError(f"login as {username} failed: {status}")
        self.cookies = cookies

    @staticmethod
    def _headers(cookies: dict[str, str]) -> dict[str, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        if "csrftoken" in cookies:
            headers["X-CSRFToken"] = cookies["csrftoken"]
        return headers

    def call(self, method: str, path: str, data: dict | None) -> tuple[int, int, float]:
        started = time.perf_counter()
        status, _headers, body = self.send(method, path, data)
        return status, len(body), time.perf_counter() - started

    def send(
        self, method: str, path: str, data: dict | None, *, timeout: float = 30
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) of one call in this session (its cookies are not updated)."""
        return request(self.port, method, path, self._headers(self.cookies), data, timeout=timeout)


def parse_cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    cookies = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            key, _sep, val = pair.partition("=")
            cookies[key.strip()] = val.strip()
    return cookies


def request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    data: dict | None = None,
    *,
    timeout: float = 30,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of one HTTP/1.1 request on a connection of its own, which the server closes
    after its answer (gunicorn's sync workers do; the request asks for it too).

    On a plain socket rather than http.client: the load generator shares the machine's two cores with the
    server it measures, and http.client's response parsing (an email.message per response) cost about three
    times the CPU of reading the bytes and splitting the status line and headers as here."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    body = b""
    if data is not None:
        body = urlencode(data).encode()
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        chunks = []
        while chunk := sock.recv(262144):
            chunks.append(chunk)
    head, _sep, payload = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise http.client.BadStatusLine(status_line)  # nothing, or not HTTP: the server went away
    pairs = [line.split(":", 1) for line in header_lines if ":" in line]
    return int(parts[1]), [(name.strip(), value.strip()) for name, value in pairs], payload


@dataclass
class Sample:
    page: str
    status: int
    size: int
    seconds: float


def drive_baseline(session: Session, size: int, *, count: int, threads: int) -> list[float]:
    took: list[float] = []
    lock = threading.Lock()
    left = [count]

    def worker() -> None:
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            status, _size, seconds = session.call("GET", f"/bench/baseline/?bytes={size}", None)
            if status == 200:
                with lock:
                    took.append(seconds)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return took


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


# --- Expected outcomes ---------------------------------------------------------------------------------------


def outcome(page: str, status: int) -> str:
    """ "ok", "taken" (a booking slot already held: the 409 the page is built to answer) or "error"."""
    if page in ("intake POST", "booking POST"):
        if status == 302:
            return "ok"
        if page == "booking POST" and status in (200, 409):
            return "taken"  # the slot was held, or the person's weekly quota full: the form re-shows
        return "error"
    return "ok" if status == 200 else "error"


# --- Machine and report -----------------------------------------------------------------------------------
