"""The `city311` command: the project's manage.py, installed with the package."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
    from city311.lib.env import ConfigError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except ConfigError as e:
        sys.exit(f"city311: configuration error: {e}")


if __name__ == "__main__":
    main()
