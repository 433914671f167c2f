"""The one registry of replacement values (``[NAME]`` in notice templates).

notices sits low in the layers (core only), so it knows no customer, plan or prospect. The
app that owns the data registers each value at start-up (``AppConfig.ready``), in the
common shape of extension points (``opsadmin.extensions.Registry``)::

    registry.register_record_kind("enrollment", label="Enrollment", loader=..., choices=...)
    registry.register("BILLING_ACCOUNT_NUMBER", description="...", record="enrollment",
                      resolver=lambda enrollment: enrollment.billing_account_number)

A resolver takes the record a notice is rendered for and returns a string, a list of lines,
or ``None`` (renders empty). Resolvers must only read stored data: a notice is rendered in
bulk and can never wait on, or fail because of, an outside system.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.html import escape

from opsadmin.extensions import Registry

PLACEHOLDER_RE = re.compile(r"\[([A-Z][A-Z0-9_]*)\]")

Resolved = str | Sequence[str] | None
Resolver = Callable[[Any], Resolved]


@dataclass(frozen=True)
class RecordKind:
    """A kind of record a template can be rendered (and previewed) against."""

    name: str
    label: str
    loader: Callable[[int], Any]  # pk -> record or None
    choices: Callable[[], list[tuple[int, str]]]  # recent records for the preview picker


@dataclass
class ReplacementValue:
    name: str
    description: str
    resolvers: dict[str, Resolver] = field(default_factory=dict)

    @property
    def records(self) -> list[str]:
        return sorted(self.resolvers)


VALUES: Registry[str, ReplacementValue] = Registry("replacement values")
KINDS: Registry[str, RecordKind] = Registry("notice record kinds")


def register(
    name: str, *, description: str, resolver: Resolver, record: str = "enrollment"
) -> None:
    """Declare ``[name]`` for records of kind ``record``.

    The same name may be registered for several record kinds (e.g. the price to compare of an
    enrollment's utility and of a prospect's first address); the description is shared.
    """
    if not PLACEHOLDER_RE.fullmatch(f"[{name}]"):
        raise ValueError(f"replacement value names are UPPER_SNAKE_CASE: {name!r}")
    value = VALUES.get(name) or VALUES.register(
        name, ReplacementValue(name=name, description=description)
    )
    if record in value.resolvers and value.resolvers[record] is not resolver:
        raise ValueError(f"[{name}] is already registered for {record}")
    value.resolvers[record] = resolver


def register_record_kind(
    name: str,
    *,
    label: str,
    loader: Callable[[int], Any],
    choices: Callable[[], list[tuple[int, str]]],
) -> None:
    KINDS.register(
        name, RecordKind(name=name, label=label, loader=loader, choices=choices), replace=True
    )


def values() -> list[ReplacementValue]:
    """Every registered value, by name (what template authors see)."""
    return VALUES.values()


def get(name: str) -> ReplacementValue | None:
    return VALUES.get(name)


def record_kinds() -> list[RecordKind]:
    return KINDS.values()


def record_kind(name: str) -> RecordKind | None:
    return KINDS.get(name)


def placeholders_in(text: str) -> list[str]:
    """Names of the ``[NAME]`` placeholders in ``text``, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in PLACEHOLDER_RE.finditer(text or ""):
        seen.setdefault(match.group(1), None)
    return list(seen)


def unknown_placeholders(texts: Iterable[str]) -> list[str]:
    """Placeholders that no app has registered (a template with one is refused on save)."""
    unknown: dict[str, None] = {}
    for text in texts:
        for name in placeholders_in(text):
            if name not in VALUES:
                unknown.setdefault(name, None)
    return list(unknown)


def resolve(name: str, *, record_kind: str, record: Any) -> Resolved:
    """The raw value of ``[name]`` for a record (``None`` if it does not apply)."""
    value = VALUES.get(name)
    if value is None or record is None:
        return None
    resolver = value.resolvers.get(record_kind)
    if resolver is None:
        return None
    return resolver(record)


def render(text: str, *, record_kind: str, record: Any, html: bool) -> str:
    """Replace every known ``[NAME]`` in ``text`` with its value for ``record``.

    ``html=True`` escapes each value (the template's own markup is kept: staff wrote it) and
    joins multi-line values with ``<br>``; ``html=False`` gives plain text (email subjects,
    text parts). Unknown names are left as written; saving refuses them anyway.
    """
    cache: dict[str, str] = {}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in VALUES:
            return match.group(0)
        if name not in cache:
            raw = resolve(name, record_kind=record_kind, record=record)
            cache[name] = _format(raw, html=html)
        return cache[name]

    return PLACEHOLDER_RE.sub(substitute, text or "")


def _format(raw: Resolved, *, html: bool) -> str:
    if raw is None:
        return ""
    if isinstance(raw, str):
        return str(escape(raw)) if html else raw
    lines = [str(line) for line in raw]
    if html:
        return "<br>\n".join(str(escape(line)) for line in lines)
    return "\n".join(lines)
