"""Prevalence corrected for the tagger's errors: the estimate and its interval's coverage
on simulated taggers whose true rates are known."""

import numpy as np
import pytest

from pipeline.prevalence import ErrorRates, adjusted_share


def test_the_correction_undoes_a_deaf_tagger():
    # finds a third of the passages that hold the theme, 5% false alarms
    rates = ErrorRates(tp=100, fp=50, fn=200, tn=950, basis="test")
    true_share, n = 0.5, 10_000
    tagged = round(n * (rates.tpr * true_share + rates.fpr * (1 - true_share)))
    estimate, low, high = adjusted_share(tagged, n, rates)
    assert tagged / n < 0.2  # the raw count says under a fifth
    assert estimate == pytest.approx(true_share, abs=0.01)
    assert low < true_share < high


def test_a_tagger_that_cannot_tell_gives_no_estimate():
    assert adjusted_share(10, 40, ErrorRates(5, 50, 45, 500, "test")) == (None, None, None)
    with pytest.raises(ValueError):
        adjusted_share(5, 4, ErrorRates(5, 1, 5, 50, "test"))


def test_the_90_percent_interval_covers_the_truth_about_90_percent_of_the_time():
    """Simulate the whole chain: a labelled set of 400 passages measures the tagger's
    rates, then a group of 60 passages with a known true share is tagged and counted."""
    rng = np.random.default_rng(1)
    true_tpr, true_fpr = 0.4, 0.05
    covered = total = 0
    for true_share in (0.05, 0.2, 0.5, 0.8):
        for trial in range(60):
            positives = rng.binomial(400, 0.15)
            tp = rng.binomial(positives, true_tpr)
            fp = rng.binomial(400 - positives, true_fpr)
            rates = ErrorRates(tp, fp, positives - tp, 400 - positives - fp, "sim")
            holding = rng.binomial(60, true_share)
            tagged = rng.binomial(holding, true_tpr) + rng.binomial(60 - holding, true_fpr)
            estimate, low, high = adjusted_share(tagged, 60, rates, draws=2000, seed=trial)
            if estimate is None:
                continue
            total += 1
            covered += low <= holding / 60 <= high
    assert total > 200
    assert 0.85 <= covered / total <= 0.99


def test_cells_count_reviews_as_judged_and_say_their_basis():
    from corpus import ThemeCell
    from pipeline.prevalence import choose_rates, estimate_cells

    rates = {"water": ErrorRates(tp=60, fp=10, fn=40, tn=890, basis="bundled")}
    cells = [
        ThemeCell("water", "Puno", 100, 10, 0, 0),
        ThemeCell("water", "Cusco", 4, 0, 3, 1),  # every passage reviewed
        ThemeCell("health", "Puno", 100, 10, 0, 0),  # no rates for this theme
        ThemeCell("water", "Junín", 100, 10, 20, 0),  # 20 reviewed with the theme
    ]
    puno, cusco, health, junin = estimate_cells(cells, rates)
    assert puno.basis == "bundled" and puno.low <= puno.estimate <= puno.high
    assert puno.estimate > puno.observed  # the tagger misses 40%: the count undercounts
    assert (cusco.estimate, cusco.low, cusco.high, cusco.basis) == (
        0.75,
        0.75,
        0.75,
        "every passage reviewed",
    )
    assert health.estimate is None and "no measured error rates" in health.basis
    # reviewed passages count as judged; the correction applies to the 80 others
    unreviewed = adjusted_share(10, 80, rates["water"])[0]
    assert junin.estimate == pytest.approx((20 + unreviewed * 80) / 100)
    # reviews replace the bundled rates once there are enough on both sides
    reviewed = {"water": {"tp": 15, "fp": 2, "fn": 5, "tn": 30}}
    assert choose_rates(reviewed, rates)["water"].basis == "the archive's 52 reviews"
    assert (
        choose_rates({"water": {"tp": 5, "fp": 2, "fn": 5, "tn": 30}}, rates)["water"].basis
        == "bundled"
    )
