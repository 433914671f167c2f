"""Extras for the products table that higher apps supply at start-up (``AppConfig.ready``).

Enrollments sits below the apps that know a person's usage (authorizations, usage), so it
cannot import them. The app that can price plans on a person's own months registers one
function here; the products step of Quick Enrollment and the Signup Wizard calls it and shows
two more columns ("Est. annual cost (your usage)", "Avg. price (your usage)") when it answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from opsadmin.extensions import Registry
from opsadmin.models import CustomerType, Utility

logger = logging.getLogger(__name__)

# Session key under which the usage-authorization screens remember the authorizations this
# browser created or opened (their tokens, newest first). Public shoppers are priced only on
# these: an ESIID typed into a public form proves nothing about whose usage it is.
SESSION_KEY = "own_usage_authorizations"
SESSION_MAX = 5


@dataclass(frozen=True)
class OwnUsageQuery:
    """What the products step knows about the person it is pricing for."""

    utility: Utility
    customer_type: CustomerType
    channel: str
    zip_code: str = ""
    esiid: str = ""  # the draft's (after the details step) or the agent's lookup
    customer_id: int | None = None  # Quick Enrollment: the existing customer attached
    authorization_tokens: tuple[str, ...] = ()  # from SESSION_KEY
    staff: bool = False  # an agent may look usage up by ESIID; a public shopper may not


@dataclass(frozen=True)
class OwnUsagePrice:
    annual_cost: Decimal  # dollars for a year of the person's usage
    average_cents: Decimal  # ¢/kWh, 0.1¢


@dataclass(frozen=True)
class OwnUsagePricing:
    prices: dict[str, OwnUsagePrice]  # by plan code
    source: str  # one line: which months, how many kWh, from where
    assumptions: tuple[StrOrPromise, ...] = field(default_factory=tuple)
    # which months were priced from 15-minute intervals and which from monthly totals
    priced_from: str = ""


OwnUsagePricer = Callable[[OwnUsageQuery], "OwnUsagePricing | None"]
PRICERS: Registry[str, OwnUsagePricer] = Registry("own-usage pricers")


def register_own_usage_pricer(fn: OwnUsagePricer) -> OwnUsagePricer:
    """Register the one function that prices plans on a person's own usage (the last
    registration wins, so a re-run ``ready`` keeps one)."""
    return PRICERS.register("own_usage", fn, replace=True)


def own_usage_pricing(query: OwnUsageQuery) -> OwnUsagePricing | None:
    """The registered pricer's answer, or None (nothing registered, no usage known, or the
    pricer failed: the products table must still show)."""
    pricer = PRICERS.get("own_usage")
    if pricer is None:
        return None
    try:
        return pricer(query)
    except Exception:
        logger.exception("enrollments.own_usage_pricer_failed")
        return None


def remember_authorization(session, token: str) -> None:
    """Put an authorization token at the front of the session's list (kept short)."""
    tokens = [t for t in session.get(SESSION_KEY, []) if t != token]
    session[SESSION_KEY] = [token, *tokens][:SESSION_MAX]
