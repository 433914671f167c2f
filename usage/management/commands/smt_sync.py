"""``manage.py smt_sync ESIID [--full] [--start YYYY-MM-DD --end YYYY-MM-DD]``: pull now."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from enrollments.models import ServiceAccount
from opsadmin.errors import IntegrationError
from usage.adapters.smt import smt_client
from usage.services import smt_pull_window, smt_sync


class Command(BaseCommand):
    help = "Pull one ESIID's Smart Meter Texas intervals now (both channels) and store them."

    def add_arguments(self, parser):
        parser.add_argument("esiid")
        parser.add_argument("--full", action="store_true", help="the whole 24 months")
        parser.add_argument("--start", type=date.fromisoformat)
        parser.add_argument("--end", type=date.fromisoformat)

    def handle(self, *args, esiid: str, full: bool, start, end, **options):
        sa = (
            ServiceAccount.objects.select_related("utility")
            .filter(esiid=esiid)
            .order_by("-pk")
            .first()
        )
        if sa is None:
            raise CommandError(f"No service account has ESIID {esiid}.")
        if not sa.utility.is_ercot:
            raise CommandError("Smart Meter Texas serves ERCOT premises only.")
        if not (start and end):
            start, end = smt_pull_window(service_account=sa, full=full)
        try:
            with smt_client() as client:
                result = smt_sync(service_account=sa, client=client, start=start, end=end)
        except IntegrationError as exc:
            raise CommandError(f"SMT pull failed: {exc}") from exc
        self.stdout.write(
            f"{esiid}: {result.days_stored} day rows stored for {start}..{end}; "
            f"data through {result.data_through or '-'}"
        )
