"""The TF1 checkpoint writers of the tests, read back by transformers' own TF1
loaders (`load_tf_weights_in_bert`, `load_tf_weights_in_xlnet`): the original
variable names the writers produce are the ones transformers expects, so the
TF1 preset tests do not check the names only against themselves."""

import os

import numpy as np
import pytest
import torch
import transformers
from transformers.models.bert.modeling_bert import load_tf_weights_in_bert
from transformers.models.xlnet.modeling_xlnet import load_tf_weights_in_xlnet

import kerabert
from tests.conftest import assert_backbone_matches
from tests.conftest import save_tiny_hf_bert
from tests.conftest import save_tiny_hf_xlnet
from tests.presets import checkpoint_writers

TEXTS = ["the quick brown fox jumps over the lazy dog.", "a cat sat on the mat"]


def _assert_parameters_equal(loaded, source):
    """Every parameter of `loaded` holds `source`'s value."""
    expected = dict(source.named_parameters())
    for name, parameter in loaded.named_parameters():
        np.testing.assert_array_equal(parameter.detach().numpy(),
                                      expected[name].detach().numpy(), err_msg=name)


def _assert_parameters_differ(a, b):
    theirs = dict(b.named_parameters())
    assert not any(np.array_equal(p.detach().numpy(), theirs[n].detach().numpy())
                   for n, p in a.named_parameters() if p.numel() > 1 and p.std() > 0)


@pytest.fixture(scope="module")
def bert_tf1(tmp_path_factory):
    """A TF1 BERT folder written from a BertForPreTraining with perturbed heads,
    and a differently seeded BertForPreTraining loaded from it by transformers."""
    root = tmp_path_factory.mktemp("tf1_writer")
    source = save_tiny_hf_bert(str(root / "hf"), "BertForPreTraining", seed=4,
                               hidden_act="gelu_new")
    with torch.no_grad():
        for parameter in source.cls.parameters():
            parameter.add_(0.5 * torch.randn_like(parameter))
    folder = str(root / "uncased_L-2_H-16_A-2")
    checkpoint_writers.write_tf1_folder(folder, source)
    torch.manual_seed(123)
    loaded = transformers.BertForPreTraining(source.config).eval()
    _assert_parameters_differ(loaded, source)
    load_tf_weights_in_bert(loaded, loaded.config, os.path.join(folder, "bert_model.ckpt"))
    return folder, source, loaded


def test_transformers_reads_every_bert_weight_back(bert_tf1):
    _, source, loaded = bert_tf1
    _assert_parameters_equal(loaded, source)


def test_bert_backbone_matches_transformers_tf1_loader(bert_tf1):
    folder, _, loaded = bert_tf1
    backbone = kerabert.BertBackbone.from_preset(folder)
    preprocessor = kerabert.BertPreprocessor(kerabert.BertTokenizer(
        os.path.join(folder, "vocab.txt")), sequence_length=16)
    assert_backbone_matches(backbone, loaded.bert, preprocessor(TEXTS), atol=1e-5)


def test_bert_pretraining_heads_match_transformers_tf1_loader(bert_tf1):
    folder, _, loaded = bert_tf1
    pretrainer = kerabert.BertPretrainer.from_preset(folder, sequence_length=16)
    x, _ = pretrainer.preprocessor((TEXTS, TEXTS[::-1]), y=np.array([0, 1]))
    x = {k: np.asarray(v) for k, v in x.items()}
    ours = pretrainer(x)
    with torch.no_grad():
        theirs = loaded(input_ids=torch.tensor(x["token_ids"], dtype=torch.long),
                        token_type_ids=torch.tensor(x["segment_ids"], dtype=torch.long),
                        attention_mask=torch.tensor(x["padding_mask"], dtype=torch.long))
    mlm = torch.log_softmax(theirs.prediction_logits, -1).numpy()
    np.testing.assert_allclose(
        ours["mlm_log_probs"],
        np.take_along_axis(mlm, x["masked_positions"][:, :, None], axis=1), atol=1e-5)
    np.testing.assert_allclose(ours["nsp_log_probs"],
                               torch.log_softmax(theirs.seq_relationship_logits, -1).numpy(),
                               atol=1e-5)


def test_xlnet_writer_matches_transformers_tf1_loader(tmp_path):
    # transformers' loader supports only per-layer biases (untie_r=True).
    source = save_tiny_hf_xlnet(str(tmp_path / "hf"), seed=7, ff_activation="gelu_new")
    folder = str(tmp_path / "xlnet_cased_L-2_H-16_A-2")
    checkpoint_writers.write_tf1_xlnet_folder(folder, source)
    torch.manual_seed(321)
    loaded = transformers.XLNetModel(source.config).eval()
    with torch.no_grad():  # the biases start at zero in both models
        for parameter in loaded.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    _assert_parameters_differ(loaded, source)
    load_tf_weights_in_xlnet(loaded, loaded.config, os.path.join(folder, "xlnet_model.ckpt"))
    _assert_parameters_equal(loaded, source)

    backbone = kerabert.XLNetBackbone.from_preset(folder)
    rng = np.random.default_rng(0)
    ids = rng.integers(8, 800, (2, 9)).astype("int32")
    segments = rng.integers(0, 2, (2, 9)).astype("int32")
    mask = np.ones((2, 9), "int32")
    mask[1, :3] = 0
    ours = backbone({"token_ids": ids, "segment_ids": segments, "padding_mask": mask})
    with torch.no_grad():
        theirs = loaded(input_ids=torch.tensor(ids, dtype=torch.long),
                        token_type_ids=torch.tensor(segments, dtype=torch.long),
                        attention_mask=torch.tensor(mask, dtype=torch.float32))
    real = mask.astype(bool)
    np.testing.assert_allclose(np.asarray(ours["sequence_output"])[real],
                               theirs.last_hidden_state.numpy()[real], atol=1e-5)
