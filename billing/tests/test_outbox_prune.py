"""Retention of outbox attempt records: a sent row's records go after the retention; a row
still waiting or failed keeps its whole history (the Outboxes screen shows it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing import outbox
from billing.models import BillingRequest
from billing.tests.outbox_rows import request_row
from conftest import set_fault
from opsadmin import outbox as engine
from opsadmin.models import OutboxAttempt
from opsadmin.tasks import outbox_attempts_prune

pytestmark = pytest.mark.django_db


def _attempts(row) -> int:
    return OutboxAttempt.objects.filter(outbox="billing", message_id=row.pk).count()


def _age(days: int) -> None:
    """Move every attempt record ``days`` back (time passing, not a different history)."""
    for a in OutboxAttempt.objects.all():
        OutboxAttempt.objects.filter(pk=a.pk).update(
            started_at=a.started_at - timedelta(days=days),
            finished_at=a.finished_at - timedelta(days=days),
        )


@pytest.fixture
def history(esg_url):
    """Through the ESG simulator: ``done`` sent after one outage, ``waiting`` still retrying
    after the outage, ``recent`` sent today."""
    done, waiting = request_row(1), request_row(2)
    set_fault(esg_url.removesuffix("/esg"), "esg", outage=True)
    assert set(outbox.send_batch().values()) == {"retrying"}
    set_fault(esg_url.removesuffix("/esg"), "esg", outage=False)
    BillingRequest.objects.filter(pk=done.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert outbox.send_batch(ids=[done.pk]) == {done.pk: "sent"}
    _age(100)
    recent = request_row(3)
    assert outbox.send_batch(ids=[recent.pk]) == {recent.pk: "sent"}
    assert (_attempts(done), _attempts(waiting), _attempts(recent)) == (2, 1, 1)
    return done, waiting, recent


def test_old_records_of_sent_rows_go_and_the_rest_stay(history):
    done, waiting, recent = history
    assert engine.attempts_prune(older_than_days=90) == {"billing": 2, "programs": 0}
    assert (_attempts(done), _attempts(waiting), _attempts(recent)) == (0, 1, 1)
    assert BillingRequest.objects.filter(pk=done.pk, state="sent").exists()  # the row stays
    assert engine.attempts_prune(older_than_days=90) == {"billing": 0, "programs": 0}


def test_retention_is_measured_in_days(history):
    done, _, _ = history
    assert engine.attempts_prune(older_than_days=101)["billing"] == 0
    assert _attempts(done) == 2


def test_dry_run_counts_and_deletes_nothing(history, capsys):
    before = OutboxAttempt.objects.count()
    call_command("outbox_prune", "--days", "90", "--dry-run")
    out = capsys.readouterr().out
    assert "billing: would delete 2 attempt records older than 90 days" in out
    assert OutboxAttempt.objects.count() == before
    call_command("outbox_prune", "--days", "90")
    assert "billing: deleted 2 attempt records" in capsys.readouterr().out
    assert OutboxAttempt.objects.count() == before - 2


def test_batches_loop_until_done(history, monkeypatch):
    done, waiting, recent = history
    monkeypatch.setattr(engine, "PRUNE_BATCH", 1)
    assert engine.attempts_prune(older_than_days=90)["billing"] == 2
    assert (_attempts(done), _attempts(waiting), _attempts(recent)) == (0, 1, 1)


def test_the_daily_task_uses_the_setting(history, settings):
    settings.OUTBOX_ATTEMPT_RETENTION_DAYS = 120
    assert outbox_attempts_prune()["billing"] == 0
    settings.OUTBOX_ATTEMPT_RETENTION_DAYS = 30
    assert outbox_attempts_prune()["billing"] == 2
    beat = {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "opsadmin.outbox_attempts_prune" in beat
