"""Delete old attempt records of sent outbox rows (what the daily beat task does)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from opsadmin.outbox import attempts_prune


class Command(BaseCommand):
    help = (
        "Delete the attempt records of sent outbox rows older than "
        "OUTBOX_ATTEMPT_RETENTION_DAYS (rows waiting or failed keep theirs)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="keep this many days instead of OUTBOX_ATTEMPT_RETENTION_DAYS",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would go, delete nothing"
        )

    def handle(self, *args, days=None, dry_run=False, **options):
        days = settings.OUTBOX_ATTEMPT_RETENTION_DAYS if days is None else days
        if days < 1:
            self.stderr.write("--days must be at least 1")
            raise SystemExit(2)
        counts = attempts_prune(older_than_days=days, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for name, count in counts.items():
            self.stdout.write(f"{name}: {verb} {count} attempt records older than {days} days")
