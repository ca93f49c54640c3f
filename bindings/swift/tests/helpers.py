"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Awaitable, Callable


def sync(f: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """Runs an async test on a fresh asyncio loop (uniffi's async functions are awaitables
    on the running loop), so the suite needs no pytest plugin."""

    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(f(*args, **kwargs))

    return run
