"""Moderation statistics checked against published worked examples.

Each reference table is written rows = rater 1 (here: the agency's self-grade),
columns = rater 2 (the moderated grade), and expanded to pairs so the public
functions are tested exactly as the service will call them.
"""

from __future__ import annotations

import json
import math

import pytest

from app.moderation.stats import (
    agreement,
    distribution,
    gwet_ac1,
    gwet_ac2,
    shifts,
    summary,
    t_quantile,
    weighted_kappa,
    wilson_interval,
)


def pairs_from(table: list[list[int]]) -> list[tuple[int, int]]:
    return [
        (i, j) for i, row in enumerate(table) for j, count in enumerate(row) for _ in range(count)
    ]


def width(ci: tuple[float, float]) -> float:
    return ci[1] - ci[0]


# Gwet, irrCAC R package (CRAN 1.0), dataset cont3x3abstractors: 100 pregnancies
# classified by two abstractors as Ectopic / AIU / NIU. Published outputs in the
# package README and "overview" vignette (kappa2.table, gwet.ac1.table, pa2.table)
# and the "weighting" vignette (quadratic.weights):
#   Cohen's kappa 0.7964094  se 0.05891072
#   weighted kappa (quadratic) 0.8921569  se 0.03535151
#   Gwet's AC1 0.8493305  se 0.04321747
#   Gwet's AC2 (quadratic) 0.9402369  se 0.01792019
#   percent agreement 0.89
# irrCAC's intervals use t(n-1) rather than 1.96, so estimates and standard errors
# are compared, not its intervals.
ABSTRACTORS = [
    [13, 0, 0],
    [0, 20, 7],
    [0, 4, 56],
]

# Gwet (2014) Handbook of Inter-Rater Reliability, 4th ed., the 223 psychiatric
# patients by clinical vs research diagnosis (Schizophrenia, Bipolar, Depression,
# Other), shipped as irrCAC's cont4x4diagnosis. Values to 3 places as published in
# the test suite of the Python port of irrCAC (afergadis/irrCAC,
# test/unit/irrCAC/table/test_cohen.py and test_gwet.py):
#   kappa 0.432 se 0.046; quadratic kappa 0.383 se 0.066;
#   AC1 0.456 se 0.043; AC2 (quadratic) 0.299 se 0.075.
DIAGNOSIS = [
    [40, 6, 4, 15],
    [4, 25, 1, 5],
    [4, 2, 21, 9],
    [17, 13, 12, 45],
]

# SAS/STAT PROC FREQ documentation, "Getting Started: Agreement Study" (skin
# condition rated terrible/poor/marginal/clear by two dermatologists, n = 88):
# "The kappa coefficient has the value 0.3449 ... confidence interval of
# (0.2030, 0.4868)" - a 1.96 x ASE interval with the Fleiss-Cohen-Everitt ASE.
SKIN = [
    [10, 4, 1, 0],
    [5, 10, 12, 2],
    [2, 4, 12, 5],
    [0, 2, 6, 13],
]

# A SAS PROC FREQ printout reproduced in statsmodels' test suite
# (statsmodels/stats/tests/test_inter_rater.py, table10, n = 19):
#   simple kappa 0.4842, ASE 0.1380, 95% CI 0.2137 to 0.7547;
#   weighted kappa (Cicchetti-Allison, i.e. linear, weights) 0.4701, ASE 0.1457,
#   95% CI 0.1845 to 0.7558.
SAS_TABLE10 = [
    [0, 4, 1],
    [0, 8, 0],
    [0, 1, 5],
]

# Statalist, 2009-12, msg00320 ("kappa agreement standard errors"): kapci on a
# 2 x 2 table of 1,932 people: r(kappa) = .3411969207847029, r(se) =
# .0262913719660408 (analytical), r(lb_an) = .2896667786271169,
# r(ub_an) = .3927270629422889, r(prop_o) = .8038302277432712.
KAPCI = [
    [1395, 118],
    [261, 158],
]

# Cohen (1968) Psychological Bulletin 70:213-220, the 3 x 3 example in proportions
# (0.44 0.07 0.09 / 0.05 0.20 0.05 / 0.01 0.03 0.06; here x 100) with disagreement
# weights 0 1 3 / 1 0 6 / 3 6 0. As quoted in the R psych package's cohen.kappa
# examples: "cohen reports .492 and .348" (unweighted, weighted).
COHEN_1968 = [
    [44, 7, 9],
    [5, 20, 5],
    [1, 3, 6],
]
COHEN_1968_DISAGREEMENT = [[0, 1, 3], [1, 0, 6], [3, 6, 0]]


class TestWeightedKappaPublishedValues:
    def test_irrcac_abstractors_unweighted(self):
        result = weighted_kappa(pairs_from(ABSTRACTORS), 3, "unweighted")
        assert result.n == 100
        assert result.estimate == pytest.approx(0.7964094, abs=5e-8)
        assert result.se == pytest.approx(0.05891072, abs=5e-9)

    def test_irrcac_abstractors_quadratic(self):
        result = weighted_kappa(pairs_from(ABSTRACTORS), 3, "quadratic")
        assert result.estimate == pytest.approx(0.8921569, abs=5e-8)
        assert result.se == pytest.approx(0.03535151, abs=5e-9)

    def test_gwet_handbook_diagnosis(self):
        pairs = pairs_from(DIAGNOSIS)
        plain = weighted_kappa(pairs, 4, None)
        quadratic = weighted_kappa(pairs, 4, "quadratic")
        assert (round(plain.estimate, 3), round(plain.se, 3)) == (0.432, 0.046)
        assert (round(quadratic.estimate, 3), round(quadratic.se, 3)) == (0.383, 0.066)

    def test_sas_skin_condition(self):
        result = weighted_kappa(pairs_from(SKIN), 4, "unweighted")
        assert round(result.estimate, 4) == 0.3449
        assert [round(x, 4) for x in result.ci] == [0.2030, 0.4868]

    def test_sas_table10_simple_and_linear(self):
        pairs = pairs_from(SAS_TABLE10)
        simple = weighted_kappa(pairs, 3, "unweighted")
        linear = weighted_kappa(pairs, 3, "linear")
        assert [round(x, 4) for x in (simple.estimate, simple.se, *simple.ci)] == [
            0.4842,
            0.1380,
            0.2137,
            0.7547,
        ]
        assert [round(x, 4) for x in (linear.estimate, linear.se, *linear.ci)] == [
            0.4701,
            0.1457,
            0.1845,
            0.7558,
        ]

    def test_stata_kapci_two_by_two(self):
        result = weighted_kappa(pairs_from(KAPCI), 2, None)
        assert result.estimate == pytest.approx(0.3411969207847029, abs=1e-12)
        assert result.se == pytest.approx(0.0262913719660408, abs=1e-12)
        assert result.ci == pytest.approx((0.2896667786271169, 0.3927270629422889), abs=1e-12)

    def test_cohen_1968_custom_weights(self):
        pairs = pairs_from(COHEN_1968)
        # Agreement weights 1 - v/6 are a linear transform of Cohen's disagreement
        # weights v, which leaves weighted kappa unchanged.
        agreement_weights = [[1 - v / 6 for v in row] for row in COHEN_1968_DISAGREEMENT]
        assert round(weighted_kappa(pairs, 3, None).estimate, 3) == 0.492
        assert round(weighted_kappa(pairs, 3, agreement_weights).estimate, 3) == 0.348


class TestGwetPublishedValues:
    def test_irrcac_abstractors_ac1(self):
        result = gwet_ac1(pairs_from(ABSTRACTORS), 3)
        assert result.estimate == pytest.approx(0.8493305, abs=5e-8)
        assert result.se == pytest.approx(0.04321747, abs=5e-9)

    def test_irrcac_abstractors_ac2_quadratic(self):
        result = gwet_ac2(pairs_from(ABSTRACTORS), 3, "quadratic")
        assert result.estimate == pytest.approx(0.9402369, abs=5e-8)
        assert result.se == pytest.approx(0.01792019, abs=5e-9)

    def test_gwet_handbook_diagnosis(self):
        pairs = pairs_from(DIAGNOSIS)
        ac1 = gwet_ac1(pairs, 4)
        ac2 = gwet_ac2(pairs, 4)
        assert (round(ac1.estimate, 3), round(ac1.se, 3)) == (0.456, 0.043)
        assert (round(ac2.estimate, 3), round(ac2.se, 3)) == (0.299, 0.075)

    def test_ac1_is_above_kappa_when_one_grade_dominates(self):
        # The "kappa paradox" AC1 exists for: 90% agreement, but nearly all "Good".
        pairs = [(1, 1)] * 88 + [(1, 2)] * 5 + [(2, 1)] * 5 + [(2, 2)] * 2
        assert gwet_ac1(pairs, 4).estimate > 0.85
        assert weighted_kappa(pairs, 4, None).estimate < 0.25


class TestAgreement:
    # Newcombe (1998) Statist Med 17:857-872, Table II, method 3 (Wilson score
    # interval without continuity correction): 81/263 -> 0.2553 to 0.3662;
    # 15/148 -> 0.0624 to 0.1605; 0/20 -> 0.0000 to 0.1611; 1/29 -> 0.0061 to 0.1718.
    @pytest.mark.parametrize(
        ("agreed", "n", "low", "high"),
        [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ],
    )
    def test_wilson_matches_newcombe(self, agreed, n, low, high):
        pairs = [(0, 0)] * agreed + [(0, 1)] * (n - agreed)
        result = agreement(pairs, 2)
        assert (result.count, result.n) == (agreed, n)
        assert [round(x, 4) for x in result.ci] == [low, high]

    def test_observed_agreement_of_published_tables(self):
        # irrCAC pa2.table(cont3x3abstractors) = 0.89; Stata kapci r(prop_o) above;
        # Cohen (1968) p_o = .70.
        assert agreement(pairs_from(ABSTRACTORS), 3).estimate == pytest.approx(0.89)
        assert agreement(pairs_from(KAPCI), 2).estimate == pytest.approx(0.8038302277432712)
        assert agreement(pairs_from(COHEN_1968), 3).estimate == pytest.approx(0.70)

    def test_wilson_stays_inside_zero_one_when_all_agree(self):
        low, high = wilson_interval(8, 8)
        assert high == 1.0
        assert 0.6 < low < 0.7  # 8/8 still leaves real doubt: 0.676 at 95%

    def test_empty_has_no_estimate(self):
        result = agreement([], 4)
        assert (result.n, result.estimate, result.ci) == (0, None, None)

    def test_position_outside_scale_is_refused(self):
        with pytest.raises(ValueError):
            agreement([(0, 4)], 4)


class TestTQuantile:
    # Standard two-sided tables (e.g. Fisher & Yates; any statistics text), 3 places.
    @pytest.mark.parametrize(
        ("p", "df", "expected"),
        [
            (0.975, 1, 12.706),
            (0.975, 2, 4.303),
            (0.975, 3, 3.182),
            (0.975, 5, 2.571),
            (0.975, 10, 2.228),
            (0.975, 30, 2.042),
            (0.975, 120, 1.980),
            (0.975, math.inf, 1.960),
            (0.95, 2, 2.920),
            (0.995, 10, 3.169),
            (0.995, 1, 63.657),
        ],
    )
    def test_table_values(self, p, df, expected):
        assert round(t_quantile(p, df), 3) == expected

    def test_symmetric_and_monotone(self):
        assert t_quantile(0.025, 7) == pytest.approx(-t_quantile(0.975, 7), abs=1e-12)
        assert t_quantile(0.975, 4) > t_quantile(0.975, 6) > t_quantile(0.975, 60)

    def test_refuses_impossible_probability(self):
        with pytest.raises(ValueError):
            t_quantile(1.0, 5)


class TestShifts:
    def test_counts_direction_and_mean(self):
        # Positions: 0 best. (1 -> 2) lowered, (2 -> 1) raised, (3 -> 3) kept.
        pairs = [(1, 2), (1, 2), (1, 3), (2, 1), (3, 3)]
        result = shifts(pairs)
        assert result.n == 5
        assert (result.lowered.count, result.raised.count, result.changed.count) == (3, 1, 4)
        assert result.lowered.estimate == pytest.approx(0.6)
        assert result.mean_shift == pytest.approx((1 + 1 + 2 - 1 + 0) / 5)

    def test_mean_shift_interval_is_a_t_interval(self):
        pairs = [(1, 2), (1, 2), (1, 3), (2, 1), (3, 3)]
        result = shifts(pairs)
        moves = [1, 1, 2, -1, 0]
        mean = sum(moves) / 5
        sd = math.sqrt(sum((m - mean) ** 2 for m in moves) / 4)
        half = 2.776445105 * sd / math.sqrt(5)  # t(0.975, 4) = 2.776
        assert result.mean_shift_ci == pytest.approx((mean - half, mean + half), abs=1e-8)

    def test_one_pair_has_a_mean_but_no_interval(self):
        result = shifts([(1, 2)])
        assert (result.mean_shift, result.sd, result.mean_shift_ci) == (1, None, None)

    def test_empty(self):
        result = shifts([])
        assert result.n == 0
        assert result.mean_shift is None
        assert result.changed.estimate is None


class TestDistribution:
    def test_counts_every_level_including_empty_ones(self):
        result = distribution([0, 1, 1, 3], 4)
        assert result == distribution([3, 1, 0, 1], 4)
        assert (result.n, result.counts) == (4, (1, 2, 0, 1))

    def test_empty(self):
        assert distribution([], 3).counts == (0, 0, 0)


class TestDegenerateInputs:
    def test_empty_pairs_give_notes_not_errors(self):
        for result in (weighted_kappa([], 4), gwet_ac1([], 4), gwet_ac2([], 4)):
            assert result.n == 0
            assert result.estimate is None
            assert result.note

    def test_all_one_category_kappa_undefined_ac1_perfect(self):
        pairs = [(1, 1)] * 9
        for weights in ("quadratic", "linear", "unweighted", None):
            result = weighted_kappa(pairs, 4, weights)
            assert result.estimate is None
            assert result.ci is None
            assert "one category" in result.note
        assert gwet_ac1(pairs, 4).estimate == pytest.approx(1.0)

    def test_single_level_scale(self):
        assert gwet_ac1([(0, 0), (0, 0)], 1).estimate is None
        assert weighted_kappa([(0, 0)], 1).estimate is None

    def test_unknown_weights_are_refused(self):
        with pytest.raises(ValueError):
            weighted_kappa([(0, 1)], 3, "cubic")


class TestLimits:
    def test_perfect_agreement_is_one(self):
        pairs = [(0, 0), (1, 1), (2, 2), (3, 3), (1, 1), (2, 2)]
        for result in (
            weighted_kappa(pairs, 4, "quadratic"),
            weighted_kappa(pairs, 4, None),
            gwet_ac1(pairs, 4),
            gwet_ac2(pairs, 4),
        ):
            assert result.estimate == pytest.approx(1.0)
            assert result.ci[1] <= 1.0
        assert agreement(pairs, 4).estimate == 1.0

    def test_kappa_is_symmetric_in_the_raters(self):
        pairs = pairs_from(SKIN)
        swapped = [(b, a) for a, b in pairs]
        for weights in ("quadratic", "linear", None):
            one, other = weighted_kappa(pairs, 4, weights), weighted_kappa(swapped, 4, weights)
            assert one.estimate == pytest.approx(other.estimate)
            assert one.se == pytest.approx(other.se)
        assert gwet_ac1(pairs, 4).estimate == pytest.approx(gwet_ac1(swapped, 4).estimate)

    def test_systematic_disagreement_is_below_zero(self):
        pairs = [(0, 3), (3, 0)] * 5
        assert weighted_kappa(pairs, 4, "quadratic").estimate < 0
        assert weighted_kappa(pairs, 4, "quadratic").ci[0] >= -1.0

    def test_quadratic_credits_near_misses_more_than_unweighted(self):
        pairs = [(0, 1), (1, 2), (2, 3), (3, 2), (0, 0), (1, 1), (2, 2), (3, 3)]
        assert (
            weighted_kappa(pairs, 4, "quadratic").estimate > weighted_kappa(pairs, 4, None).estimate
        )


class TestSampleSize:
    """What the intervals are for: one small audit says little; pooling says more."""

    AUDIT = pairs_from([[2, 2, 0, 0], [1, 8, 3, 0], [0, 1, 4, 1], [0, 0, 1, 2]])  # 25 pairs

    def test_intervals_widen_as_n_falls(self):
        small = self.AUDIT
        large = self.AUDIT * 4  # same proportions, four times the pairs
        assert width(agreement(small, 4).ci) > width(agreement(large, 4).ci)
        assert width(weighted_kappa(small, 4).ci) > width(weighted_kappa(large, 4).ci)
        assert width(gwet_ac1(small, 4).ci) > width(gwet_ac1(large, 4).ci)
        assert width(shifts(small).mean_shift_ci) > width(shifts(large).mean_shift_ci)

    def test_pooled_audits_narrower_than_one(self):
        other_audits = pairs_from(
            [[3, 1, 0, 0], [0, 9, 2, 0], [0, 2, 5, 1], [0, 0, 0, 2]]
        ) + pairs_from([[1, 1, 0, 0], [1, 10, 4, 0], [0, 0, 3, 2], [0, 0, 1, 1]])
        pooled = self.AUDIT + other_audits
        assert weighted_kappa(pooled, 4).n == len(pooled)
        assert width(agreement(pooled, 4).ci) < width(agreement(self.AUDIT, 4).ci)
        assert width(weighted_kappa(pooled, 4).ci) < width(weighted_kappa(self.AUDIT, 4).ci)
        assert width(gwet_ac1(pooled, 4).ci) < width(gwet_ac1(self.AUDIT, 4).ci)
        assert width(shifts(pooled).mean_shift_ci) < width(shifts(self.AUDIT).mean_shift_ci)


class TestSummary:
    def test_is_plain_json_with_rounded_floats_and_list_intervals(self):
        result = summary(pairs_from(SKIN), 4)
        assert json.loads(json.dumps(result)) == result
        assert result["n"] == 88
        assert result["kappa"]["estimate"] == 0.3449
        assert result["kappa"]["ci"] == [0.203, 0.4868]
        assert result["agreement"]["ci"] == [round(x, 4) for x in agreement(pairs_from(SKIN), 4).ci]
        assert result["self_distribution"]["counts"] == [15, 29, 23, 21]
        assert result["moderated_distribution"]["counts"] == [17, 20, 31, 20]
        assert set(result) >= {"shifts", "weighted_kappa", "ac1", "ac2"}

    def test_degenerate_summary_has_nulls_and_notes(self):
        result = summary([(2, 2)] * 5, 4)
        assert json.loads(json.dumps(result)) == result
        assert result["weighted_kappa"]["estimate"] is None
        assert result["weighted_kappa"]["note"]
        assert result["ac1"]["estimate"] == 1.0

    def test_empty_summary(self):
        result = summary([], 4)
        assert result["n"] == 0
        assert result["agreement"]["estimate"] is None
        assert result["shifts"]["mean_shift_ci"] is None
