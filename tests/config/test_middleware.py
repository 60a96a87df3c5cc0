from __future__ import annotations

import pytest
from channels.testing import HttpCommunicator

from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def request(path: str, content_length: bytes, method: str = "POST") -> dict:
    headers = [(b"host", b"localhost"), (b"content-length", content_length)]
    communicator = HttpCommunicator(application, method, path, body=b"{}", headers=headers)
    return await communicator.get_response()


@pytest.mark.parametrize("value", [b"abc", b"-1", b"1e3", b" 2", b"\xd9\xa3"])
@pytest.mark.parametrize(
    "path", ["/health", "/api/tenant/credentials", "/webhooks/ghl", "/mcp/acme/tool/x"]
)
async def test_a_malformed_content_length_is_a_400_not_a_500(path, value):
    response = await request(path, value)
    assert response["status"] == 400
    assert b'"code": "bad_request"' in response["body"]


async def test_a_numeric_content_length_goes_through():
    response = await request("/health", b"2", method="GET")
    assert response["status"] == 200
