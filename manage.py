#!/usr/bin/env python
"""Django's command-line utility for OpsAdmin."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")
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
