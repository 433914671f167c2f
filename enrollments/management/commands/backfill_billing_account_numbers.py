"""The one-time mass update of billing account numbers for the enrollments accepted before it was stored.

Asks the billing system (ESG REST API) for the billing account number of every enrollment
on an ESG REST utility that the billing system accepted but that has none stored yet.

- Batched: ``--batch-size`` enrollments per database transaction, in primary-key order.
- Resumable: only blank numbers are looked at, so a rerun after an interruption continues
  where it stopped; ``--after-id N`` (printed with every batch) skips straight past N.
- Safe to run twice: a stored number is never overwritten (the update only fills blanks).
- Stops on a transient error (the billing system is down) and says how to resume.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from billing.selectors import esg_billing_account_lookup, esg_session
from enrollments.models import Enrollment
from opsadmin.errors import PermanentIntegrationError, TransientIntegrationError
from opsadmin.models import Utility

# Statuses whose enrollment the billing system has accepted at some point.
ACCEPTED_STATUSES = (
    Enrollment.Status.ACCEPTED,
    Enrollment.Status.ACTIVE,
    Enrollment.Status.DROPPED,
    Enrollment.Status.MOVED_OUT,
)


class Command(BaseCommand):
    help = "Fill missing billing account numbers from the ESG REST API (batched, resumable)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=200)
        parser.add_argument("--after-id", type=int, default=0, help="Resume after this id.")
        parser.add_argument("--limit", type=int, default=0, help="Stop after N enrollments.")
        parser.add_argument("--dry-run", action="store_true", help="Ask, but store nothing.")

    def handle(self, *args, batch_size: int, after_id: int, limit: int, dry_run: bool, **opts):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        base = Enrollment.objects.filter(
            billing_account_number="",
            status__in=ACCEPTED_STATUSES,
            service_account__utility__billing_system=Utility.BillingSystem.ESG_REST,
        )
        total = base.filter(pk__gt=after_id).count()
        self.stdout.write(f"{total} enrollments without a billing account number to look up.")
        done = found = missing = 0
        last_id = after_id
        with esg_session() as client:
            while not limit or done < limit:
                size = min(batch_size, limit - done) if limit else batch_size
                batch = list(
                    base.filter(pk__gt=last_id)
                    .order_by("pk")
                    .values_list("pk", "service_account__esiid")[:size]
                )
                if not batch:
                    break
                numbers: dict[int, str] = {}
                for pk, esiid in batch:
                    try:
                        number = esg_billing_account_lookup(esiid=esiid, client=client)
                    except TransientIntegrationError as exc:
                        self._store(numbers, dry_run)
                        raise CommandError(
                            f"The billing system is unavailable ({exc}). Stored what was found; "
                            f"resume with --after-id {last_id}."
                        ) from exc
                    except PermanentIntegrationError as exc:
                        self.stderr.write(f"  enrollment {pk}: {exc}")
                        number = None
                    if number:
                        numbers[pk] = number
                    else:
                        missing += 1
                    last_id = pk
                found += self._store(numbers, dry_run)
                done += len(batch)
                self.stdout.write(
                    f"  {done}/{total} looked up, {found} stored, {missing} without a number "
                    f"(resume with --after-id {last_id})"
                )
        verb = "would be stored" if dry_run else "stored"
        self.stdout.write(
            self.style.SUCCESS(f"Done: {done} looked up, {found} {verb}, {missing} without one.")
        )

    @staticmethod
    def _store(numbers: dict[int, str], dry_run: bool) -> int:
        if dry_run:
            return len(numbers)
        stored = 0
        with transaction.atomic():
            for pk, number in numbers.items():
                # Only fill a blank: a number stored meanwhile (status poll, lazy fetch) stays.
                stored += Enrollment.objects.filter(pk=pk, billing_account_number="").update(
                    billing_account_number=number
                )
        return stored
