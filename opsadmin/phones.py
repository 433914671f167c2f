"""One way to store a phone number: US numbers as ``(713) 555-0100`` (issue #23).

Every phone a person types (Quick Enrollment, the wizard, My Account profile, prospects and
brokers, the Enrollment API and Sales Importer) is stored in this one form, so staff read
and search the same shape everywhere. ``phone_normalize`` is used by the models' ``clean()``
(model forms) and by the services that create customers from other channels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError

logger = logging.getLogger(__name__)

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


#: Rows rewritten per UPDATE when stored phones are normalised (data migrations).
NORMALISE_BATCH = 1000


@dataclass(frozen=True)
class StoredPhones:
    """What :func:`phones_normalise_stored` did to one column."""

    changed: int  # rewritten into ``(713) 555-0100``
    left: int  # not a 10-digit US number: kept as typed


def phones_normalise_stored(
    model, field: str = "phone", *, batch_size: int = NORMALISE_BATCH
) -> StoredPhones:
    """Rewrite ``model.<field>`` of rows stored before the rule into :func:`phone_normalize`'s
    form, ``batch_size`` rows per UPDATE; a value it refuses is kept and counted.

    For data migrations (``model`` is the migration state's model): rows are read with a
    server-side cursor and written with ``bulk_update``, so memory stays flat on any table.
    Empty and already normalised values are not written.
    """
    changed = left = 0
    pending = []
    rows = model._default_manager.exclude(**{field: ""}).only("pk", field).order_by("pk")
    for row in rows.iterator(chunk_size=batch_size):
        typed = getattr(row, field)
        try:
            normal = phone_normalize(typed)
        except ValueError:
            left += 1
            continue
        if normal == typed:
            continue
        setattr(row, field, normal)
        pending.append(row)
        if len(pending) >= batch_size:
            model._default_manager.bulk_update(pending, [field])
            changed += len(pending)
            pending = []
    if pending:
        model._default_manager.bulk_update(pending, [field])
        changed += len(pending)
    # the counts in the line too: whoever runs ``migrate`` reads them on the console
    logger.info(
        "phones.normalised_stored model=%s field=%s changed=%s left=%s",
        model._meta.label,
        field,
        changed,
        left,
        extra={"model": model._meta.label, "field": field, "changed": changed, "left": left},
    )
    return StoredPhones(changed=changed, left=left)
