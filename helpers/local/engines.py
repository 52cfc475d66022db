"""Engines of the local model, loaded once per process, and the one cache they share.

An :class:`Engine` loads its model on first use, under a lock, so the server starts fast and
concurrent first requests load it once; :meth:`Engine.run` serialises calls (each engine already
uses every core) and caches results by content hash (notebooks send the same image again and
again). A part that is not installed raises :class:`Missing`, whose message says what is missing
and the command that installs it; the local model puts that message in its reply.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: Threads per engine call: every core, at most 4 (ONNX Runtime and CTranslate2 gain little beyond).
THREADS = max(1, min(4, os.cpu_count() or 1))


class Missing(RuntimeError):
    """A perception part is not installed; the message names it and the install command."""


def digest(data: bytes) -> str:
    """The content hash used as cache key and in response fingerprints."""
    return hashlib.sha256(data).hexdigest()


class LruCache:
    """A small thread-safe least-recently-used cache; ``get`` returns None for a missing key."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        """The value stored under ``key`` (now the most recently used), or None."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        """Store ``value``, dropping the least recently used entries beyond ``size``."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._items.clear()


class Engine:
    """Lazily loads one engine; ``run`` serialises calls and caches results by key."""

    def __init__(self, load: Callable[[], Any], cache_size: int = 256) -> None:
        self._load = load
        self._engine: Any = None
        self._error: Missing | None = None
        self._lock = threading.Lock()
        self.cache = LruCache(cache_size)

    def get(self) -> Any:
        """The loaded engine (loading it on first use); raises Missing when it cannot load."""
        if self._engine is None and self._error is None:
            with self._lock:
                if self._engine is None and self._error is None:
                    try:
                        self._engine = self._load()
                    except Missing as exc:
                        self._error = exc
        if self._error is not None:
            raise self._error
        return self._engine

    @property
    def loaded(self) -> bool:
        """True once the engine has been loaded."""
        return self._engine is not None

    def run(self, key: Any, work: Callable[[Any], T]) -> T:
        """``work(engine)``, cached under ``key``; one call at a time (the engines use every core)."""
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        engine = self.get()
        with self._lock:
            cached = self.cache.get(key)  # another thread may have done it while we waited
            if cached is None:
                cached = work(engine)
                self.cache.put(key, cached)
        return cached

    def reset(self) -> None:
        """Forget the engine and the cache (tests, or after changing a setting)."""
        with self._lock:
            self._engine, self._error = None, None
            self.cache.clear()
