"""Composes the lookups into one Enricher for the engine."""

from __future__ import annotations

from riskscore.core.attempt import Attempt
from riskscore.core.enrichment import Enrichment
from riskscore.enrich.geo import GeoLookup
from riskscore.enrich.useragent import UserAgentParser


class AttemptEnricher:
    """Geo and network from the IP, device from the User-Agent."""

    def __init__(self, geo: GeoLookup, user_agents: UserAgentParser) -> None:
        self._geo = geo
        self._user_agents = user_agents

    def enrich(self, attempt: Attempt) -> Enrichment:
        """Look up one attempt."""
        geo, network = self._geo.lookup(attempt.ip_address)
        return Enrichment(
            geo=geo, network=network, user_agent=self._user_agents.parse(attempt.user_agent)
        )
