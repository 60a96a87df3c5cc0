"""Take the child's token, and anything shaped like a credential, out of what it says.

GHL can echo a request's Authorization header in an error body, and a record can hold
a pasted token; neither may reach a model, a chat page or a log.
"""

from __future__ import annotations

import re
from typing import Any

import mcp.types as types

REDACTED = "[redacted]"
_PATTERNS = (
    # "Bearer <token>", as in an echoed Authorization header.
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), f"Bearer {REDACTED}"),
    # A JSON Web Token (GHL's OAuth access and refresh tokens are JWTs).
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), REDACTED),
    # A private integration token.
    (re.compile(r"(?i)\bpit-[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b"), REDACTED),
)


class Redactor:
    def __init__(self, secrets: tuple[str, ...]) -> None:
        self.secrets = tuple(secret for secret in secrets if secret)

    def text(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def value(self, value: Any) -> Any:
        """The same JSON value with every string redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return value

    def result(self, result: types.CallToolResult) -> types.CallToolResult:
        content = [
            item.model_copy(update={"text": self.text(item.text)})
            if isinstance(item, types.TextContent)
            else item
            for item in result.content
        ]
        update: dict[str, Any] = {"content": content}
        if result.structured_content is not None:
            update["structured_content"] = self.value(result.structured_content)
        return result.model_copy(update=update)
