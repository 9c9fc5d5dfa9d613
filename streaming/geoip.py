"""Country of an IP address from a MaxMind-format database (GeoLite2, GeoIP2, DB-IP .mmdb).

Shared by the edge (geo restriction, country-based functions) and the steering service.
"""

from __future__ import annotations

from collections.abc import Mapping

import maxminddb

from streaming.errors import ConfigError


class MaxMindCountries:
    """ISO country codes from a GeoLite2-Country / GeoIP2 / DB-IP style `.mmdb` file."""

    def __init__(self, path: str, field: str = "geo_restriction.database") -> None:
        try:
            self._reader = maxminddb.open_database(path)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise ConfigError(f"{field}: cannot open {path}: {exc}") from None

    def country(self, client_ip: str, headers: Mapping[str, str]) -> str | None:
        try:
            record = self._reader.get(client_ip)
        except (ValueError, TypeError):
            return None
        if not isinstance(record, dict):
            return None
        for field in ("country", "registered_country"):
            value = record.get(field)
            code = value.get("iso_code") if isinstance(value, dict) else None
            if isinstance(code, str):
                return code.upper()
        return None

    def close(self) -> None:
        self._reader.close()
