"""Brokers' and prospect contacts' phones stored before the one phone rule (opsadmin.phones)
in its form."""

from django.db import migrations

from opsadmin.phones import phones_normalise_stored


def normalise(apps, schema_editor):
    phones_normalise_stored(apps.get_model("prospects", "Broker"), "phone")
    phones_normalise_stored(apps.get_model("prospects", "ProspectContact"), "phone")


class Migration(migrations.Migration):
    dependencies = [
        ("prospects", "0001_prospects_addresses_notes"),
    ]

    # Reversing keeps the normalised form: what was typed before is not needed.
    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
