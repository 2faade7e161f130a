"""Adapters that enrich an attempt: IP geolocation and ASN, User-Agent parsing."""
