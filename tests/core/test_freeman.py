"""The Freeman et al. model against values worked out by hand from the formula."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskscore.core import features as f
from riskscore.core import freeman
from riskscore.core.profile import ColumnStats, History, ProfileSnapshot
from tests.builders import make_obs

W_UA, W_BR, W_OS, W_DT = (
    0.5386653840551359,
    0.2680451498625666,
    0.18818295100109536,
    0.0051065150812021525,
)


def _history(logins: int, **cols: tuple[int, int, int]) -> History:
    return History(logins=logins, columns={k: ColumnStats(*v) for k, v in cols.items()})


# (count of this value, total, distinct) per column.
USER = _history(
    4,
    ip=(3, 4, 2),
    asn=(4, 4, 1),
    country=(4, 4, 1),
    ua=(0, 4, 1),
    browser=(0, 4, 1),
    os=(4, 4, 1),
    device_type=(4, 4, 1),
)
POPULATION = _history(
    10,
    ip=(3, 10, 5),
    asn=(6, 10, 3),
    country=(8, 10, 2),
    ua=(1, 10, 4),
    browser=(1, 10, 3),
    os=(6, 10, 2),
    device_type=(9, 10, 2),
)


def test_hand_computed_example() -> None:
    snap = ProfileSnapshot(user=USER, population=POPULATION, users=3)
    result = freeman.score(make_obs(), snap)

    # IP > ASN > country. M = 1 + distinct values of the levels below.
    p_pop_ip = 0.6 * 3 / (10 + 1 + 3 + 2) + 0.3 * 6 / (10 + 1 + 2) + 0.1 * 8 / (10 + 1)
    p_usr_ip = 0.6 * 3 / (4 + 1 + 1 + 1) + 0.3 * 4 / (4 + 1 + 1) + 0.1 * 4 / (4 + 1)
    assert p_pop_ip == pytest.approx(0.32368881118881)
    # UA > browser > OS > device type; the user never saw this UA or browser.
    p_pop_ua = (
        W_UA * 1 / (10 + 1 + 3 + 2 + 2)
        + W_BR * 1 / (10 + 1 + 2 + 2)
        + W_OS * 6 / (10 + 1 + 2)
        + W_DT * 9 / (10 + 1)
    )
    p_usr_ua = W_OS * 4 / (4 + 1 + 1) + W_DT * 4 / (4 + 1)
    # p(u|A)/p(u|L), Laplace-smoothed: (N + U + 1) / ((U + 1)(n_u + 1)) = 14 / 20.
    expected = 0.7 * (p_pop_ip / p_usr_ip) * (p_pop_ua / p_usr_ua)

    assert result.user_factor == pytest.approx(0.7)
    ip_term, ua_term = result.terms
    assert ip_term.p_population == pytest.approx(p_pop_ip)
    assert ip_term.p_user == pytest.approx(p_usr_ip)
    assert ua_term.p_population == pytest.approx(p_pop_ua)
    assert ua_term.p_user == pytest.approx(p_usr_ua)
    assert ua_term.unseen_levels == (f.UA, f.BROWSER)
    assert ip_term.unseen_levels == ()
    assert result.raw == pytest.approx(expected, rel=1e-12)


def test_wholly_unseen_feature_multiplies_risk_by_four() -> None:
    user = _history(2, ip=(0, 2, 1), asn=(0, 2, 1), country=(0, 2, 1))
    pop = _history(5, ip=(0, 5, 2), asn=(0, 5, 2), country=(0, 5, 1))
    obs = make_obs(ua="", browser="", os_="", device_type="")
    result = freeman.score(obs, ProfileSnapshot(user=user, population=pop, users=2))
    (term,) = result.terms
    assert term.p_user == 0.0
    assert term.ratio == pytest.approx(4.0)
    assert result.raw == pytest.approx(4.0 * (5 + 2 + 1) / ((2 + 1) * (2 + 1)))


def test_missing_levels_are_left_out_and_weights_renormalised() -> None:
    obs = make_obs(asn="", country="")
    user = _history(1, ip=(1, 1, 1))
    pop = _history(4, ip=(1, 4, 3))
    result = freeman.score(obs, ProfileSnapshot(user=user, population=pop, users=2))
    ip_term = result.terms[0]
    # Only the IP level remains, with weight 1 and M = 1.
    assert ip_term.p_population == pytest.approx(1 / (4 + 1))
    assert ip_term.p_user == pytest.approx(1 / (1 + 1))


def test_first_seen_user_is_not_scored_zero() -> None:
    pop = _history(100, ip=(0, 100, 50))
    result = freeman.score(make_obs(), ProfileSnapshot(user=History(), population=pop, users=20))
    assert result.raw > 1.0
    assert result.user_factor == pytest.approx((100 + 20 + 1) / (21 * 1))


def test_vectorised_and_scalar_arithmetic_agree() -> None:
    np = pytest.importorskip("numpy")
    c = np.array([0.0, 3.0, 7.0])
    n = np.array([10.0, 10.0, 20.0])
    m = np.array([2.0, 2.0, 5.0])
    vec = freeman.smoothed_likelihood(c, n, m)
    for i in range(3):
        assert vec[i] == freeman.smoothed_likelihood(float(c[i]), float(n[i]), float(m[i]))
    p_u = freeman.raw_likelihood(c, n, m)
    ratios = freeman.likelihood_ratio(vec, p_u)
    assert ratios[0] == pytest.approx(4.0)
    assert ratios[1] == pytest.approx(1.0)


counts = st.integers(min_value=0, max_value=10_000)


@given(user_count=counts, user_extra=counts, pop_extra=counts, users=st.integers(1, 10_000))
def test_familiar_values_never_raise_risk(
    user_count: int, user_extra: int, pop_extra: int, users: int
) -> None:
    """Seeing the same IP once more in the user's history never makes it riskier."""

    def raw(c: int) -> float:
        total = c + user_extra
        user = _history(total, ip=(c, total, 1 + user_extra))
        pop = _history(total + pop_extra, ip=(c, total + pop_extra, 2 + pop_extra))
        obs = make_obs(asn="", country="", ua="", browser="", os_="", device_type="")
        return freeman.score(obs, ProfileSnapshot(user=user, population=pop, users=users)).raw

    a, b = raw(user_count), raw(user_count + 1)
    assert math.isfinite(a)
    assert b <= a * (1 + 1e-9) or user_count == 0
