"""Extension points that are not events: one shape for all of them.

A lower app (core, enrollments, notices) owns a :class:`Registry`; a higher app that supplies
something registers it at start-up (``AppConfig.ready``), and the lower app reads what was
registered. This is how a lower layer uses what a higher one knows without importing it:

- ``opsadmin.roles.GRANTS``: the permissions each staff role holds, per group;
- ``notices.registry.VALUES`` / ``KINDS``: replacement values (``[BILLING_ACCOUNT_NUMBER]``)
  and the kinds of record a notice is rendered for;
- ``enrollments.products_extras.PRICERS``: the one own-usage pricer of the products table.

Things that *happened* (an enrollment accepted, service ended) are events instead
(``opsadmin.events``): they are published after commit, and many apps may react.

``AppConfig.ready`` may run more than once (tests, management commands): registering the same
value under the same key again is a no-op; a different value under a taken key is an error
unless the point says the last registration wins (``replace=True``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Registry(Generic[K, V]):
    """Values by key, registered at start-up, read in order of key."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: dict[K, V] = {}

    def register(self, key: K, value: V, *, replace: bool = False) -> V:
        current = self._entries.get(key)
        if current is not None and current is not value and current != value and not replace:
            raise ValueError(f"{self.name}: {key!r} is already registered")
        self._entries[key] = value
        return value

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[K]:
        return sorted(self._entries, key=str)

    def values(self) -> list[V]:
        return [self._entries[k] for k in self.keys()]

    def items(self) -> Iterator[tuple[K, V]]:
        return ((k, self._entries[k]) for k in self.keys())
