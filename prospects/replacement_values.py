"""Replacement values prospects provides to notices (imported from ``ProspectsConfig.ready``)."""

from __future__ import annotations

from enrollments.replacement_values import price_to_compare
from notices import registry
from prospects.models import Prospect, ProspectServiceAddress


def _prospect(pk: int) -> Prospect | None:
    return (
        Prospect.objects.select_related("broker")
        .prefetch_related("contacts", "addresses__utility")
        .filter(pk=pk)
        .first()
    )


def _choices() -> list[tuple[int, str]]:
    return [(p.pk, f"#{p.pk} {p.company_name}") for p in Prospect.objects.order_by("-pk")[:200]]


def _addresses(prospect: Prospect) -> list[ProspectServiceAddress]:
    return sorted(prospect.addresses.all(), key=lambda a: a.pk)


def _first(prospect: Prospect) -> ProspectServiceAddress | None:
    addresses = _addresses(prospect)
    return addresses[0] if addresses else None


def _first_meter_number(prospect: Prospect) -> str:
    first = _first(prospect)
    return first.meter_number if first else ""


def _first_esiid(prospect: Prospect) -> str:
    first = _first(prospect)
    return first.esiid if first else ""


def service_accounts(prospect: Prospect) -> list[str]:
    """One line per address: address, utility, ESIID/LDC account, meter (utility's label)."""
    lines = []
    for a in _addresses(prospect):
        line = f"{a.one_line} — {a.utility.name} — {a.esiid}"
        if a.meter_number:
            line += f" — {a.meter_label}: {a.meter_number}"
        lines.append(line)
    return lines


def _price_to_compare(prospect: Prospect) -> str:
    first = _first(prospect)
    return price_to_compare(first.utility.price_to_compare_cents) if first else ""


def _contact_name(prospect: Prospect) -> str:
    contact = prospect.primary_contact
    return str(contact) if contact else ""


registry.register_record_kind("prospect", label="Prospect", loader=_prospect, choices=_choices)

_VALUES = {
    "PROSPECT_COMPANY": ("Prospect company name.", lambda p: p.company_name),
    "PROSPECT_CONTACT_NAME": ("Name of the prospect's primary contact.", _contact_name),
    "PROSPECT_BROKER": ("Broker who brought the prospect.", lambda p: str(p.broker or "")),
    "PROSPECT_SERVICE_ACCOUNTS": (
        "List of the prospect's service addresses, each with utility, ESIID / LDC account and "
        "meter number (one per line).",
        service_accounts,
    ),
    "PROSPECT_METER_NUMBER": (
        "Meter number of the prospect's first service address (for single-address prospects).",
        _first_meter_number,
    ),
    "PROSPECT_LDC": (
        "ESIID / LDC account of the prospect's first service address (single-address prospects).",
        _first_esiid,
    ),
    "UTILITY_PRICE_TO_COMPARE": (
        "The utility's price to compare (Utility Manager), e.g. 11.20¢/kWh.",
        _price_to_compare,
    ),
}

for _name, (_description, _resolver) in _VALUES.items():
    registry.register(_name, description=_description, resolver=_resolver, record="prospect")
