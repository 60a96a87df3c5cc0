"""What `make image-check` asks of a running hub, over real HTTP and a real websocket.

The hub is reached on a loopback port but addressed as the public site it is set up
for: every request carries the first ``ALLOWED_HOSTS`` name and ``X-Forwarded-Proto:
https``, as the proxy in front of it would send. Cookies are kept by hand, since they
are ``Secure`` and the loopback leg is plain HTTP.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urljoin, urlsplit

import httpx
from websockets.sync.client import connect

_STATIC_IN_HTML = re.compile(r"""(?:src|href)=["'](/static/[^"'#?]+)""")
_URL_IN_CSS = re.compile(r"""url\(\s*["']?([^"')]+)""")
# ManifestStaticFilesStorage names: name.<12 hex digits>.ext
_HASHED = re.compile(r"\.[0-9a-f]{12}\.\w+$")


class CheckFailed(AssertionError):
    """One check of the image failed; the message says which and what came back."""


@dataclass
class Site:
    port: int
    host: str
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"https://{self.host}"

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {"Host": self.host, "X-Forwarded-Proto": "https", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = httpx.request(
            method, f"http://127.0.0.1:{self.port}{path}", headers=headers, timeout=120, **kwargs
        )
        for raw in response.headers.get_list("set-cookie"):
            jar = SimpleCookie()
            jar.load(raw)
            self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        return response

    def page(self, path: str) -> tuple[str, httpx.Response]:
        """GET ``path``, following redirects on this site; the final path and response."""
        for _ in range(5):
            response = self.request("GET", path)
            if response.status_code not in {301, 302, 303, 307, 308}:
                return path, response
            target = urlsplit(urljoin(f"{self.origin}{path}", response.headers["location"]))
            if target.netloc != self.host:
                raise CheckFailed(f"{path} redirects off the site, to {target.geturl()}")
            path = target.path + (f"?{target.query}" if target.query else "")
        raise CheckFailed(f"{path} redirects too often")


def expect_page(site: Site, path: str, *, must_contain: str = "") -> tuple[str, str]:
    final, response = site.page(path)
    if response.status_code != 200:
        raise CheckFailed(f"{path} (ended at {final}) answered {response.status_code}")
    if must_contain and must_contain not in response.text:
        raise CheckFailed(f"{path} (ended at {final}) does not show {must_contain!r}")
    return final, response.text


def static_urls(html: str) -> set[str]:
    return set(_STATIC_IN_HTML.findall(html))


def expect_static(site: Site, urls: set[str]) -> set[str]:
    """Every URL answers 200 (and those a stylesheet names); returns all that were fetched."""
    seen: set[str] = set()
    pending = set(urls)
    while pending:
        url = pending.pop()
        seen.add(url)
        response = site.request("GET", url)
        if response.status_code != 200:
            raise CheckFailed(f"static file {url} answered {response.status_code}")
        if not _HASHED.search(url):
            raise CheckFailed(f"static file {url} is not under its hashed (manifest) name")
        if url.endswith(".css"):
            for ref in _URL_IN_CSS.findall(response.text):
                if not ref.startswith(("data:", "http:", "https:", "#")):
                    pending |= {urlsplit(urljoin(url, ref)).path} - seen
    return seen


def sign_in(site: Site, *, username: str, password: str) -> None:
    _, page = expect_page(site, "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not token:
        raise CheckFailed("the login page has no CSRF token")
    response = site.request(
        "POST",
        "/accounts/login/",
        data={"login": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{site.origin}/accounts/login/", "Origin": site.origin},
    )
    if response.status_code != 302 or "sessionid" not in site.cookies:
        raise CheckFailed(f"signing in answered {response.status_code}, no session")


def chat_turn(site: Site, *, tenant: str, text: str) -> list[dict]:
    """One ``chat.send`` over the tenant's websocket, as the chat page sends it."""
    headers = {
        "Origin": site.origin,
        "Cookie": "; ".join(f"{k}={v}" for k, v in site.cookies.items()),
    }
    events: list[dict] = []
    with (
        socket.create_connection(("127.0.0.1", site.port), timeout=30) as sock,
        connect(
            f"ws://{site.host}/ws/tenants/{tenant}/",
            sock=sock,
            additional_headers=headers,
            open_timeout=30,
        ) as ws,
    ):
        ws.send(json.dumps({"type": "chat.send", "conversation": None, "text": text}))
        while not events or events[-1]["type"] not in {"chat.done", "chat.error"}:
            events.append(json.loads(ws.recv(timeout=60)))
    return events
