from django.db import migrations


def create(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ("Agent", "Ops", "Admin"):
        Group.objects.get_or_create(name=name)
    UsageTierSet = apps.get_model("opsadmin", "UsageTierSet")
    # Texas EFL tiers (PUCT 25.475): 500 / 1,000 / 2,000 kWh.
    UsageTierSet.objects.get_or_create(state="TX", defaults={"tiers_kwh": [500, 1000, 2000]})
    SystemSetup = apps.get_model("opsadmin", "SystemSetup")
    SystemSetup.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("opsadmin", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
