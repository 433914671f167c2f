"""Helpers shared by the benchmarks (run as scripts: ``python bench/NAME.py``)."""

from __future__ import annotations

import socket
from collections.abc import Callable

# Where a request's time goes, by the code that is running (innermost match wins, so the
# SQL a template triggers counts as SQL). Checked in order; the first pattern found in a
# frame's file path names its category. Anything not matched inherits its caller's category.
SPLIT_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sql", ("/psycopg/", "/django/db/", "/psycopg_binary/")),
    ("serialization", ("/json/", "orjson", "/django/core/serializers/")),
    ("templates", ("/django/template/", "/template_partials/", "/templatetags/")),
    ("figure", ("/plotly/", "/_plotly_utils/", "/myaccount/charts.py")),
    ("aggregation", ("/usage/selectors.py", "/myaccount/sources.py")),
    (
        "view",
        ("/views.py", "/flow.py", "/forms.py", "/services.py", "/selectors.py", "/django/forms/"),
    ),
    ("importer", ("/partners/importfile.py", "/openpyxl/", "/csv.py")),
    ("middleware", ("/django/", "/axes/", "/django_htmx/", "/csp/", "/whitenoise/")),
)


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(ms: list[float]) -> dict:
    """p50 and p95 of milliseconds, rounded for printing."""
    import statistics

    return {"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(pct(ms, 95), 1)}


def timed(fn: Callable[[], object], n: int) -> list[float]:
    """Milliseconds of ``n`` calls of ``fn`` after one warm-up call."""
    import time

    fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def free_port() -> int:
    """A free TCP port on loopback for a server the benchmark starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _category(path: str | None, inherited: str) -> str:
    if not path:
        return inherited
    for name, patterns in SPLIT_CATEGORIES:
        if any(p in path for p in patterns):
            return name
    return inherited


def split_of(root, totals: dict[str, float] | None = None) -> dict[str, float]:
    """Seconds by category (``SPLIT_CATEGORIES``) in a pyinstrument frame tree, added to
    ``totals``; ``other`` is Python outside them (e.g. the test client)."""
    totals = {} if totals is None else totals
    stack = [(root, "other")] if root is not None else []
    while stack:
        frame, inherited = stack.pop()
        category = inherited if frame.is_synthetic else _category(frame.file_path, inherited)
        own = frame.time - sum(child.time for child in frame.children)
        totals[category] = totals.get(category, 0.0) + max(own, 0.0)
        stack.extend((child, category) for child in frame.children)
    return totals


def per_call_ms(totals: dict[str, float], n: int) -> dict[str, float]:
    return {k: round(v * 1000 / n, 1) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


def profiled(fn: Callable[[], object]):
    """Run ``fn`` once under pyinstrument: (its result, the profile's root frame)."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        result = fn()
    finally:
        profiler.stop()
    return result, profiler.last_session.root_frame()


def profile_split(fn: Callable[[], object], *, n: int = 10) -> dict[str, float]:
    """Run ``fn`` ``n`` times under pyinstrument and return milliseconds per call by
    category (``SPLIT_CATEGORIES``).

    A sampling profile (0.5 ms interval) with its own overhead: read the split as where the
    time goes, not as the request's duration (the timed runs give that).
    """
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(n):
        fn()
    profiler.stop()
    return per_call_ms(split_of(profiler.last_session.root_frame()), n)


def format_split(split: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in split.items()) + " (ms per request)"
