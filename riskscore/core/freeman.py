"""The statistical scorer of Freeman et al., "Who Are You?" (NDSS 2016).

Equation 7 without per-member attack data, as the RBA dataset's authors
reimplemented it (das-group/rba-algorithm; reference/risk-peers.md 1.1):

    risk(u, x) = prod_k  p(x_k) / p(x_k | u, L)   *   p(u | A) / p(u | L)

Each feature k is a hierarchy of sub-features (IP > ASN > country, and
UA > browser > OS > device type) whose likelihood is the weighted sum of the
sub-feature likelihoods. Likelihoods are estimated with the paper's smoothing

    c > 0: p = c/N * (1 - M/(N+M))  ( = c/(N+M) )
    c = 0: p = 1/(N+M)               (population; the user's estimate is 0)

with M = 1 + the number of distinct values of the sub-features below this one.
Where a user has never seen any level of a feature the local likelihood is
taken as a quarter of the global one (the reference's edge case), so a wholly
new IP or device multiplies the risk by 4.

Two choices of ours, both documented in the README:
* missing sub-feature values (no geo data, no User-Agent) are left out and the
  remaining weights renormalised, instead of counting "missing" as a value;
* p(u|L) and p(u|A) are Laplace-smoothed, ``(n_u + 1) / (N + U + 1)`` and
  ``1 / (U + 1)``, so a user without history is not scored 0 (the reference
  returns 0 there, which lets every first sign-in through).

All arithmetic is written so that the same functions accept numpy arrays:
batch scoring calls them once per column over a whole time-sorted log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from riskscore.core import features as f
from riskscore.core.features import Observation
from riskscore.core.profile import History, ProfileSnapshot

Num = TypeVar("Num", float, NDArray[np.float64])

MODEL_VERSION: Final = "freeman-2016/1"
UNSEEN_LOCAL_DIVISOR: Final = 4.0


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """A feature made of sub-features, most specific first, with weights."""

    name: str
    levels: tuple[tuple[str, float], ...]


# Weights from Wiefling et al.'s reference implementation (risk-peers.md 1.1).
IP_HIERARCHY: Final = Hierarchy("ip", ((f.IP, 0.6), (f.ASN, 0.3), (f.COUNTRY, 0.1)))
UA_HIERARCHY: Final = Hierarchy(
    "ua",
    (
        (f.UA, 0.5386653840551359),
        (f.BROWSER, 0.2680451498625666),
        (f.OS, 0.18818295100109536),
        (f.DEVICE_TYPE, 0.0051065150812021525),
    ),
)
DEFAULT_HIERARCHIES: Final = (IP_HIERARCHY, UA_HIERARCHY)


def smoothed_likelihood(count: Num, total: Num, unseen: Num) -> Num:
    """Freeman's smoothed estimate: c/(N+M), or 1/(N+M) for an unseen value."""
    return cast(Num, (count + (count == 0)) / (total + unseen))  # type: ignore[redundant-cast]


def raw_likelihood(count: Num, total: Num, unseen: Num) -> Num:
    """The same estimate without smoothing: 0 for an unseen value."""
    return count / (total + unseen)


def likelihood_ratio(p_population: Num, p_user: Num) -> Num:
    """p(x)/p(x|u), with p(x|u) := p(x)/4 where the user never saw x."""
    fallback = (p_user == 0) * p_population / UNSEEN_LOCAL_DIVISOR
    return cast(Num, p_population / (p_user + fallback))  # type: ignore[redundant-cast]


def user_factor(user_logins: Num, logins: Num, users: Num) -> Num:
    """p(u|A)/p(u|L), Laplace-smoothed: ((N + U + 1) / (U + 1)) / (n_u + 1)."""
    return (logins + users + 1.0) / ((users + 1.0) * (user_logins + 1.0))


@dataclass(frozen=True, slots=True)
class HierarchyTerm:
    """One feature's share of the risk, with the levels the user never saw."""

    name: str
    p_population: float
    p_user: float
    ratio: float
    unseen_levels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FreemanResult:
    """The raw risk and how it came about."""

    raw: float
    user_factor: float
    terms: tuple[HierarchyTerm, ...]


def _hierarchy_term(
    hierarchy: Hierarchy, obs: Observation, user: History, population: History
) -> HierarchyTerm | None:
    present = [(col, w) for col, w in hierarchy.levels if obs.get(col)]
    if not present:
        return None
    weight_sum = sum(w for _, w in present)
    pop = [population.stats(col) for col, _ in present]
    usr = [user.stats(col) for col, _ in present]
    # M for a level: 1 + distinct values of every level below it.
    m_pop = m_usr = 1
    p_pop = p_usr = 0.0
    unseen: list[str] = []
    for i in range(len(present) - 1, -1, -1):
        w = present[i][1] / weight_sum
        g, u = pop[i], usr[i]
        p_pop += w * smoothed_likelihood(float(g.count), float(g.total), float(m_pop))
        p_usr += w * raw_likelihood(float(u.count), float(u.total), float(m_usr))
        m_pop += g.distinct
        m_usr += u.distinct
        if u.count == 0:
            unseen.append(present[i][0])
    unseen.reverse()
    return HierarchyTerm(
        name=hierarchy.name,
        p_population=p_pop,
        p_user=p_usr,
        ratio=float(likelihood_ratio(p_pop, p_usr)),
        unseen_levels=tuple(unseen),
    )


def score(
    obs: Observation,
    snapshot: ProfileSnapshot,
    hierarchies: tuple[Hierarchy, ...] = DEFAULT_HIERARCHIES,
) -> FreemanResult:
    """The raw Freeman risk of one observation against its profile snapshot."""
    terms = tuple(
        t
        for h in hierarchies
        if (t := _hierarchy_term(h, obs, snapshot.user, snapshot.population)) is not None
    )
    factor = float(
        user_factor(
            float(snapshot.user.logins),
            float(snapshot.population.logins),
            float(snapshot.users),
        )
    )
    raw = factor
    for t in terms:
        raw *= t.ratio
    return FreemanResult(raw=raw, user_factor=factor, terms=terms)
