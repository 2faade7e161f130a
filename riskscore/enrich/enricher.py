"""Composes the lookups into one Enricher for the engine."""

from __future__ import annotations

from riskscore.core.attempt import Attempt
from riskscore.core.enrichment import Enrichment, UserAgentInfo
from riskscore.enrich.geo import GeoLookup
from riskscore.enrich.network_type import NetworkClassifier
from riskscore.enrich.reputation import ReputationLookup
from riskscore.enrich.useragent import UserAgentParser


class AttemptEnricher:
    """Geo, network, network type and reputation from the IP, device from the User-Agent.

    The network classifier and the deny lists are optional: without them the
    enrichment's ``network_class`` and ``reputation`` stay ``None``.
    """

    def __init__(
        self,
        geo: GeoLookup,
        user_agents: UserAgentParser,
        *,
        networks: NetworkClassifier | None = None,
        reputation: ReputationLookup | None = None,
    ) -> None:
        self._geo = geo
        self._user_agents = user_agents
        self._networks = networks
        self._reputation = reputation

    def enrich(self, attempt: Attempt) -> Enrichment:
        """Look up one attempt."""
        return self.enrich_ip(attempt.ip_address, self.parse_user_agent(attempt.user_agent))

    def enrich_ip(self, ip: str, user_agent: UserAgentInfo | None = None) -> Enrichment:
        """Everything the IP alone tells (batch scoring looks each distinct IP up once)."""
        geo, network = self._geo.lookup(ip)
        return Enrichment(
            geo=geo,
            network=network,
            user_agent=user_agent or UserAgentInfo(),
            network_class=self._networks.classify(ip, network) if self._networks else None,
            reputation=self._reputation.check(ip) if self._reputation else None,
        )

    def parse_user_agent(self, user_agent: str) -> UserAgentInfo:
        """The device a User-Agent names (batch parses each distinct one once)."""
        return self._user_agents.parse(user_agent)
