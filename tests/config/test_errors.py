"""One error family per boundary, all of one shape, and every domain error in one of them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

from config.errors import HubError
from mcpbridge.ghl.errors import GhlServerError
from mcpbridge.supervisor.errors import BridgeError

BASES = (HubError, BridgeError, GhlServerError)
# The sandbox plays GHL, errors and all: its errors are GHL's, not the hub's.
NOT_OURS = ("mcpbridge.sandbox",)


def _modules() -> list[ModuleType]:
    modules = []
    for package_name in ("config", "tenants", "mcpbridge"):
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            # A __main__ runs its program when imported.
            if info.name.endswith("__main__") or info.name.startswith(NOT_OURS):
                continue
            modules.append(importlib.import_module(info.name))
    return modules


def _exception_classes() -> list[type[BaseException]]:
    return sorted(
        {
            value
            for module in _modules()
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, BaseException)
            and value.__module__ == module.__name__
        },
        key=lambda cls: f"{cls.__module__}.{cls.__qualname__}",
    )


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_every_exception_of_the_project_belongs_to_a_family_and_is_named_an_error():
    classes = _exception_classes()
    assert len(classes) > 40  # the walk found them
    strays = [f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, BASES)]
    misnamed = [
        f"{c.__module__}.{c.__qualname__}" for c in classes if not c.__name__.endswith("Error")
    ]
    assert strays == []
    assert misnamed == []


@pytest.mark.parametrize("base", BASES[1:], ids=lambda base: base.__name__)
def test_each_boundary_base_has_the_shape_of_the_hub_base(base: type[Exception]):
    assert inspect.signature(base.__init__) == inspect.signature(HubError.__init__)
    plain, chosen = base(), base("Try later.", code="busy", retry_after=2.5, permanent=True)
    assert (plain.message, plain.retry_after, plain.permanent) == (
        base.default_message,
        None,
        False,
    )
    assert (chosen.code, chosen.message, chosen.retry_after, chosen.permanent) == (
        "busy",
        "Try later.",
        2.5,
        True,
    )
    assert str(chosen) == "Try later."
    assert base.code != chosen.code  # set on the instance, never on the class


def test_every_error_of_a_family_has_a_code_and_a_message():
    for cls in _exception_classes():
        assert isinstance(cls.code, str), cls
        assert cls.code, cls
        assert isinstance(cls.default_message, str), cls
        assert cls.default_message, cls
        assert isinstance(cls.permanent, bool), cls
