"""Staff roles (groups Agent, Ops, Admin) and the permissions each holds.

The groups are created by a data migration. Each app grants its own permissions in its
``AppConfig.ready`` with :func:`grant`; after every ``migrate`` the grants are synced to the
groups (``post_migrate``), so a permission added by a later app reaches the roles too.
Admin always holds every permission of the product's apps.
"""

from __future__ import annotations

from opsadmin.extensions import Registry

GROUPS = ("Agent", "Ops", "Admin")
PRODUCT_APPS = (
    "opsadmin",
    "enrollments",
    "billing",
    "usage",
    "myaccount",
    "drops",
    "prospects",
    "renewals",
    "notices",
    "programs",
    "partners",
    "authorizations",
)

GRANTS: Registry[str, frozenset[str]] = Registry("staff role grants")


def grant(group: str, perms: list[str] | tuple[str, ...]) -> None:
    """Declare that ``group`` holds ``perms`` ("app_label.codename")."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group}")
    GRANTS.register(group, (GRANTS.get(group) or frozenset()) | frozenset(perms), replace=True)


def sync_group_permissions(**kwargs) -> None:
    """post_migrate: give each group exactly its declared permissions (Admin: all)."""
    from django.contrib.auth.models import Group, Permission

    all_perms = Permission.objects.filter(content_type__app_label__in=PRODUCT_APPS).select_related(
        "content_type"
    )
    by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in all_perms}
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        if name == "Admin":
            wanted = list(by_name.values())
        else:
            wanted = [by_name[p] for p in GRANTS.get(name) or () if p in by_name]
        group.permissions.set(wanted)


# Core's own grants.
grant("Agent", ["opsadmin.view_utility", "opsadmin.view_customertype"])
grant(
    "Ops",
    [
        "opsadmin.view_utility",
        "opsadmin.view_customertype",
        "opsadmin.view_systemsetup",
    ],
)
