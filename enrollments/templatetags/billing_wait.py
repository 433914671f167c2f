"""``{% billing_waiting enrollment as waiting %}``: the enrollment's request the billing
system has not acknowledged while it fails (or for a while), for the "waiting" line."""

from __future__ import annotations

from django import template

from billing.selectors import billing_request_waiting

register = template.Library()


@register.simple_tag
def billing_waiting(enrollment):
    if enrollment is None or not getattr(enrollment, "pk", None):
        return None
    return billing_request_waiting(subject_type="enrollment", subject_id=enrollment.pk)
