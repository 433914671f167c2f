"""/api/v1/: the Enrollment API; anything else under it is a problem+json 404."""

from __future__ import annotations

from django.urls import path, re_path

from partners import api_programs  # noqa: F401  (registers the aggregator endpoints)
from partners.api import api, problem


def _unknown(request, rest: str = ""):
    return problem(404, "No such API path.")


urlpatterns: list = [
    path("", api.urls),
    re_path(r"^(?P<rest>.*)$", _unknown),
]
