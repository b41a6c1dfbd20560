"""Every task and backbone passes the shared harness: config, `.keras` and
preset round trips give the same outputs, and `compile=False` is honoured."""

import pytest

from tests import harness


# An untrained model's optimizer has no state to save, which Keras reports on loading.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
@pytest.mark.parametrize("cls", harness.TASKS, ids=lambda c: c.__name__)
def test_task(cls, tmp_path):
    task = harness.tiny_task(cls)
    harness.run_task_test(task, harness.task_inputs(task), tmp_path)


@pytest.mark.parametrize("family", ["bert", "xlnet"])
def test_backbone(family, tmp_path):
    backbone = harness.tiny_backbone(family)
    task = harness.tiny_task(harness.TASKS[0] if family == "bert" else harness.TASKS[3])
    inputs = {k: v for k, v in harness.task_inputs(task).items()
              if k in ("token_ids", "segment_ids", "padding_mask")}
    harness.run_backbone_test(backbone, inputs, tmp_path)
