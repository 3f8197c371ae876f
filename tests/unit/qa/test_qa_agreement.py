"""Agreement statistics against published worked examples, and their invariants."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewer.qa.agreement import (
    MIN_CALIBRATION_ITEMS,
    MIN_PAIRED_ITEMS,
    category_counts,
    cohens_kappa,
    cohens_kappa_from_table,
    contingency_table,
    fleiss_kappa,
    fleiss_kappa_from_ratings,
    krippendorff_alpha_nominal,
    percent_agreement,
    proportion,
    wilson_interval,
    z_for,
)

# Wikipedia, "Fleiss' kappa", worked example: 14 raters put 10 subjects in 5 categories.
# The same matrix is the example of G. Cardillo's Fleiss MATLAB function
# (github.com/dnafinder/Fleiss, MATLAB File Exchange 15426).
FLEISS_EXAMPLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def ratings_from_table(table: list[list[int]], labels: list[str]) -> tuple[list[str], list[str]]:
    first: list[str] = []
    second: list[str] = []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            first += [labels[i]] * count
            second += [labels[j]] * count
    return first, second


# --- Wilson score interval ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
     (1, 29, 0.0061, 0.1718)],
)
def test_wilson_interval_matches_newcombe_1998(successes, n, low, high):
    """Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison
    of seven methods", Statistics in Medicine 17:857-872, Table II, method 3 (Wilson score
    without continuity correction), 95% limits to 4 decimals."""
    interval = wilson_interval(successes, n)
    assert interval.low == pytest.approx(low, abs=5e-5)
    assert interval.high == pytest.approx(high, abs=5e-5)


def test_z_for_95_percent_is_1_96():
    assert z_for(0.95) == pytest.approx(1.959964, abs=1e-6)


def test_wilson_interval_refuses_impossible_counts():
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    with pytest.raises(ValueError):
        wilson_interval(0, 0)


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_lies_in_0_1_and_contains_the_estimate(counts):
    successes, n = counts
    interval = wilson_interval(successes, n)
    assert 0.0 <= interval.low <= successes / n <= interval.high <= 1.0


# --- Percent agreement -------------------------------------------------------------------


def test_percent_agreement_of_the_cohen_example_is_0_7_with_a_wilson_interval():
    """Wikipedia, "Cohen's kappa", simple example: A and B agree on 20 + 15 of 50 items."""
    first, second = ratings_from_table([[20, 5], [10, 15]], ["yes", "no"])
    result = percent_agreement(first, second)
    assert (result.successes, result.n) == (35, 50)
    assert result.estimate == pytest.approx(0.7)
    assert result.interval == wilson_interval(35, 50)
    assert result.warning is None


def test_percent_agreement_warns_below_the_minimum_of_paired_items():
    few = ["remove"] * (MIN_PAIRED_ITEMS - 1)
    assert "too few" in percent_agreement(few, few).warning
    enough = ["remove"] * MIN_PAIRED_ITEMS
    assert percent_agreement(enough, enough).warning is None


def test_percent_agreement_of_nothing_has_no_estimate_and_says_so():
    result = percent_agreement([], [])
    assert result.estimate is None and result.interval is None
    assert result.warning == "no paired items: nothing to measure"


def test_paired_ratings_must_have_the_same_length():
    with pytest.raises(ValueError, match="differ in length"):
        percent_agreement(["a", "b"], ["a"])


pairs = st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("abcd")), max_size=80)


@given(pairs)
def test_percent_agreement_is_a_share_and_symmetric(items):
    first = [a for a, _ in items]
    second = [b for _, b in items]
    result = percent_agreement(first, second)
    assert result == percent_agreement(second, first)
    if items:
        assert 0.0 <= result.estimate <= 1.0
        assert result.estimate in result.interval


def test_proportion_uses_the_given_minimum():
    assert proportion(5, 9, minimum=10).warning is not None
    assert proportion(5, 10, minimum=10).warning is None


# --- Cohen's kappa -----------------------------------------------------------------------


def test_cohens_kappa_matches_the_wikipedia_example():
    """Wikipedia, "Cohen's kappa", simple example: 50 proposals, both say yes to 20, both no to
    15, A yes / B no 5, A no / B yes 10: p_o = 0.7, p_e = 0.5, kappa = 0.4."""
    first, second = ratings_from_table([[20, 5], [10, 15]], ["yes", "no"])
    result = cohens_kappa(first, second)
    assert result.observed == pytest.approx(0.7)
    assert result.expected == pytest.approx(0.5)
    assert result.value == pytest.approx(0.4)
    assert result.n_items == 50
    assert result.warning is None


def test_cohens_kappa_standard_error_matches_fleiss_and_paik():
    """statpsych (D. G. Bonett), `ci.kappa(.05, 31, 12, 4, 58)`, documented to return Cohen's
    kappa 0.6756757, SE 0.07344761, 95% CI 0.5317210 to 0.8196303, citing Fleiss & Paik (2003),
    Statistical Methods for Rates and Proportions, 3rd ed. (the Fleiss-Cohen-Everitt 1969 SE).
    https://dgbonett.github.io/statpsych/reference/ci.kappa.html"""
    result = cohens_kappa_from_table([[31, 12], [4, 58]])
    assert result.value == pytest.approx(0.6756757, abs=1e-7)
    assert result.se == pytest.approx(0.07344761, abs=1e-8)
    assert result.interval.low == pytest.approx(0.5317210, abs=1e-6)
    assert result.interval.high == pytest.approx(0.8196303, abs=1e-6)


def test_cohens_kappa_standard_errors_match_stata():
    """Statalist, "kappa agreement standard errors" (2009-12, msg00320): on the 2 x 2 table
    1395/118/261/158 (N = 1932) Stata's `kapci` gives kappa .3411969, SE .0262914 and 95% CI
    .2896668 to .3927271; `kap` gives the SE under the null, .0220367, and z = 15.48.
    http://www.stata.com/statalist/archive/2009-12/msg00320.html"""
    result = cohens_kappa_from_table([[1395, 118], [261, 158]])
    assert result.value == pytest.approx(0.3411969207847029, abs=1e-12)
    assert result.observed == pytest.approx(0.8038302277432712, abs=1e-12)
    assert result.expected == pytest.approx(0.7022330671398995, abs=1e-12)
    assert result.se == pytest.approx(0.0262913719660408, abs=1e-10)
    assert result.interval.low == pytest.approx(0.2896667786271169, abs=1e-9)
    assert result.interval.high == pytest.approx(0.3927270629422889, abs=1e-9)
    assert result.se_null == pytest.approx(0.0220367175735475, abs=1e-10)
    assert result.z == pytest.approx(15.48310993440647, abs=1e-6)


def test_cohens_kappa_is_undefined_when_both_used_one_category():
    result = cohens_kappa(["remove"] * 40, ["remove"] * 40)
    assert result.value is None and result.interval is None
    assert "undefined" in result.warning


def test_cohens_kappa_warns_on_a_small_sample():
    first, second = ratings_from_table([[5, 1], [2, 4]], ["yes", "no"])
    result = cohens_kappa(first, second)
    assert result.value is not None
    assert "only 12 paired items" in result.warning


def test_contingency_table_must_be_square_and_counts_positive():
    with pytest.raises(ValueError):
        cohens_kappa_from_table([[1, 2], [3]])
    with pytest.raises(ValueError):
        cohens_kappa_from_table([[1, -2], [3, 4]])


def test_contingency_table_counts_first_rater_by_rows():
    categories, table = contingency_table(["a", "a", "b"], ["a", "b", "b"])
    assert categories == ["a", "b"]
    assert table == [[1, 1], [0, 1]]


labels = st.lists(st.sampled_from(["remove", "no_violation", "age_restrict", "escalate"]),
                  min_size=2, max_size=60)


@given(labels.filter(lambda xs: len(set(xs)) >= 2))
def test_cohens_kappa_is_1_for_perfect_agreement(ratings):
    result = cohens_kappa(ratings, list(ratings))
    assert result.value == pytest.approx(1.0)
    assert result.observed == pytest.approx(1.0)


@given(pairs)
def test_cohens_kappa_is_symmetric_in_rater_order(items):
    first = [a for a, _ in items]
    second = [b for _, b in items]
    one, other = cohens_kappa(first, second), cohens_kappa(second, first)
    if one.value is None:
        assert other.value is None
        return
    assert one.value == pytest.approx(other.value)
    assert one.se == pytest.approx(other.se)
    assert one.se_null == pytest.approx(other.se_null)
    assert -1.0 <= one.value <= 1.0
    assert one.value in one.interval


# --- Fleiss' kappa -----------------------------------------------------------------------


def test_fleiss_kappa_matches_the_wikipedia_example():
    """Wikipedia, "Fleiss' kappa", worked example: P-bar = 0.378, P-bar_e = 0.213,
    kappa = 0.210. Cardillo's implementation (github.com/dnafinder/Fleiss, README) reports on
    the same matrix kappa = 0.2099, "kappa error" (Fleiss 1971 SE under the null) = 0.0170 and
    95% CI 0.1767 to 0.2432, z = 12.3743."""
    result = fleiss_kappa(FLEISS_EXAMPLE)
    assert result.observed == pytest.approx(0.378, abs=5e-4)
    assert result.expected == pytest.approx(0.213, abs=5e-4)
    assert result.value == pytest.approx(0.210, abs=5e-4)
    assert result.value == pytest.approx(0.2099, abs=5e-5)
    assert result.se_null == pytest.approx(0.0170, abs=5e-5)
    assert result.interval.low == pytest.approx(0.1767, abs=5e-5)
    assert result.interval.high == pytest.approx(0.2432, abs=5e-5)
    assert result.z == pytest.approx(12.3743, abs=5e-3)
    assert (result.n_items, result.n_raters) == (10, 14)
    assert result.warning is None


def test_fleiss_kappa_from_ratings_counts_categories_per_item():
    ratings = [
        ["d1"] * row[0] + ["d2"] * row[1] + ["d3"] * row[2] + ["d4"] * row[3] + ["d5"] * row[4]
        for row in FLEISS_EXAMPLE
    ]
    assert category_counts(ratings) == FLEISS_EXAMPLE
    assert fleiss_kappa_from_ratings(ratings).value == pytest.approx(fleiss_kappa(
        FLEISS_EXAMPLE).value)


def test_fleiss_kappa_bootstrap_interval_is_seeded_and_covers_the_estimate():
    one = fleiss_kappa(FLEISS_EXAMPLE, rng=random.Random(7), bootstrap_rounds=500)
    again = fleiss_kappa(FLEISS_EXAMPLE, rng=random.Random(7), bootstrap_rounds=500)
    assert one == again
    assert one.interval.method == "percentile bootstrap over items"
    assert one.value in one.interval
    assert one.se > one.se_null  # the null SE understates the spread away from kappa = 0


def test_fleiss_kappa_warns_below_ten_items():
    result = fleiss_kappa(FLEISS_EXAMPLE[: MIN_CALIBRATION_ITEMS - 1])
    assert "only 9 calibration items" in result.warning


def test_fleiss_kappa_refuses_items_with_different_numbers_of_raters():
    with pytest.raises(ValueError, match="same number of raters"):
        fleiss_kappa([[1, 2], [2, 2]])
    with pytest.raises(ValueError, match="two raters"):
        fleiss_kappa([[1, 0], [0, 1]])


def test_fleiss_kappa_is_undefined_when_everyone_chose_one_category():
    result = fleiss_kappa([[5, 0]] * 12)
    assert result.value is None
    assert "undefined" in result.warning


calibration = st.integers(2, 6).flatmap(
    lambda raters: st.lists(
        st.lists(st.sampled_from("xyz"), min_size=raters, max_size=raters),
        min_size=1, max_size=30,
    )
)


@given(calibration, st.randoms(use_true_random=False))
def test_fleiss_kappa_ignores_the_order_of_raters_within_an_item(ratings, shuffler):
    shuffled = [shuffler.sample(item, len(item)) for item in ratings]
    one, other = fleiss_kappa_from_ratings(ratings), fleiss_kappa_from_ratings(shuffled)
    assert one.value == other.value or (
        one.value is not None and other.value == pytest.approx(one.value)
    )


@given(calibration.filter(lambda items: len({c for item in items for c in item}) >= 2))
def test_fleiss_kappa_is_1_for_perfect_agreement(ratings):
    unanimous = [[item[0]] * len(item) for item in ratings]
    if len({item[0] for item in unanimous}) < 2:
        return
    assert fleiss_kappa_from_ratings(unanimous).value == pytest.approx(1.0)


# --- Krippendorff's alpha ----------------------------------------------------------------


def test_krippendorff_alpha_matches_krippendorffs_worked_example():
    """K. Krippendorff (2011), "Computing Krippendorff's alpha-reliability" (Annenberg School,
    University of Pennsylvania), worked example: 4 observers, 12 units, values 1-5 with missing
    data; alpha nominal = 0.743 (unit 12 has one value and is not pairable)."""
    n = None
    a = [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n]
    b = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3]
    c = [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n]
    d = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n]
    result = krippendorff_alpha_nominal(list(zip(a, b, c, d, strict=True)))
    assert result.value == pytest.approx(0.743, abs=5e-4)
    assert result.n_items == 11


@given(pairs.filter(lambda items: len(items) >= 2))
def test_krippendorff_alpha_for_two_raters_is_scotts_pi_corrected_for_sample_size(items):
    # For two raters and no missing data, alpha = 1 - (2N - 1) / (2N) * (1 - pi), where pi
    # is Scott's pi, which is Fleiss' kappa for two raters (Krippendorff 2011).
    units = [list(item) for item in items]
    alpha = krippendorff_alpha_nominal(units).value
    pi = fleiss_kappa_from_ratings(units).value
    if pi is None:
        assert alpha is None
        return
    n = len(items)
    assert alpha == pytest.approx(1 - (2 * n - 1) / (2 * n) * (1 - pi))


def test_krippendorff_alpha_bootstrap_is_seeded():
    units = [list(item) for item in zip(*ratings_from_table([[20, 5], [10, 15]], ["y", "n"]),
                                        strict=True)]
    one = krippendorff_alpha_nominal(units, rng=random.Random(3), bootstrap_rounds=300)
    assert one == krippendorff_alpha_nominal(units, rng=random.Random(3), bootstrap_rounds=300)
    assert one.value in one.interval
    assert math.isfinite(one.se)
