"""Django's Redis cache, keeping one ``redis.Redis`` client per connection pool.

Django builds a new client for every cache call, and a client copies its table of some 170 response
callbacks when it is made: a tenth of the home page's CPU, whose only other work is its template
(docs/benchmarks.md). A ``redis.Redis`` is safe to share between threads (each command takes a connection
from the pool), so one per pool is enough. Everything else is Django's.
"""

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _OneClientPerPool(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class SharedClientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _OneClientPerPool
