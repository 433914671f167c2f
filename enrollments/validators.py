"""Validation of market identifiers at the edge."""

from __future__ import annotations

import re

from django.utils.translation import gettext

from opsadmin.errors import ApplicationError

ESIID_RE = re.compile(r"^10\d{15}(\d{5})?$")


def validate_esiid_for_utility(esiid: str, utility) -> None:
    """An ERCOT ESIID is 17 or 22 digits starting with 10 and carries its TDSP's prefix."""
    if not ESIID_RE.fullmatch(esiid or ""):
        raise ApplicationError(
            gettext("An ESIID is 17 or 22 digits and starts with 10."), field="esiid"
        )
    if utility.esiid_prefixes and not any(esiid.startswith(p) for p in utility.esiid_prefixes):
        raise ApplicationError(
            gettext(
                "This ESIID does not belong to %(utility)s (expected it to start with "
                "%(prefixes)s)."
            )
            % {
                "utility": utility.name,
                "prefixes": (" " + gettext("or") + " ").join(utility.esiid_prefixes),
            },
            field="esiid",
        )
