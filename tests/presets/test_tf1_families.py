"""Checks every TF1 family shares: a tensor the model has no place for is an
error (unless ignored), while training state (optimizer slots, the step
counter) is skipped and reported."""

import numpy as np
import pytest

import kerabert
from kerabert.presets.formats.tf_checkpoint import TFCheckpoint
from tests.conftest import save_tiny_hf_bert
from tests.conftest import save_tiny_hf_xlnet
from tests.presets import checkpoint_writers

# family -> (release folder name, writer, backbone class, a stray tensor, a slot's variable)
FAMILIES = {
    "bert": ("uncased_L-2_H-16_A-2", checkpoint_writers.write_tf1_folder, kerabert.BertBackbone,
             "bert/encoder/layer_0/adapter/kernel", ("bert/pooler/dense/kernel", (16, 16))),
    "xlnet": ("xlnet_cased_L-2_H-16_A-2", checkpoint_writers.write_tf1_xlnet_folder,
              kerabert.XLNetBackbone, "model/transformer/layer_0/adapter/kernel",
              ("model/transformer/word_embedding/lookup_table", (800, 16))),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_unknown_tensor_is_an_error_unless_ignored_optimizer_slots_are_not(family, tmp_path):
    name, write, backbone_cls, stray, (slotted, shape) = FAMILIES[family]
    save = save_tiny_hf_bert if family == "bert" else save_tiny_hf_xlnet
    hf_model = save(str(tmp_path / "hf"), seed=2)
    target = str(tmp_path / name)
    write(target, hf_model, extra={
        stray: np.zeros((16, 4), np.float32),
        # A fine-tuning checkpoint's Adam slots are training state.
        slotted + "/adam_m": np.zeros(shape, np.float32),
        slotted + "/adam_v": np.zeros(shape, np.float32),
    })
    with pytest.raises(kerabert.CheckpointMismatchError) as error:
        backbone_cls.from_preset(target)
    message = str(error.value)
    assert "1 tensors" in message and stray in message
    assert "adam" not in message
    assert backbone_cls.from_preset(target, ignore_unused_weights=True).num_layers == 2
    assert TFCheckpoint(target).open_weights().skipped == sorted(
        ["global_step", slotted + "/adam_m", slotted + "/adam_v"])
