from __future__ import annotations


def shell(request):
    """What the base layouts need: the menus a staff user may see."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated or not getattr(user, "is_staff_user", False):
        return {}
    return {
        "nav": {
            "enroll": user.has_perm("enrollments.add_enrollment"),
            "enrollments": user.has_perm("enrollments.view_enrollment"),
            "drops": user.has_perm("drops.view_droprequest")
            if _has_model("drops", "droprequest")
            else False,
            "prospects": user.has_perm("prospects.view_prospect")
            if _has_model("prospects", "prospect")
            else False,
            "renewals": user.has_perm("renewals.view_renewalnotice")
            if _has_model("renewals", "renewalnotice")
            else False,
            "programs": user.has_perm("programs.view_program")
            if _has_model("programs", "program")
            else False,
            "billing": user.has_perm("billing.view_billingrequest"),
            "partners": user.has_perm("partners.view_importbatch"),
            "configuration": user.has_perm("opsadmin.change_systemsetup"),
        }
    }


def _has_model(app_label: str, model: str) -> bool:
    from django.apps import apps

    try:
        apps.get_model(app_label, model)
    except LookupError:
        return False
    return True
