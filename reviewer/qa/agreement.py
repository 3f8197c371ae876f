"""Agreement statistics for quality audits: how often, and how far beyond chance, two or more
people who judged the same items agree.

Every figure comes with a confidence interval and, when the sample is too small for the figure
to mean anything, a warning a report can show next to it. Nominal categories only (policy
codes, actions): no weighting of near-misses. Standard library only.

Sources of the formulas:

- Wilson score interval: E. B. Wilson (1927), JASA 22:209-212; as in R. G. Newcombe (1998),
  Statistics in Medicine 17:857-872 (method 3, no continuity correction).
- Cohen's kappa: J. Cohen (1960). Its large-sample standard error, under no assumption on the
  true kappa, and under the null (kappa = 0): J. L. Fleiss, J. Cohen, B. S. Everitt (1969),
  Psychological Bulletin 72:323-327; as in Fleiss, Levin & Paik, *Statistical Methods for
  Rates and Proportions*, 3rd ed. (2003), section 18.1. The interval is kappa ± z·SE.
- Fleiss' kappa: J. L. Fleiss (1971), Psychological Bulletin 76:378-382, with the standard
  error under the null of Fleiss, Nee & Landis (1979), Psychological Bulletin 86:974-977.
  That SE only holds at kappa = 0, so with an rng the interval is a percentile bootstrap over
  items instead (the raters of an item stay together); without one it is kappa ± z·SE0, the
  convention of Fleiss (1971) and of common implementations.
- Krippendorff's alpha (nominal): K. Krippendorff (2011), "Computing Krippendorff's
  alpha-reliability", coincidence-matrix form; interval by bootstrap over units.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

# Below these, an agreement figure is reported with a warning rather than silently.
MIN_PAIRED_ITEMS = 30
MIN_CALIBRATION_ITEMS = 10
DEFAULT_CONFIDENCE = 0.95
DEFAULT_BOOTSTRAP_ROUNDS = 1000


def z_for(confidence: float) -> float:
    """The two-sided standard-normal quantile for `confidence` (1.959964 for 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    confidence: float
    method: str

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int | float) and self.low <= value <= self.high


@dataclass(frozen=True)
class Proportion:
    """A share of items (agreements, correct golden answers) with its Wilson interval."""

    successes: int
    n: int
    estimate: float | None
    interval: Interval | None
    warning: str | None


@dataclass(frozen=True)
class KappaResult:
    """A chance-corrected agreement coefficient (Cohen's or Fleiss' kappa, Krippendorff's alpha).

    `value` is None when it is undefined (chance agreement is total: everyone used one
    category). `se` is the standard error behind `interval` when the interval is analytic;
    `se_null` the one for testing "no agreement beyond chance" (z = value / se_null).
    """

    value: float | None
    observed: float
    expected: float
    n_items: int
    n_raters: int
    se: float | None
    se_null: float | None
    interval: Interval | None
    warning: str | None
    method: str

    @property
    def z(self) -> float | None:
        if self.value is None or not self.se_null:
            return None
        return self.value / self.se_null


def _small_sample_warning(n: int, minimum: int, what: str) -> str | None:
    if n == 0:
        return f"no {what}: nothing to measure"
    if n < minimum:
        return f"only {n} {what} (fewer than {minimum}): too few for this figure to mean much"
    return None


def wilson_interval(successes: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """The Wilson score interval for a binomial proportion (Wilson 1927; Newcombe 1998)."""
    if n <= 0:
        raise ValueError("a proportion needs at least one trial")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and {n}, not {successes}")
    z = z_for(confidence)
    p = successes / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    denominator = 1 + z2 / n
    low = 0.0 if successes == 0 else (centre - spread) / denominator
    high = 1.0 if successes == n else (centre + spread) / denominator
    return Interval(low, high, confidence, "wilson")


def proportion(
    successes: int,
    n: int,
    *,
    minimum: int = MIN_PAIRED_ITEMS,
    what: str = "items",
    confidence: float = DEFAULT_CONFIDENCE,
) -> Proportion:
    """`successes` out of `n`, with its Wilson interval and a warning below `minimum`."""
    warning = _small_sample_warning(n, minimum, what)
    if n == 0:
        return Proportion(0, 0, None, None, warning)
    return Proportion(successes, n, successes / n, wilson_interval(successes, n, confidence),
                      warning)


def _paired(first: Sequence[Hashable], second: Sequence[Hashable]) -> None:
    if len(first) != len(second):
        raise ValueError(
            f"paired ratings differ in length: {len(first)} and {len(second)} items"
        )


def percent_agreement(
    first: Sequence[Hashable],
    second: Sequence[Hashable],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Proportion:
    """The share of items on which two raters gave the same category.

    Item i was rated `first[i]` by one rater and `second[i]` by the other.
    """
    _paired(first, second)
    agreed = sum(1 for a, b in zip(first, second, strict=True) if a == b)
    return proportion(agreed, len(first), what="paired items", confidence=confidence)


def contingency_table(
    first: Sequence[Hashable], second: Sequence[Hashable]
) -> tuple[list[Hashable], list[list[int]]]:
    """The categories seen (sorted by their text) and the k x k count table, first by rows."""
    _paired(first, second)
    categories = sorted(set(first) | set(second), key=repr)
    index = {c: i for i, c in enumerate(categories)}
    table = [[0] * len(categories) for _ in categories]
    for a, b in zip(first, second, strict=True):
        table[index[a]][index[b]] += 1
    return categories, table


def cohens_kappa(
    first: Sequence[Hashable],
    second: Sequence[Hashable],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> KappaResult:
    """Cohen's kappa between two raters of the same items (an auditor and a reviewer)."""
    _, table = contingency_table(first, second)
    return cohens_kappa_from_table(table, confidence=confidence)


def cohens_kappa_from_table(
    table: Sequence[Sequence[int]], *, confidence: float = DEFAULT_CONFIDENCE
) -> KappaResult:
    """Cohen's kappa from a square count table (rows: first rater, columns: second).

    SE (not assuming kappa = 0) and SE0 (assuming it) from Fleiss, Cohen & Everitt (1969).
    """
    k = len(table)
    if any(len(row) != k for row in table):
        raise ValueError("the contingency table must be square")
    if any(cell < 0 for row in table for cell in row):
        raise ValueError("counts cannot be negative")
    n = sum(sum(row) for row in table)
    warning = _small_sample_warning(n, MIN_PAIRED_ITEMS, "paired items")
    method = "cohen; SE: Fleiss, Cohen & Everitt 1969"
    if n == 0:
        return KappaResult(None, 0.0, 0.0, 0, 2, None, None, None, warning, method)
    p = [[cell / n for cell in row] for row in table]
    rows = [sum(row) for row in p]
    cols = [sum(p[i][j] for i in range(k)) for j in range(k)]
    observed = sum(p[i][i] for i in range(k))
    expected = sum(rows[i] * cols[i] for i in range(k))
    if math.isclose(expected, 1.0):
        reason = "both raters used a single category: kappa is undefined"
        return KappaResult(None, observed, expected, n, 2, None, None, None,
                           _join(warning, reason), method)
    kappa = (observed - expected) / (1 - expected)
    on_diagonal = sum(
        p[i][i] * (1 - (rows[i] + cols[i]) * (1 - kappa)) ** 2 for i in range(k)
    )
    off_diagonal = (1 - kappa) ** 2 * sum(
        p[i][j] * (cols[i] + rows[j]) ** 2 for i in range(k) for j in range(k) if i != j
    )
    correction = (kappa - expected * (1 - kappa)) ** 2
    variance = (on_diagonal + off_diagonal - correction) / (n * (1 - expected) ** 2)
    variance_null = (
        expected + expected**2 - sum(rows[i] * cols[i] * (rows[i] + cols[i]) for i in range(k))
    ) / (n * (1 - expected) ** 2)
    se = math.sqrt(max(variance, 0.0))
    se_null = math.sqrt(max(variance_null, 0.0))
    z = z_for(confidence)
    interval = Interval(max(-1.0, kappa - z * se), min(1.0, kappa + z * se), confidence,
                        "kappa ± z·SE (Fleiss, Cohen & Everitt 1969)")
    return KappaResult(kappa, observed, expected, n, 2, se, se_null, interval, warning, method)


def _join(first: str | None, second: str) -> str:
    return second if first is None else f"{first}; {second}"


def category_counts(ratings: Sequence[Sequence[Hashable]]) -> list[list[int]]:
    """Per item, how many raters chose each category: the input of `fleiss_kappa`.

    `ratings[i]` is every rater's category for item i; each item needs the same number.
    """
    categories = sorted({c for item in ratings for c in item}, key=repr)
    index = {c: j for j, c in enumerate(categories)}
    counts = []
    for item in ratings:
        row = [0] * len(categories)
        for category in item:
            row[index[category]] += 1
        counts.append(row)
    return counts


def fleiss_kappa_from_ratings(
    ratings: Sequence[Sequence[Hashable]],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    rng: random.Random | None = None,
    bootstrap_rounds: int = DEFAULT_BOOTSTRAP_ROUNDS,
) -> KappaResult:
    """Fleiss' kappa for a calibration session: `ratings[i]` is every rater's call on item i."""
    return fleiss_kappa(category_counts(ratings), confidence=confidence, rng=rng,
                        bootstrap_rounds=bootstrap_rounds)


def _fleiss_parts(counts: Sequence[Sequence[int]], m: int) -> tuple[float, float, list[float]]:
    n_items = len(counts)
    k = len(counts[0])
    per_item = [(sum(c * c for c in row) - m) / (m * (m - 1)) for row in counts]
    observed = sum(per_item) / n_items
    shares = [sum(row[j] for row in counts) / (n_items * m) for j in range(k)]
    expected = sum(s * s for s in shares)
    return observed, expected, shares


def fleiss_kappa(
    counts: Sequence[Sequence[int]],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    rng: random.Random | None = None,
    bootstrap_rounds: int = DEFAULT_BOOTSTRAP_ROUNDS,
) -> KappaResult:
    """Fleiss' kappa (1971) from per-item category counts; every item has the same raters count.

    SE0 is Fleiss, Nee & Landis (1979), valid under kappa = 0. With `rng` the interval is a
    percentile bootstrap over items (seeded, reproducible); without, kappa ± z·SE0.
    """
    n_items = len(counts)
    warning = _small_sample_warning(n_items, MIN_CALIBRATION_ITEMS, "calibration items")
    method = "fleiss 1971; SE0: Fleiss, Nee & Landis 1979"
    if n_items == 0:
        return KappaResult(None, 0.0, 0.0, 0, 0, None, None, None, warning, method)
    k = len(counts[0])
    if any(len(row) != k for row in counts):
        raise ValueError("every item needs a count for every category")
    if any(c < 0 for row in counts for c in row):
        raise ValueError("counts cannot be negative")
    m = sum(counts[0])
    if any(sum(row) != m for row in counts):
        raise ValueError("every item must be rated by the same number of raters")
    if m < 2:
        raise ValueError("Fleiss' kappa needs at least two raters per item")
    observed, expected, shares = _fleiss_parts(counts, m)
    if math.isclose(expected, 1.0):
        reason = "every rater used a single category: kappa is undefined"
        return KappaResult(None, observed, expected, n_items, m, None, None, None,
                           _join(warning, reason), method)
    kappa = (observed - expected) / (1 - expected)
    pq = sum(s * (1 - s) for s in shares)
    spread = pq * pq - sum(s * (1 - s) * ((1 - s) - s) for s in shares)
    se_null = math.sqrt(2 / (n_items * m * (m - 1))) * math.sqrt(max(spread, 0.0)) / pq
    if rng is None:
        z = z_for(confidence)
        interval = Interval(max(-1.0, kappa - z * se_null), min(1.0, kappa + z * se_null),
                            confidence, "kappa ± z·SE0 (Fleiss 1971)")
        return KappaResult(kappa, observed, expected, n_items, m, None, se_null, interval,
                           warning, method)

    def resampled_kappa(rows: Sequence[Sequence[int]]) -> float | None:
        o, e, _ = _fleiss_parts(rows, m)
        return None if math.isclose(e, 1.0) else (o - e) / (1 - e)

    interval, se = _bootstrap(counts, resampled_kappa, confidence, rng, bootstrap_rounds,
                              "percentile bootstrap over items")
    return KappaResult(kappa, observed, expected, n_items, m, se, se_null, interval, warning,
                       method)


def _bootstrap(
    units: Sequence[Any],
    statistic: Callable[[Sequence[Any]], float | None],
    confidence: float,
    rng: random.Random,
    rounds: int,
    method: str,
) -> tuple[Interval | None, float | None]:
    """A percentile interval and the bootstrap SE of `statistic` over resampled units."""
    if rounds < 2:
        raise ValueError("a bootstrap needs at least two rounds")
    values = []
    n = len(units)
    for _ in range(rounds):
        resample = [units[rng.randrange(n)] for _ in range(n)]
        value = statistic(resample)
        if value is not None:
            values.append(value)
    if len(values) < 2:
        return None, None
    values.sort()
    tail = (1 - confidence) / 2
    low = values[max(0, math.floor(tail * len(values)))]
    high = values[min(len(values) - 1, math.ceil((1 - tail) * len(values)) - 1)]
    mean = sum(values) / len(values)
    se = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return Interval(low, high, confidence, method), se


def krippendorff_alpha_nominal(
    units: Sequence[Sequence[Hashable | None]],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    rng: random.Random | None = None,
    bootstrap_rounds: int = DEFAULT_BOOTSTRAP_ROUNDS,
) -> KappaResult:
    """Krippendorff's alpha for nominal data; `units[u]` holds each rater's value, None if missing.

    Unlike the kappas it allows missing ratings. Units with fewer than two values are not
    pairable and are left out. With `rng`, a percentile bootstrap over units gives the interval.
    """
    pairable = [[v for v in unit if v is not None] for unit in units]
    pairable = [values for values in pairable if len(values) >= 2]
    warning = _small_sample_warning(len(pairable), MIN_CALIBRATION_ITEMS, "pairable units")
    method = "krippendorff alpha, nominal (Krippendorff 2011)"
    raters = max((len(unit) for unit in units), default=0)
    parts = _alpha_parts(pairable)
    if parts is None:
        reason = "fewer than two categories were used: alpha is undefined"
        observed = 1.0 if pairable else 0.0
        return KappaResult(None, observed, 1.0, len(pairable), raters, None, None, None,
                           _join(warning, reason) if pairable else warning, method)
    alpha, observed, expected = parts
    interval = se = None
    if rng is not None:
        def resampled_alpha(sample: Sequence[list[Hashable]]) -> float | None:
            result = _alpha_parts(sample)
            return None if result is None else result[0]

        interval, se = _bootstrap(pairable, resampled_alpha, confidence, rng, bootstrap_rounds,
                                  "percentile bootstrap over units")
    return KappaResult(alpha, observed, expected, len(pairable), raters, se, None, interval,
                       warning, method)


def _alpha_parts(pairable: Sequence[Sequence[Hashable]]) -> tuple[float, float, float] | None:
    """(alpha, observed agreement, expected agreement) from pairable units, or None if undefined."""
    disagreement = 0.0
    totals: Counter[Hashable] = Counter()
    for values in pairable:
        m = len(values)
        tally = Counter(values)
        totals.update(tally)
        # Coincidences between different values in this unit, each pair weighted 1/(m - 1).
        disagreement += (m * m - sum(c * c for c in tally.values())) / (m - 1)
    n = sum(totals.values())
    if n < 2:
        return None
    expected_disagreement = (n * n - sum(c * c for c in totals.values())) / (n - 1)
    if expected_disagreement == 0:
        return None
    alpha = 1 - disagreement / expected_disagreement
    return alpha, 1 - disagreement / n, 1 - expected_disagreement / n
