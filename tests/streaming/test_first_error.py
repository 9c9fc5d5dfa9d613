"""`first_error`: the one place pydantic's report becomes a one-line reason, for every caller."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from experiments.scenario import parse as parse_scenario
from portal.telemetry import parse_beacon
from streaming.bodies import parse_json
from streaming.config import first_error, parse
from streaming.errors import BadRequest, ConfigError
from tests.factories import distribution_doc


class Body(BaseModel):
    count: int
    name: str = "x"

    @field_validator("name")
    @classmethod
    def _short(cls, value: str) -> str:
        if len(value) > 3:
            raise ValueError("longer than 3")
        return value


WHOLE = "Input should be a valid dictionary or instance of Body"


def report(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        Body.model_validate(data)
    return info.value


def test_names_the_field_and_drops_pydantics_value_error_prefix() -> None:
    assert first_error(report({"count": 1, "name": "long"})) == "name: longer than 3"
    assert first_error(report({"count": "many"}), "body").startswith("count: Input should be")


def test_a_document_level_error_is_named_by_root_or_stands_alone() -> None:
    assert first_error(report([]), "body") == f"body: {WHOLE}"
    assert first_error(report([])) == WHOLE


def test_count_rest_says_how_many_more_errors_there_are() -> None:
    both = report({"count": "many", "name": "long"})
    assert first_error(both, count_rest=True).endswith(" (and 1 more)")
    assert "more" not in first_error(both)
    assert "more" not in first_error(report({"count": "many"}), count_rest=True)


def test_the_config_the_scenario_the_bodies_and_the_beacon_share_it() -> None:
    """Each caller keeps its own wording around the shared line."""
    doc = distribution_doc()
    doc.pop("admin_token")
    doc["edges"][0]["port"] = 70000
    with pytest.raises(ConfigError, match=r"^admin_token: Field required \(and \d+ more\)$"):
        parse(doc)
    with pytest.raises(ConfigError, match=r"^scenario: Input should be a valid dictionary"):
        parse_scenario([])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^name: Field required$"):
        parse_scenario({})
    with pytest.raises(BadRequest, match=r"^invalid ack: Input should be an object$"):
        parse_json(Body, b"[]", "ack")
    with pytest.raises(BadRequest, match=r"^invalid beacon: beacon: Input should be an object$"):
        parse_beacon(b"[]")
