"""One way to store a phone number: US numbers as ``(713) 555-0100`` (issue #23).

Every phone a person types (Quick Enrollment, the wizard, My Account profile, prospects and
brokers, the Enrollment API and Sales Importer) is stored in this one form, so staff read
and search the same shape everywhere. ``phone_normalize`` is used by the models' ``clean()``
(model forms) and by the services that create customers from other channels.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

PHONE_ERROR = "Enter a 10-digit US phone number, e.g. (713) 555-0100."


def phone_digits(value: str) -> str:
    return "".join(ch for ch in value or "" if ch.isdigit())


def phone_normalize(value: str, *, strict: bool = True) -> str:
    """``"713.555.0100"``, ``"+1 713 555 0100"`` -> ``"(713) 555-0100"``; ``""`` stays empty.

    A number that is not a 10-digit US number raises ``ValueError`` when ``strict``; else it
    is kept as typed (trimmed), so a channel that accepts foreign numbers loses nothing.
    """
    raw = (value or "").strip()
    if not raw:
        return ""
    digits = phone_digits(raw)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        if strict:
            raise ValueError(PHONE_ERROR)
        return raw
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def clean_phone_field(instance, field: str = "phone") -> None:
    """For a model's ``clean()``: normalise ``instance.<field>`` or raise a field error."""
    try:
        setattr(instance, field, phone_normalize(getattr(instance, field)))
    except ValueError as exc:
        raise ValidationError({field: str(exc)}) from exc
