from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.versions import consts, get_spec_version

from tests.ways_in.conftest import Api

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_openapi_document_is_valid_openapi_3_1_for_every_tool_endpoint():
    response = await Api().get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert get_spec_version(document) == consts.OPENAPIV31
    validate(document)
    assert set(document["paths"]) == {
        "/mcp/{tenant}/tools",
        "/mcp/{tenant}/tool/{name}",
        "/tools",
        "/tools/{name}",
    }
    call = document["paths"]["/mcp/{tenant}/tool/{name}"]["post"]
    assert {"200", "401", "403", "404", "422", "429", "502", "503", "504"} <= set(call["responses"])
    assert "Retry-After" in call["responses"]["429"]["headers"]
