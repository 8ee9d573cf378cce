"""The Screening tab's verdict and table rows from a typed result."""

from __future__ import annotations

from advisor.screening import Screener
from advisor.services.screening import Screened
from advisor.ui.render.screening import HEADERS, match_rows, verdict_markdown
from tests.conftest import REPO

SAMPLE = REPO / "corpus" / "screening" / "consolidated-screening-list-sample.csv"


def result(**overrides: object) -> Screened:
    values: dict[str, object] = {
        "name": "Nobody Ltd",
        "matches": [],
        "threshold": 88.0,
        "list_description": "CSL CSV, 20 entries, dated 2025-01-01",
        "sample": False,
        "warnings": [],
    }
    values.update(overrides)
    return Screened(**values)  # type: ignore[arg-type]


def test_no_match_names_the_threshold_and_the_list() -> None:
    text = verdict_markdown(result())
    assert text == (
        "No match for “Nobody Ltd” at threshold 88.\n\n"
        "List in force: CSL CSV, 20 entries, dated 2025-01-01."
    )


def test_matches_hold_up_the_export_and_the_sample_is_called_out() -> None:
    matches = Screener(SAMPLE).screen("Harbin Institute of Technology")
    text = verdict_markdown(
        result(
            name="Harbin Institute of Technology",
            matches=matches,
            sample=True,
            warnings=["csl.csv is a SAMPLE list, not the current list", "12 bad rows skipped"],
        )
    )
    verdict, listed, sample, other = text.split("\n\n")
    assert verdict.startswith(f"**{len(matches)} possible match(es)** for “Harbin Institute")
    assert "do not proceed until your export control office has resolved them" in verdict
    assert listed.startswith("List in force:")
    assert sample.startswith("⚠️ Using the SAMPLE list") and other == "⚠️ 12 bad rows skipped"


def test_rows_follow_the_headers() -> None:
    (match, *_) = Screener(SAMPLE).screen("Harbin Institute of Technology")
    (row,) = match_rows([match])
    assert len(row) == len(HEADERS)
    by_header = dict(zip(HEADERS, row, strict=True))
    assert by_header["Listed party"] == "Harbin Institute of Technology"
    assert by_header["Score"] == round(match.score, 1)
    assert by_header["Level"] in ("prohibited", "escalate")
