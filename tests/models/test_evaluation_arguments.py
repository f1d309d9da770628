import pytest

from emomv_hf.evaluation import EmoMVEvaluationArguments


@pytest.mark.parametrize("batch_size", [0, -3])
def test_evaluate_refuses_a_batch_size_below_one_naming_its_flag(batch_size):
    with pytest.raises(ValueError, match=rf"^--batch-size must be positive, got {batch_size}$"):
        EmoMVEvaluationArguments(model="model", dataset="data", output_dir="out", batch_size=batch_size)
