"""PipelineSettings: stored JSON in, validated settings out."""

from __future__ import annotations

import pytest

from backend.pipeline import PipelineSettings


def test_defaults_round_trip_through_a_dict():
    settings = PipelineSettings()
    again = PipelineSettings.from_dict(settings.to_dict())
    assert again == settings


@pytest.mark.parametrize(
    ("data", "imgsz", "auto_player_px"),
    [
        ({}, 480, 64.0),  # the analyst chose nothing: the input may grow for far players
        ({"frame_stride": 2}, 480, 64.0),
        ({"imgsz": 320}, 320, 0.0),  # a size asked for is kept as given
        ({"imgsz": "640"}, 640, 0.0),
        ({"imgsz": None}, 480, 64.0),
        ({"imgsz": 320, "imgsz_auto_player_px": 48}, 320, 48.0),  # both said: both kept
        ({"imgsz_auto_player_px": 0}, 480, 0.0),
    ],
)
def test_an_input_size_asked_for_is_not_raised(data, imgsz, auto_player_px):
    settings = PipelineSettings.from_dict(data)
    assert (settings.imgsz, settings.imgsz_auto_player_px) == (imgsz, auto_player_px)
    # Stored settings carry both keys, so a retried job runs with the same rule.
    assert PipelineSettings.from_dict(settings.to_dict()) == settings


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
