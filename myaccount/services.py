"""What a customer may change from My Account."""

from __future__ import annotations

import logging

from django.db import transaction

from enrollments.models import Customer

logger = logging.getLogger(__name__)

PROFILE_FIELDS = (
    "email",
    "phone",
    "language",
    "notice_preference",
    "billing_address_line1",
    "billing_address_line2",
    "billing_city",
    "billing_state",
    "billing_zip",
)


@transaction.atomic
def customer_profile_update(*, customer: Customer, data: dict) -> Customer:
    """Contact details and how notices are sent (email or letter). Sign-in stays as it is."""
    # Compare with the stored row (a ModelForm may already have copied data onto ``customer``).
    stored = Customer.objects.select_for_update().values(*PROFILE_FIELDS).get(pk=customer.pk)
    changed = [f for f in PROFILE_FIELDS if f in data and stored[f] != data[f]]
    for name in changed:
        setattr(customer, name, data[name])
    if changed:
        customer.save(update_fields=changed)
        logger.info(
            "myaccount.profile.updated", extra={"customer_id": customer.pk, "fields": changed}
        )
    return customer


@transaction.atomic
def customer_language_set(*, customer: Customer, language: str) -> Customer:
    """The language switch: the customer's documents, notices and pages use ``language``."""
    if language not in dict(Customer.Language.choices):
        raise ValueError(f"unsupported language {language!r}")
    if customer.language != language:
        customer.language = language
        customer.save(update_fields=["language"])
        logger.info(
            "myaccount.language.updated", extra={"customer_id": customer.pk, "language": language}
        )
    return customer
