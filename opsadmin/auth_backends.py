"""Login lockout (django-axes) keyed on user AND IP together.

A call center shares one public IP: one agent's typos must lock out that agent from that
IP, not the whole floor, and an attacker spraying one account from many IPs is still held
per IP. Calls without a request (Django's test client, management commands) have no IP to
key on and pass straight to the model backend.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
