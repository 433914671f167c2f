"""Who may open what: staff pages need a staff user (and a permission), My Account a customer."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

STAFF_GROUPS = ("Agent", "Ops", "Admin")


def staff_required(perm: str | tuple[str, ...] | None = None):
    """Decorator for staff views: anonymous -> /login/, customers -> 403, missing perm -> 403."""

    perms = (perm,) if isinstance(perm, str) else (perm or ())

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not user.is_staff_user or not user.is_active:
                raise PermissionDenied("Staff only.")
            if perms and not user.has_perms(perms):
                raise PermissionDenied("You do not have permission for this.")
            return view(request, *args, **kwargs)

        wrapper.staff_view = True  # type: ignore[attr-defined]  # the access-control walk reads this
        return wrapper

    return decorator


def customer_required(view):
    """Decorator for My Account views: anonymous -> My Account login, staff -> 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.MYACCOUNT_LOGIN_URL)
        if not user.is_customer or not user.is_active:
            raise PermissionDenied("My Account is for customers.")
        return view(request, *args, **kwargs)

    wrapper.customer_view = True  # type: ignore[attr-defined]
    return wrapper
