"""Extension points that are not events share one shape (``opsadmin.extensions.Registry``), and
the apps have filled them at start-up."""

from __future__ import annotations

import pytest

from enrollments import products_extras
from notices import registry as notices_registry
from opsadmin import roles
from opsadmin.context_processors import PORTAL_OFFERS
from opsadmin.extensions import Registry


def test_registering_the_same_value_twice_is_harmless_a_different_one_is_refused():
    points: Registry[str, object] = Registry("test point")
    first, second = object(), object()
    assert points.register("a", first) is first
    points.register("a", first)  # AppConfig.ready ran again
    with pytest.raises(ValueError, match="test point: 'a' is already registered"):
        points.register("a", second)
    assert points.get("a") is first
    points.register("a", second, replace=True)
    assert points.get("a") is second
    points.register("B", first)
    assert (points.keys(), len(points), "a" in points, "z" in points) == (
        ["B", "a"],
        2,
        True,
        False,
    )


def test_every_extension_point_uses_the_common_shape_and_is_filled_at_start_up():
    assert isinstance(roles.GRANTS, Registry)
    assert "enrollments.add_enrollment" in (roles.GRANTS.get("Agent") or set())
    assert isinstance(notices_registry.VALUES, Registry)
    assert "BILLING_ACCOUNT_NUMBER" in notices_registry.VALUES
    assert isinstance(notices_registry.KINDS, Registry)
    assert notices_registry.KINDS.get("enrollment") is not None
    assert isinstance(PORTAL_OFFERS, Registry)
    from drops.selectors import customer_may_drop

    assert PORTAL_OFFERS.get("drop") is customer_may_drop
    assert isinstance(products_extras.PRICERS, Registry)
    from authorizations.own_usage import own_usage_for_products

    assert products_extras.PRICERS.get("own_usage") is own_usage_for_products
