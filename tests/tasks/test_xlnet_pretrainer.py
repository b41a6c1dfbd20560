"""XLNetPretrainer through the shared harness (its training and data are tested
in tests/data/test_xlnet_pretraining*.py and tests/commands/test_pretrain.py)."""

import pytest

import kerabert
from tests import harness


@pytest.fixture(scope="module")
def tiny():
    task = harness.tiny_task(kerabert.XLNetPretrainer)
    return task, harness.task_inputs(task)


# An untrained model's optimizer has no state to save, which Keras reports on loading.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_harness_round_trips(tiny, tmp_path):
    task, inputs = tiny
    harness.run_task_test(task, inputs, tmp_path)


def test_mixed_bfloat16_is_close_to_float32(tiny, tmp_path):
    task, inputs = tiny
    harness.run_precision_test(task, inputs, tmp_path)
