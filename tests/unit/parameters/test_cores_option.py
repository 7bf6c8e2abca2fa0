"""The ``cores`` option: none, metadata or all; validated once, stored, shown back."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from must_gather_api.api.schemas import GatheringRequest
from must_gather_api.parameters import GatheringOptions, InvalidOption
from must_gather_api.parameters.options import check
from must_gather_api.parameters.validators import CORES_CHOICES, cores_mode
from must_gather_api.settings import RequestDefaults

DEFAULTS = RequestDefaults(image="quay.io/openshift/origin-must-gather:latest", timeout="10m")


@pytest.mark.parametrize("choice", ["none", "metadata", "all"])
def test_each_choice_is_accepted_as_written(choice: str) -> None:
    assert cores_mode(choice) == choice
    assert check("cores", choice) == choice
    assert GatheringOptions.of(cores=choice).cores == choice


@pytest.mark.parametrize("wrong", ["All", "yes", "true", "metadata ", "core", "\x00all", "a" * 500])
def test_anything_else_is_refused_naming_the_choices(wrong: str) -> None:
    with pytest.raises(ValueError) as caught:
        cores_mode(wrong)
    message = str(caught.value)
    assert "none, metadata or all" in message
    assert message.isprintable()
    assert len(message) < 300
    with pytest.raises(InvalidOption) as invalid:
        GatheringOptions.of(cores=wrong)
    assert invalid.value.field == "cores"


def test_not_given_is_none_and_is_not_stored_as_a_newer_parameter() -> None:
    assert CORES_CHOICES[0] == "none"
    assert GatheringOptions().cores == "none"
    asked = GatheringRequest.model_validate({}).to_options(DEFAULTS)
    assert asked.cores == "none"
    assert GatheringRequest.model_validate({"cores": ""}).to_options(DEFAULTS).cores == "none"
    assert "cores" not in asked.newer_fields()
    assert asked.to_fields()["cores"] == "none"


def test_a_choice_other_than_none_is_kept_with_the_newer_parameters() -> None:
    options = GatheringRequest.model_validate({"cores": "all"}).to_options(DEFAULTS)
    assert options.newer_fields() == {"cores": "all"}
    assert GatheringOptions.parse(options.newer_fields() | {"timeout": "10m"}).cores == "all"


@pytest.mark.parametrize("wrong", ["ALL", 1, True, ["all"]])
def test_the_request_refuses_a_wrong_value_naming_the_field(wrong: object) -> None:
    with pytest.raises(ValidationError) as caught:
        GatheringRequest.model_validate({"cores": wrong})
    assert caught.value.errors()[0]["loc"] == ("cores",)
