"""Staff sessions end after a working day (SESSION_COOKIE_AGE) and after idle time."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect


class IdleTimeoutMiddleware:
    KEY = "last_activity"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "is_staff_user", False):
            now = int(time.time())
            last = request.session.get(self.KEY)
            if last is not None and now - last > settings.STAFF_IDLE_TIMEOUT:
                logout(request)
                return redirect(f"{settings.LOGIN_URL}?next={request.path}")
            request.session[self.KEY] = now
        return self.get_response(request)
