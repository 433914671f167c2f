"""manage.py create_partner_key PARTNER: a new API key for a partner (created if new)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from opsadmin.errors import ApplicationError
from partners.services import api_key_create, partner_get_or_create


class Command(BaseCommand):
    help = "Create an Enrollment API key for PARTNER (created if new) and print the key once."

    def add_arguments(self, parser):
        parser.add_argument("partner", help="Partner name")
        parser.add_argument("--label", default="", help="A label for the key")

    def handle(self, *args, partner: str, label: str = "", **options):
        try:
            with transaction.atomic():
                obj, created = partner_get_or_create(name=partner)
                _, raw = api_key_create(partner=obj, label=label)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if created:
            self.stderr.write(f"Created partner {obj.name} ({obj.code}).")
        self.stdout.write(raw)
