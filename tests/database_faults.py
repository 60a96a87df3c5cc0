"""PostgreSQL faults on demand, done from the server side as a restart or an outage would."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from asgiref.sync import SyncToAsync
from django.db import connection, connections


def _params(dbname: str | None = None) -> dict[str, Any]:
    db = connection.settings_dict
    return {
        "host": db["HOST"],
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "dbname": dbname or db["NAME"],
        "autocommit": True,
    }


def _terminate_others(admin: psycopg.Connection[Any], dbname: str) -> int:
    rows = admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        [dbname],
    ).fetchall()
    return len(rows)


class ConnectionKiller:
    """Ends every other server connection to the test database, as a restart would."""

    def __init__(self) -> None:
        self.dbname = connection.settings_dict["NAME"]
        self.ended = 0

    def __call__(self) -> None:
        with psycopg.connect(**_params()) as admin:
            self.ended += _terminate_others(admin, self.dbname)


class Outage:
    """The test database refuses new connections and loses its open ones until ``end``."""

    def __init__(self) -> None:
        self.dbname = connection.settings_dict["NAME"]
        self.started = False
        self.happened = False

    def __call__(self) -> None:
        with psycopg.connect(**_params("postgres")) as admin:
            admin.execute(f'ALTER DATABASE "{self.dbname}" WITH ALLOW_CONNECTIONS false')
            self.started = self.happened = True
            _terminate_others(admin, self.dbname)

    def end(self) -> None:
        if self.started:
            with psycopg.connect(**_params("postgres")) as admin:
                admin.execute(f'ALTER DATABASE "{self.dbname}" WITH ALLOW_CONNECTIONS true')
            self.started = False


class EndsWhenRetried(logging.Handler):
    """A log handler that ends an outage the moment the code under test says it retries."""

    def __init__(self, outage: Outage) -> None:
        super().__init__()
        self.outage = outage
        self.retried = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying" in record.getMessage():
            self.retried += 1
            self.outage.end()


# Fixtures (tests/conftest.py names them): the test's own connection dies with the others,
# so each teardown opens a new one before pytest-django flushes the database.


def _close_dead_connections() -> None:
    # The test's thread, and the one thread async tests run their ORM steps in.
    connection.close()
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture
def db_connection_killer() -> Iterator[ConnectionKiller]:
    yield ConnectionKiller()
    _close_dead_connections()


@pytest.fixture
def db_outage() -> Iterator[Outage]:
    outage = Outage()
    try:
        yield outage
    finally:
        outage.end()
        _close_dead_connections()
