"""Screening one name: the typed result the Screening tab and the CLI both show."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from advisor.errors import InputError
from advisor.screening import Screener
from advisor.services.screening import Screened, ScreeningService
from tests.conftest import REPO

SAMPLE = REPO / "corpus" / "screening" / "consolidated-screening-list-sample.csv"


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener(SAMPLE)


def test_a_listed_name_gives_its_matches_and_the_lists_state(screener: Screener) -> None:
    result = ScreeningService(lambda: screener).screen("  Harbin Institute of Technology ")
    assert isinstance(result, Screened)
    assert result.name == "Harbin Institute of Technology"
    assert result.matches and result.matches[0].party.name == "Harbin Institute of Technology"
    assert result.threshold == screener.threshold
    assert result.sample is True and result.list_description == screener.describe()
    assert result.warnings == screener.warnings() and any("SAMPLE" in w for w in result.warnings)


def test_blank_details_are_not_given_and_details_move_scores(screener: Screener) -> None:
    service = ScreeningService(lambda: screener)
    plain = service.screen("Harbin Institute of Technology", " ", "", "  ")
    assert plain is not None
    assert [m.score for m in plain.matches] == [
        m.score for m in screener.screen("Harbin Institute of Technology")
    ]
    moved = service.screen("Harbin Institute of Technology", " cn ")
    assert moved is not None and moved.matches[0].score >= plain.matches[0].score
    assert any("country CN" in n for n in moved.matches[0].notes)


def test_the_threshold_can_be_given(screener: Screener) -> None:
    result = ScreeningService(lambda: screener).screen("Harbin Institute", threshold=99.5)
    assert result is not None and result.threshold == 99.5
    assert all(m.score >= 99.5 for m in result.matches)


def test_bad_input_is_an_input_error(screener: Screener) -> None:
    service = ScreeningService(lambda: screener)
    with pytest.raises(InputError, match="give a name"):
        service.screen("   ")
    with pytest.raises(InputError, match="two-letter ISO code"):
        service.screen("Harbin", "China")


def test_no_list_configured_is_none_not_an_error() -> None:
    assert ScreeningService(lambda: None).screen("Harbin Institute of Technology") is None


@dataclass
class HasScreener:
    screener: Screener | None


def test_the_advisors_list_is_looked_up_at_each_call(screener: Screener) -> None:
    """The Compliance tab may replace the list while the app runs."""
    owner = HasScreener(None)
    service = ScreeningService.of(owner)  # type: ignore[arg-type]
    assert service.screen("Harbin Institute of Technology") is None
    owner.screener = screener
    assert service.screen("Harbin Institute of Technology") is not None
