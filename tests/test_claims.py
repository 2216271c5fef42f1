"""Claims get their verdict from the numbers: resolved beyond twice the spread, in the paper's direction or not."""

import dataclasses

import pytest

from vidsynth_lite.reproduce import claims as C


@dataclasses.dataclass
class FakeVerdict:                     # the fields of vl.metrics' Verdict that a claim reads
    a: str
    b: str
    resolved: bool
    winner: str | None
    text: str = "numbers"
    effect: float | None = 3.0


@pytest.mark.parametrize("resolved, winner, expected", [
    (True, "ours", C.REPRODUCED), (True, "baseline", C.CONTRADICTED), (False, None, C.NOT_RESOLVED)])
def test_verdict_follows_the_comparison(resolved, winner, expected):
    claim = C.from_verdict("ours beats the baseline", "Paper Table 1", FakeVerdict("ours", "baseline", resolved, winner),
                           expect_winner="ours", profile="lite")
    assert claim.verdict == expected


def test_expecting_a_row_that_was_not_compared_is_an_error():
    with pytest.raises(ValueError, match="neither"):
        C.from_verdict("x", "y", FakeVerdict("a", "b", True, "a"), expect_winner="c", profile="lite")


@pytest.mark.parametrize("a, b, expected", [
    ([10.0, 11.0, 10.5], [20.0, 21.0, 19.5], C.REPRODUCED),          # lower is better: a wins clearly
    ([20.0, 21.0, 19.5], [10.0, 11.0, 10.5], C.CONTRADICTED),
    ([10.0, 30.0], [20.0, 15.0], C.NOT_RESOLVED),                     # the sign flips between seeds
    ([10.0], [20.0], C.NOT_RESOLVED),                                 # one seed: no spread, never resolved
])
def test_paired_values_over_seeds(a, b, expected):
    claim = C.from_paired_values("a < b", "src", a, b, a_name="a", b_name="b", metric="FVD-syn",
                                 lower_is_better=True, expect_a_better=True, profile="lite")
    assert claim.verdict == expected
    assert "FVD-syn" in claim.numbers


def test_not_tested_must_say_why_and_round_trips():
    with pytest.raises(ValueError):
        C.not_tested("x", "y", " ", profile="lite")
    claim = C.not_tested("x", "y", "needs 1M steps: the full profile tests it", profile="lite")
    assert C.Claim.from_dict(claim.to_dict()) == claim
    assert "not testable" in C.show_claims([claim])._repr_html_()


def test_paper_table_rows_must_fit_the_columns():
    with pytest.raises(ValueError, match="3 cells"):
        C.PaperTable("T", ["a", "b", "c"], [[1, 2]])


def test_report_refuses_claims_in_another_form_naming_the_file(tmp_path):
    import vidsynth_lite as vl
    from vidsynth_lite.reproduce import report

    vl.reproduce.write_results("toy", "smoke", {"claims": {"a": {"reproduced": True}}}, {"n": 1}, root=tmp_path)
    with pytest.raises(ValueError, match=r"results/toy.json: metrics\['claims'\] must be a list"):
        report.overview(tmp_path)
