from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from opsadmin.extensions import Registry

# What the My Account Manage menu offers a customer, each decided by the app that owns the
# rule and registered from its ``AppConfig.ready`` (core imports no domain app): name ->
# ``rule(customer=...) -> bool``. drops registers "drop" (``drops.selectors.customer_may_drop``).
PORTAL_OFFERS: Registry[str, Callable[..., bool]] = Registry("My Account offers")


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    perm: str  # "app.codename" the target view requires
    app_label: str  # the app that must be installed for the link to exist


@dataclass
class NavLink:
    label: str
    url: str
    current: bool = False


@dataclass
class NavMenu:
    label: str
    items: list[NavLink] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return any(item.current for item in self.items)


# The staff menus: one entry per screen, each shown only to users holding the permission the
# view itself checks (see each app's views: @staff_required(...)). Order is the menu's order.
STAFF_MENUS: tuple[tuple[str, tuple[NavItem, ...]], ...] = (
    (
        "Customer",
        (
            NavItem(
                "Enroll Customer",
                "/enrollments/quick/",
                "enrollments.add_enrollment",
                "enrollments",
            ),
            NavItem(
                "Customer Program Summary",
                "/programs/",
                "programs.view_programenrollment",
                "programs",
            ),
            NavItem(
                "Usage authorizations",
                "/usage-authorization/",
                "authorizations.view_usageauthorization",
                "authorizations",
            ),
            NavItem("Usage sync", "/usage/sync/", "usage.view_usagesyncstate", "usage"),
        ),
    ),
    (
        "Enrollments",
        (
            NavItem(
                "Find an enrollment",
                "/enrollments/",
                "enrollments.view_enrollment",
                "enrollments",
            ),
            NavItem(
                "Stuck enrollments",
                "/enrollments/stuck/",
                "enrollments.view_enrollment",
                "enrollments",
            ),
            NavItem(
                "Sales Importer", "/partners/imports/", "partners.view_importbatch", "partners"
            ),
            NavItem(
                "Partner API keys", "/partners/keys/", "partners.view_partnerapikey", "partners"
            ),
            NavItem(
                "Billing exceptions",
                "/billing/exceptions/",
                "billing.view_billingrequest",
                "billing",
            ),
            NavItem("Outboxes", "/outbox/", "billing.view_billingrequest", "billing"),
        ),
    ),
    (
        "Drops",
        (
            NavItem("Drop queue", "/drops/", "drops.view_droprequest", "drops"),
            NavItem("Drop Codes", "/drops/settings/drop-codes/", "drops.view_dropcode", "drops"),
            NavItem("Holds", "/drops/settings/holds/", "drops.view_dropsettings", "drops"),
        ),
    ),
    (
        "Prospects",
        (
            NavItem("Prospects", "/prospects/", "prospects.view_prospect", "prospects"),
            NavItem("Brokers", "/prospects/brokers/", "prospects.view_broker", "prospects"),
        ),
    ),
    (
        "Renewals",
        (
            NavItem("Renewal notices", "/renewals/", "renewals.view_renewalnotice", "renewals"),
            NavItem(
                "Renewal setup", "/renewals/setup/", "renewals.change_renewalsetup", "renewals"
            ),
            NavItem("Notice templates", "/notices/", "notices.view_noticetemplate", "notices"),
            NavItem("Letter queue", "/notices/letters/", "notices.view_letter", "notices"),
        ),
    ),
    (
        "Programs",
        (
            NavItem("Work orders", "/programs/work-orders/", "programs.view_workorder", "programs"),
            NavItem("DERMS sync", "/programs/sync/", "programs.view_syncrequest", "programs"),
            NavItem("Program setup", "/programs/config/", "programs.view_programtype", "programs"),
        ),
    ),
    (
        "Catalogue",
        (
            NavItem(
                "Plans", "/enrollments/catalogue/plans/", "enrollments.view_plan", "enrollments"
            ),
            NavItem(
                "TDU delivery charges",
                "/enrollments/catalogue/tdu-charges/",
                "enrollments.view_tducharge",
                "enrollments",
            ),
            NavItem(
                "Promo codes",
                "/enrollments/catalogue/promo-codes/",
                "enrollments.view_promocode",
                "enrollments",
            ),
            NavItem(
                "Referral sources",
                "/enrollments/catalogue/referral-sources/",
                "enrollments.view_referralsource",
                "enrollments",
            ),
            NavItem(
                "Consent methods",
                "/enrollments/catalogue/consent-methods/",
                "enrollments.view_consentmethod",
                "enrollments",
            ),
        ),
    ),
    (
        "Configuration",
        (
            NavItem("Overview", "/configuration/", "opsadmin.change_systemsetup", "opsadmin"),
            NavItem(
                "System Setup",
                "/configuration/system-setup/",
                "opsadmin.change_systemsetup",
                "opsadmin",
            ),
            NavItem(
                "Third Party Providers",
                "/configuration/third-party-providers/",
                "opsadmin.change_thirdpartyprovider",
                "opsadmin",
            ),
            NavItem(
                "Utility Manager", "/configuration/utilities/", "opsadmin.view_utility", "opsadmin"
            ),
            NavItem(
                "Customer Types",
                "/configuration/customer-types/",
                "opsadmin.view_customertype",
                "opsadmin",
            ),
            NavItem(
                "Two-factor",
                "/configuration/two-factor/",
                "opsadmin.reset_two_factor",
                "opsadmin",
            ),
            NavItem(
                "Change history",
                "/configuration/#history",
                "opsadmin.change_systemsetup",
                "opsadmin",
            ),
        ),
    ),
)


def shell(request):
    """What the base layouts need: the menus a staff user may see, or for a customer what
    the My Account Manage menu offers."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    if getattr(user, "is_customer", False):
        # Evaluated only when a template asks (the My Account shell does), at most once.
        return {"portal_drop_visible": cache(lambda: _offered(user, "drop"))}
    if not getattr(user, "is_staff_user", False):
        return {}
    path = request.path
    menus = []
    for label, items in STAFF_MENUS:
        links = [
            NavLink(item.label, item.url)
            for item in items
            if _installed(item.app_label) and user.has_perm(item.perm)
        ]
        if links:
            menus.append(NavMenu(label, links))
    _mark_current(menus, path)
    allowed = {link.url for menu in menus for link in menu.items}
    return {
        "staff_menus": menus,
        # Flags kept for templates that show one tile or link per area.
        "nav": {
            "enroll": "/enrollments/quick/" in allowed,
            "drops": "/drops/" in allowed,
            "prospects": "/prospects/" in allowed,
            "renewals": "/renewals/" in allowed,
            "programs": "/programs/" in allowed,
            "billing": "/billing/exceptions/" in allowed,
            "partners": "/partners/imports/" in allowed,
            "configuration": "/configuration/" in allowed,
        },
    }


def _mark_current(menus: list[NavMenu], path: str) -> None:
    """The link whose URL is the longest prefix of this page's path is the current one."""
    best: NavLink | None = None
    for menu in menus:
        for link in menu.items:
            url = link.url.split("#")[0]
            if (
                url
                and "#" not in link.url
                and path.startswith(url)
                and (best is None or len(url) > len(best.url))
            ):
                best = link
    if best is not None:
        best.current = True


def _offered(user, name: str) -> bool:
    """Whether the Manage menu offers ``name`` to this customer: the owning app's rule decides
    (uses the customer row the view already loaded on ``request.user`` when there is one)."""
    from django.core.exceptions import ObjectDoesNotExist

    rule = PORTAL_OFFERS.get(name)
    if rule is None:
        return False
    try:
        customer = user.customer
    except ObjectDoesNotExist:
        return False
    return rule(customer=customer)


@cache
def _installed(app_label: str) -> bool:
    from django.apps import apps

    return apps.is_installed(app_label)
