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
