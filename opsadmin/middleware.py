"""Staff sessions end after a working day (SESSION_COOKIE_AGE) and after idle time."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect


class IdleTimeoutMiddleware:
    """Log a staff user out after STAFF_IDLE_TIMEOUT seconds without a request.

    The activity stamp is rewritten at most every ``touch_every`` seconds (a tenth of the
    timeout, at most a minute), not on every request: rewriting it made every staff request
    a session UPDATE in its own transaction. A session can so end up to that much early,
    never late.
    """

    KEY = "last_activity"
    MAX_TOUCH_EVERY = 60

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
            touch_every = min(self.MAX_TOUCH_EVERY, settings.STAFF_IDLE_TIMEOUT // 10)
            if last is None or now - last >= touch_every:
                request.session[self.KEY] = now
        return self.get_response(request)
