"""Reading settings from the environment.

Every helper fails loudly with a message that names the variable and says what to put there,
so a bad deployment stops at start-up instead of misbehaving later.
"""

from __future__ import annotations

import ipaddress
import os
import zoneinfo
from urllib.parse import urlparse


class ConfigError(Exception):
    """A setting in the environment has a value city311 cannot use."""


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name}={value!r} is not a yes/no value: use true or false.")


def envint(
    name: str, default: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = os.environ.get(name, default).strip()
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name}={number} is too small: it must be at least {minimum}.")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{name}={number} is too large: it must be at most {maximum}.")
    return number


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def envtimezone(name: str, default: str) -> str:
    value = os.environ.get(name, default).strip()
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name}={value!r} is not a time zone: use an IANA name such as America/New_York."
        ) from None
    return value


def envdatabase(name: str, default: str) -> dict[str, object]:
    """Parse DATABASE_URL: sqlite:///path/to/file.db or postgres://user:pass@host:port/name."""
    import dj_database_url

    value = os.environ.get(name, default).strip()
    scheme = urlparse(value).scheme
    if scheme not in ("sqlite", "postgres", "postgresql", "pgsql"):
        raise ConfigError(
            f"{name}={value!r} is not supported: use sqlite:///path/to/city311.db "
            "or postgres://user:password@host:5432/dbname."
        )
    try:
        config: dict[str, object] = dict(dj_database_url.parse(value))
    except ValueError as e:
        raise ConfigError(f"{name}={value!r} could not be read: {e}") from None
    if scheme == "sqlite" and config.get("NAME") in ("", ":memory:"):
        raise ConfigError(
            f"{name}={value!r} names no file: use sqlite:///path/to/city311.db "
            "(three slashes, then the path)."
        )
    return config


def envurl(name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip()
    if value and urlparse(value).scheme not in schemes:
        raise ConfigError(f"{name}={value!r} must start with one of: {', '.join(schemes)}://")
    return value


def envnetworks(name: str, default: str) -> list[str]:
    """Comma-separated IP networks ("10.20.0.0/16, 127.0.0.1"); a bare address is its own /32."""
    networks = []
    for item in envlist(name, default):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(
                f"{name}: {item!r} is not an IP network: write it as 10.20.0.0/16 or 127.0.0.1."
            ) from None
    return networks
