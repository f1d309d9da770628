"""A model card names the classes the model has: a tagger trained with `neutral_class=true` has a neutral class."""

from __future__ import annotations

import pytest

from emomv_hf.training import EmoMVTrainingArguments, run_training


@pytest.mark.parametrize("neutral_class", [False, True])
def test_the_card_says_whether_the_tagger_has_a_neutral_class(emomv_c_dir, neutral_class):
    args = EmoMVTrainingArguments(
        dataset=str(emomv_c_dir),
        task="tagging",
        protocol="held-out",
        max_epochs=1,
        patience=1,
        progress=False,
        plots=False,
        config_overrides=f"neutral_class={str(neutral_class).lower()}",
    )
    result = run_training(args, save=False)
    assert result.model.config.neutral_class is neutral_class
    limitations = str(result.model_card()).split("## Limitations")[1].split("## Training")[0]
    assert ("no neutral class" in limitations) is not neutral_class
    assert ("and a `neutral` class" in limitations) is neutral_class


@pytest.mark.parametrize("flags", [{"model": "baseline"}, {"ensemble_size": 2}, {}], ids=str)
def test_the_card_says_calibration_only_of_a_model_with_a_temperature(emomv_c_dir, flags):
    """The baseline and an ensemble have no `match_temperature` and `--calibrate` passes them by; their cards said
    their logits were divided by one, fitted by `--calibrate`."""
    args = EmoMVTrainingArguments(
        dataset=str(emomv_c_dir),
        protocol="held-out",
        max_epochs=1,
        patience=1,
        progress=False,
        plots=False,
        **flags,
    )
    result = run_training(args, save=False)
    calibration = next(
        line for line in str(result.model_card()).splitlines() if line.startswith("Calibration")
    )
    has_temperature = "match_temperature" in result.model.config.to_dict()
    assert has_temperature is (flags == {})
    assert ("divided by `match_temperature`" in calibration) is has_temperature
    assert ("no temperature" in calibration) is not has_temperature
