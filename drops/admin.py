"""Django admin for drops rows that have no screen of their own yet."""

from __future__ import annotations

from django.contrib import admin

from drops.models import ChangeOfTermsNotice


@admin.register(ChangeOfTermsNotice)
class ChangeOfTermsNoticeAdmin(admin.ModelAdmin):
    """Record a change-of-terms notice: the ETF is waived for 14 days after it."""

    list_display = ("service_account", "sent_on")
    raw_id_fields = ("service_account",)
    date_hierarchy = "sent_on"
