from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def attr(obj, name: str):
    """A field of a row for the configuration lists (display value for choices)."""
    display = getattr(obj, f"get_{name}_display", None)
    if callable(display):
        return display()
    value = getattr(obj, name, "")
    return "" if value is None else value
