"""PipelineSettings: stored JSON in, validated settings out."""

from __future__ import annotations

import pytest

from backend.pipeline import PipelineSettings


def test_defaults_round_trip_through_a_dict():
    settings = PipelineSettings()
    again = PipelineSettings.from_dict(settings.to_dict())
    assert again == settings


def test_from_dict_ignores_unknown_keys_and_coerces_strings():
    settings = PipelineSettings.from_dict(
        {
            "imgsz": "640",
            "frame_stride": 2.0,
            "player_conf_min": "0.4",
            "colour": "red",
            "team_names": {"A": "Home"},
        }
    )
    assert (settings.imgsz, settings.frame_stride, settings.player_conf_min) == (640, 2, 0.4)
    assert settings.team_display_names()["A"] == "Home"
    assert settings.team_display_names()["B"] == "Team B"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"imgsz": 100}, "imgsz must be between"),
        ({"imgsz": 500}, "multiple of 32"),
        ({"frame_stride": 0}, "frame_stride must be between"),
        ({"frame_stride": 2.5}, "whole number"),
        ({"player_conf_min": 1.5}, "player_conf_min must be between"),
        ({"ball_conf_min": "high"}, "must be a number"),
        ({"encode_preset": "warp"}, "encode_preset must be one of"),
        ({"team_names": {"C": "x"}}, "team_names keys"),
        ({"ball_gap_max_s": float("nan")}, "ball_gap_max_s must be between"),
    ],
)
def test_invalid_settings_say_what_was_expected(data, message):
    with pytest.raises(ValueError, match=message):
        PipelineSettings.from_dict(data)
