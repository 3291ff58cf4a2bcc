"""The rate comparison's shortcut to the binomial distribution gives scipy's own numbers."""

from __future__ import annotations

import itertools

from scipy.stats import binom

from paceline.analytics.compare import binom_cdf, compare_rates


def test_binom_cdf_is_scipys_cdf_bit_for_bit() -> None:
    ks = [0, 1, 2, 5, 17, 99, 100, 101, 250]
    ns = [1, 2, 5, 17, 100, 101, 1_000, 12_345]
    ps = [1e-9, 0.001, 0.0123, 0.2, 0.5, 0.77, 0.999, 1 - 1e-12]
    for k, n, p in itertools.product(ks, ns, ps):
        assert binom_cdf(k, n, p) == float(binom.cdf(k, n, p)), (k, n, p)


def test_binom_cdf_outside_the_fast_bounds_is_scipys_too() -> None:
    for k, n, p in [(3, 10, 0.0), (3, 10, 1.0), (-1, 10, 0.5), (0, 0, 0.5)]:
        expected = float(binom.cdf(k, n, p))
        got = binom_cdf(k, n, p)
        assert got == expected or (got != got and expected != expected)


def test_compare_rates_p_value_is_the_binomial_tail() -> None:
    # 3 meetings from 40 conversations against peers' 60 from 200: given 63 meetings, the
    # rep's share of the exposure is 40 / 240 = 1/6; P(X <= 3), X ~ Binomial(63, 1/6).
    found = compare_rates(40, 3, 200, 60)
    assert found.p_value == float(binom.cdf(3, 63, 40 / 240))
    assert found.p_value is not None and 0.0 < found.p_value < 0.01
