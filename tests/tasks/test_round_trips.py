"""Both backbones pass the shared harness: config, serialization, `.keras` and
preset round trips give the same outputs, and mixed_bfloat16 stays close to
float32. (Each task runs the harness in its own test file.)"""

import pytest

from tests import harness


def _backbone_and_inputs(family):
    backbone = harness.tiny_backbone(family)
    task = harness.tiny_task(harness.TASKS[0] if family == "bert" else harness.TASKS[3])
    inputs = {k: v for k, v in harness.task_inputs(task).items()
              if k in ("token_ids", "segment_ids", "padding_mask")}
    return backbone, inputs


@pytest.mark.parametrize("family", ["bert", "xlnet"])
def test_backbone(family, tmp_path):
    harness.run_backbone_test(*_backbone_and_inputs(family), tmp_path)


@pytest.mark.parametrize("family", ["bert", "xlnet"])
def test_backbone_mixed_bfloat16_is_close_to_float32(family, tmp_path):
    backbone, inputs = _backbone_and_inputs(family)
    _, mixed = harness.run_precision_test(backbone, inputs, tmp_path)
    assert mixed["sequence_output"].dtype.name == "bfloat16"
