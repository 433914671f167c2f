#!/usr/bin/env python
"""Django's command-line utility for OpsAdmin."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")
    if not any(os.environ.get(k) for k in ("DEBUG", "SECRET_KEY", "DATABASE_URL")):
        # Nothing production-like is configured: a developer's checkout. Run in development
        # mode (embedded databases) rather than refuse; web servers (wsgi) never do this.
        os.environ["DEBUG"] = "true"
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - load settings now, to fail with one line
    except ImproperlyConfigured as exc:
        sys.exit(f"OpsAdmin cannot start: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
