"""Built-in preset names: the table, `kerabert.list_presets()`, `kerabert presets`,
and name -> Hub repo resolution (against the loopback fake Hub)."""

import numpy as np
import pytest

import kerabert
from kerabert import cli
from kerabert.presets import registry
from tests.conftest import save_tiny_hf_bert
from tests.presets.fake_hub import folder_files

REQUIRED = [
    "bert_base_en_uncased", "bert_base_en_cased", "bert_large_en_uncased", "bert_large_en_cased",
    "bert_large_en_uncased_wwm", "bert_large_en_cased_wwm", "bert_base_multi_cased",
    "bert_base_zh", "bert_tiny_en_uncased", "bert_mini_en_uncased", "bert_small_en_uncased",
    "bert_medium_en_uncased", "bert_large_en_uncased_wwm_squad", "xlnet_base_en_cased",
    "xlnet_large_en_cased",
]

# (vocab, layers, hidden, intermediate) from each checkpoint's config.json.
DIMS = {
    "google/bert_uncased_L-2_H-128_A-2": (30522, 2, 128, 512),
    "google/bert_uncased_L-4_H-256_A-4": (30522, 4, 256, 1024),
    "google/bert_uncased_L-4_H-512_A-8": (30522, 4, 512, 2048),
    "google/bert_uncased_L-8_H-512_A-8": (30522, 8, 512, 2048),
    "google-bert/bert-base-uncased": (30522, 12, 768, 3072),
    "google-bert/bert-base-cased": (28996, 12, 768, 3072),
    "google-bert/bert-large-uncased": (30522, 24, 1024, 4096),
    "google-bert/bert-large-cased": (28996, 24, 1024, 4096),
    "google-bert/bert-large-uncased-whole-word-masking": (30522, 24, 1024, 4096),
    "google-bert/bert-large-cased-whole-word-masking": (28996, 24, 1024, 4096),
    "google-bert/bert-large-uncased-whole-word-masking-finetuned-squad": (30522, 24, 1024, 4096),
    "google-bert/bert-base-multilingual-cased": (119547, 12, 768, 3072),
    "google-bert/bert-base-chinese": (21128, 12, 768, 3072),
    "xlnet/xlnet-base-cased": (32000, 12, 768, 3072),
    "xlnet/xlnet-large-cased": (32000, 24, 1024, 4096),
}


def bert_params(vocab, layers, hidden, intermediate, positions=512, segments=2):
    embeddings = (vocab + positions + segments) * hidden + 2 * hidden
    layer = 4 * (hidden * hidden + hidden) + 2 * hidden + 2 * hidden * intermediate \
        + intermediate + hidden + 2 * hidden
    return embeddings + layers * layer + hidden * hidden + hidden


def xlnet_params(vocab, layers, hidden, intermediate):
    # q, k, v, o, r projections; 3 biases; segment embedding; 2 LayerNorms; FFN.
    layer = 5 * hidden * hidden + 3 * hidden + 2 * hidden + 4 * hidden \
        + 2 * hidden * intermediate + intermediate + hidden
    return vocab * hidden + hidden + layers * layer


def test_list_presets_is_the_table():
    presets = kerabert.list_presets()
    assert "list_presets" in kerabert.__all__
    assert [p["name"] for p in presets] == registry.preset_names()
    assert set(REQUIRED) <= {p["name"] for p in presets}
    for p in presets:
        assert set(p) == {"name", "hf_repo", "family", "params", "description"}
        assert p["family"] in ("bert", "xlnet") and p["description"]
    assert len({p["hf_repo"] for p in presets}) == len(presets)


def test_parameter_counts_follow_from_the_configs():
    for p in kerabert.list_presets():
        dims = DIMS[p["hf_repo"]]
        expected = bert_params(*dims) if p["family"] == "bert" else xlnet_params(*dims)
        assert p["params"] == expected, p["name"]
    # The formula agrees with a real model.
    config = dict(vocabulary_size=50, num_layers=2, hidden_dim=16, intermediate_dim=32,
                  num_heads=2, max_sequence_length=512)
    assert kerabert.BertBackbone(**config).count_params() == bert_params(50, 2, 16, 32)
    assert bert_params(30522, 12, 768, 3072) == 109_482_240  # bert-base-uncased, as published


def test_cli_prints_the_table(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "220")
    assert cli.main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in REQUIRED:
        assert name in out
    assert "google-bert/bert-base-uncased" in out and "109.5M" in out


def test_xlnet_parameter_count_matches_the_backbone():
    backbone = kerabert.XLNetBackbone(vocabulary_size=50, num_layers=2, num_heads=2,
                                      hidden_dim=16, intermediate_dim=32)
    assert backbone.count_params() == xlnet_params(50, 2, 16, 32)


def test_xlnet_names_resolve_to_their_hub_repos(fake_hub, hf_xlnet_dir):
    folder, _ = hf_xlnet_dir
    fake_hub.add_repo("xlnet/xlnet-base-cased", folder_files(folder))
    loaded = kerabert.XLNetBackbone.from_preset("xlnet_base_en_cased")
    local = kerabert.XLNetBackbone.from_preset(folder)
    for a, b in zip(loaded.weights, local.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    tokenizer = kerabert.XLNetTokenizer.from_preset("xlnet_base_en_cased")
    assert tokenizer.cls_token_id == 3
    with pytest.raises(ValueError, match="XLNetBackbone"):
        kerabert.BertBackbone.from_preset("xlnet_base_en_cased")


@pytest.mark.filterwarnings("ignore:.*has no pooler weights")
def test_names_resolve_to_their_hub_repos(fake_hub, tmp_path, hf_bert_dir):
    folder, _ = hf_bert_dir
    fake_hub.add_repo("google-bert/bert-base-uncased", folder_files(folder))
    loaded = kerabert.BertBackbone.from_preset("bert_base_en_uncased")
    local = kerabert.BertBackbone.from_preset(folder)
    for a, b in zip(loaded.weights, local.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    # The SQuAD entry is a BertForQuestionAnswering checkpoint: its head loads.
    squad_dir = str(tmp_path / "squad")
    model = save_tiny_hf_bert(squad_dir, "BertForQuestionAnswering", seed=3)
    fake_hub.add_repo("google-bert/bert-large-uncased-whole-word-masking-finetuned-squad",
                      folder_files(squad_dir))
    qa = kerabert.BertQuestionAnswerer.from_preset("bert_large_en_uncased_wwm_squad",
                                                   preprocessor=None)
    np.testing.assert_allclose(qa.get_layer("span_logits").kernel.numpy(),
                               model.qa_outputs.weight.detach().numpy().T)
    asked = {path for method, path, _ in fake_hub.requests if method == "GET"}
    assert "/api/models/google-bert/bert-base-uncased/revision/main" in asked
