"""The cache backend keeps one Redis client per connection pool (marketplace/cache.py)."""

import threading

from django.core.cache import cache


def test_every_cache_call_shares_one_client_and_still_works():
    first = cache._cache.get_client("a", write=True)

    cache.set("shared-client", {"n": 1}, timeout=30)
    assert cache.get("shared-client") == {"n": 1}
    assert cache.add("shared-client-count", 0)
    assert cache.incr("shared-client-count") == 1

    assert cache._cache.get_client("b") is first
    assert cache._cache.get_client("c", write=True) is first


def test_threads_share_the_client_safely():
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                cache.set(f"thread-{n}-{i}", i, timeout=30)
                assert cache.get(f"thread-{n}-{i}") == i
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
