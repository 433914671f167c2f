"""Write the Renewal Notices Excel export to a file (for scheduled jobs)."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from renewals.export import write_renewal_export
from renewals.selectors import RenewalFilters, renewal_notice_rows


class Command(BaseCommand):
    help = "Write the Renewal Notices Excel export (same file as the screen's) to --out."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="Path of the .xlsx file to write.")
        parser.add_argument("--end-from", type=date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument("--end-to", type=date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument("--utility-id", type=int)
        parser.add_argument("--type", choices=["email", "letter"], dest="channel", default="")
        parser.add_argument("--sent", choices=["yes", "no"])

    def handle(self, *args, **options):
        filters = RenewalFilters(
            end_from=options["end_from"],
            end_to=options["end_to"],
            utility_id=options["utility_id"],
            channel=options["channel"] or "",
            sent={"yes": True, "no": False}.get(options["sent"] or ""),
        )
        try:
            count = write_renewal_export(
                rows=renewal_notice_rows(filters=filters), out=options["out"]
            )
        except OSError as exc:
            raise CommandError(f"Cannot write {options['out']}: {exc}") from exc
        self.stdout.write(f"Wrote {count} renewal notices to {options['out']}")
