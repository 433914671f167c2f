"""Seed the consent methods (PUCT 25.474 proof of authorization) and referral sources."""

from __future__ import annotations

from django.db import migrations

CONSENT_METHODS = [
    ("web", "Web", False),
    ("phone", "Phone", False),
    ("signed_contract", "Signed Contract", True),
]
REFERRAL_SOURCES = [
    "Internet search",
    "Friend or family",
    "Mailer",
    "TV or radio",
    "Social media",
    "Other",
]


def seed(apps, schema_editor):
    ConsentMethod = apps.get_model("enrollments", "ConsentMethod")
    ReferralSource = apps.get_model("enrollments", "ReferralSource")
    for code, name, requires_document in CONSENT_METHODS:
        ConsentMethod.objects.get_or_create(
            code=code, defaults={"name": name, "requires_document": requires_document}
        )
    for order, name in enumerate(REFERRAL_SOURCES):
        ReferralSource.objects.get_or_create(name=name, defaults={"sort_order": order})


class Migration(migrations.Migration):
    dependencies = [("enrollments", "0002_catalogue")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
