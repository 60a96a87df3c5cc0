"""A worker's connections to Redis: one bounded pool for the cache, one for the channel layer.

Django's ``RedisCache`` builds a client, and with it a connection pool, per cache object,
and cache objects are per thread and per async context: under daphne every request got
pools of its own, and a worker's connections grew with its traffic (and outlived the
requests until garbage collection). Here the cache's pools are shared by the whole
process, and both pools block at ``max_connections``: a caller waits up to ``timeout``
seconds for a free connection instead of opening another.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import redis
import redis.asyncio
from channels_redis.core import RedisChannelLayer
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple[str, str], redis.BlockingConnectionPool] = {}
_pools_lock = threading.Lock()


def shared_pool(url: str, options: dict[str, Any]) -> redis.BlockingConnectionPool:
    """The process's one pool for ``url`` with ``options`` (made on first use)."""
    key = (url, repr(sorted(options.items())))
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = redis.BlockingConnectionPool.from_url(url, **options)
    return pool


class SharedPoolRedisCacheClient(RedisCacheClient):
    """Django's client, drawing its connections from the process's shared pools.

    ``OPTIONS`` other than ``serializer`` are those of ``redis.BlockingConnectionPool``
    (``max_connections``, ``timeout``) and of its connections (``socket_timeout``...).
    """

    def __init__(self, servers: list[str], serializer: Any = None, **options: Any) -> None:
        super().__init__(servers, serializer=serializer)
        self._urls = servers
        self._connection_options = options

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # As Django's client: writes go to the first server, reads to the others if any.
        urls = self._urls[1:] if len(self._urls) > 1 and not write else self._urls[:1]
        url = random.choice(urls)  # noqa: S311 (spreads reads; nothing secret)
        pool = shared_pool(url, self._connection_options)
        return redis.Redis(connection_pool=pool)


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient


class BoundedRedisChannelLayer(RedisChannelLayer):  # type: ignore[misc]  # channels_redis ships no types
    """channels_redis with a blocking pool per event loop: a host's ``max_connections`` and
    ``timeout`` bound it (channels_redis's own pool opens a connection per waiting caller)."""

    def create_pool(self, index: int) -> redis.asyncio.BlockingConnectionPool:
        host = dict(self.hosts[index])
        return redis.asyncio.BlockingConnectionPool.from_url(host.pop("address"), **host)
