"""The sandbox's in-memory world: tokens, grants, data, faults, limits and what it saw.

Everything is guarded by one lock because the HTTP server runs on its own thread
while tests inspect and steer the state from theirs.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from mcpbridge.sandbox.seed import SANDBOX_SCOPES, seed_world

ACCESS_TOKEN_SECONDS = 86399
CODE_SECONDS = 600
DAILY_LIMIT = 200_000


def new_id() -> str:
    """A 20-character id, the length GHL uses."""
    return secrets.token_hex(10)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenInfo:
    user_type: str  # "Location" or "Company"
    company_id: str
    location_id: str | None
    user_id: str
    scopes: frozenset[str] | None  # None: every scope
    expires_at: float
    client_id: str | None = None
    revoked: bool = False

    def allows(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes


@dataclass
class RefreshInfo:
    grant: TokenInfo
    used: bool = False


@dataclass
class Grant:
    client_id: str
    redirect_uri: str | None
    company_id: str
    location_id: str | None
    user_id: str
    user_type: str
    scopes: frozenset[str] | None
    expires_at: float
    used: bool = False


@dataclass
class Fault:
    pattern: str
    method: str | None
    status: int
    remaining: int
    message: str
    headers: dict[str, str]
    delay: float = 0.0
    # Held until set (a test's gate): an answer that comes exactly when the caller says.
    # With status 0 the fault only holds (and delays); the usual answer follows.
    hold: threading.Event | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return fnmatch.fnmatchcase(path, self.pattern)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    location_id: str | None
    version: str | None
    status: int
    at: float  # when it arrived, by the sandbox's clock


@dataclass
class SandboxState:
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"  # noqa: S105 - a public demo credential
    rate_limit: int = 100
    rate_window: float = 10.0
    lock: threading.RLock = field(default_factory=threading.RLock)
    clock_offset: float = 0.0
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    tokens: dict[str, TokenInfo] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshInfo] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    token_requests: Counter[str] = field(default_factory=Counter)
    token_failures: Counter[str] = field(default_factory=Counter)
    recorded: list[RecordedRequest] = field(default_factory=list)
    windows: dict[str, deque[float]] = field(default_factory=dict)
    daily: Counter[str] = field(default_factory=Counter)
    data: dict[str, Any] = field(default_factory=seed_world)
    # Bumped by a reset, so a request still in flight across it is not recorded.
    generation: int = 0

    # -- time ---------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox's clock forward (tokens and codes expire by it)."""
        with self.lock:
            self.clock_offset += seconds

    # -- tokens -------------------------------------------------------------

    def _jwt(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64(
            json.dumps({**claims, "jti": secrets.token_hex(8)}, separators=(",", ":")).encode()
        )
        signature = hmac.new(self.signing_key, f"{header}.{payload}".encode(), hashlib.sha256)
        return f"{header}.{payload}.{_b64(signature.digest())}"

    def token_issue(self, info: TokenInfo, *, with_refresh: bool) -> dict[str, Any]:
        """Store a new access token (and refresh token) and return GHL's token response."""
        with self.lock:
            claims = {
                "authClass": info.user_type,
                "authClassId": info.location_id or info.company_id,
                "sub": info.user_id,
                "iat": int(self.now()),
                "exp": int(info.expires_at),
            }
            access = self._jwt(claims)
            self.tokens[access] = info
            body: dict[str, Any] = {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_SECONDS,
                "scope": " ".join(
                    sorted(info.scopes if info.scopes is not None else SANDBOX_SCOPES)
                ),
                "userType": info.user_type,
                "companyId": info.company_id,
                "userId": info.user_id,
            }
            if info.location_id:
                body["locationId"] = info.location_id
            else:
                body["approvedLocations"] = self.company_locations(info.company_id)
            if with_refresh:
                refresh = self._jwt({**claims, "kind": "refresh"})
                self.refresh_tokens[refresh] = RefreshInfo(grant=info)
                body["refresh_token"] = refresh
            return body

    def token_mint(
        self,
        *,
        location_id: str | None,
        company_id: str | None = None,
        user_id: str | None = None,
        scopes: frozenset[str] | None = None,
        expires_in: float = ACCESS_TOKEN_SECONDS,
        with_refresh: bool = False,
    ) -> dict[str, Any]:
        with self.lock:
            if location_id is not None:
                location = self.data["locations"][location_id]
                company_id = location["companyId"]
            company = company_id or next(iter(self.data["companies"]))
            info = TokenInfo(
                user_type="Location" if location_id else "Company",
                company_id=company,
                location_id=location_id,
                user_id=user_id or self.default_user(location_id, company),
                scopes=scopes,
                expires_at=self.now() + expires_in,
            )
            return self.token_issue(info, with_refresh=with_refresh)

    def token_lookup(self, token: str) -> TokenInfo | None:
        with self.lock:
            info = self.tokens.get(token)
            if info is None or info.revoked or info.expires_at <= self.now():
                return None
            return info

    def default_user(self, location_id: str | None, company_id: str) -> str:
        for user in self.data["users"].values():
            if user["companyId"] == company_id and (
                location_id is None or location_id in user["roles"]["locationIds"]
            ):
                return user["id"]
        raise KeyError(f"no sandbox user for {location_id or company_id}")

    def company_locations(self, company_id: str) -> list[str]:
        """The company's locations where the app is installed: an agency's approvedLocations."""
        return [
            loc["id"]
            for loc in self.data["locations"].values()
            if loc["companyId"] == company_id and loc["id"] in self.data["installations"]
        ]

    def app_install(self, location_id: str) -> None:
        with self.lock:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(self.now()))
            self.data["installations"].setdefault(location_id, {"installedAt": stamp})

    def app_uninstall(self, location_id: str) -> None:
        with self.lock:
            self.data["installations"].pop(location_id, None)

    # -- faults and limits --------------------------------------------------

    def fault_add(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def fault_take(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    return fault
            return None

    def rate_hit(self, key: str) -> tuple[bool, dict[str, str]]:
        """Count one request for ``key``; say whether it is over the burst limit."""
        with self.lock:
            now = self.now()
            window = self.windows.setdefault(key, deque())
            while window and window[0] <= now - self.rate_window:
                window.popleft()
            limited = len(window) >= self.rate_limit
            if not limited:
                window.append(now)
                self.daily[key] += 1
            headers = {
                "X-RateLimit-Limit-Daily": str(DAILY_LIMIT),
                "X-RateLimit-Daily-Remaining": str(max(DAILY_LIMIT - self.daily[key], 0)),
                "X-RateLimit-Interval-Milliseconds": str(int(self.rate_window * 1000)),
                "X-RateLimit-Max": str(self.rate_limit),
                "X-RateLimit-Remaining": str(max(self.rate_limit - len(window), 0)),
            }
            return limited, headers

    def record(self, request: RecordedRequest, generation: int) -> None:
        with self.lock:
            if generation == self.generation:
                self.recorded.append(request)
