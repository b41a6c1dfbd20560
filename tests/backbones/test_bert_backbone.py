import keras
import numpy as np
import pytest
import torch
import transformers

import kerabert
from tests.conftest import torch_inputs

SENTENCES = ["the quick brown fox jumps over the lazy dog.", "a cat sat on the mat",
             "", "good movie , not bad !"]


def _packed(tokenizer_dir, pairs=False, length=16):
    preprocessor = kerabert.BertPreprocessor.from_preset(tokenizer_dir, sequence_length=length)
    x = (SENTENCES, SENTENCES[::-1]) if pairs else SENTENCES
    return {k: v.numpy() for k, v in preprocessor(x).items()}


@pytest.mark.parametrize("pairs", [False, True])
def test_matches_transformers_bert_model(hf_bert_dir, pairs):
    folder, hf_model = hf_bert_dir
    backbone = kerabert.BertBackbone.from_preset(folder)
    packed = _packed(folder, pairs=pairs)
    ours = backbone(packed)
    with torch.no_grad():
        theirs = hf_model(**torch_inputs(packed))
    mask = packed["padding_mask"].astype(bool)
    # Padded positions hold garbage in both models; compare the real tokens.
    np.testing.assert_allclose(ours["sequence_output"].numpy()[mask],
                               theirs.last_hidden_state.numpy()[mask], atol=1e-5)
    np.testing.assert_allclose(ours["pooled_output"].numpy(),
                               theirs.pooler_output.numpy(), atol=1e-5)


def test_minilm_real_checkpoint_matches_transformers(minilm_dir):
    backbone = kerabert.BertBackbone.from_preset(minilm_dir)
    tokenizer = kerabert.BertTokenizer.from_preset(minilm_dir)
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_dir)
    hf_model = transformers.AutoModel.from_pretrained(minilm_dir).eval()
    texts = ["kerabert loads the MiniLM checkpoint.",
             "Héllo Wörld! Ça va? 東京 is in Japan; 3.14 > 2,71 :-)",
             "A much longer sentence, with commas, dashes — and an URL https://example.com/a?b=1."]
    preprocessor = kerabert.BertPreprocessor(tokenizer, sequence_length=48)
    packed = {k: v.numpy() for k, v in preprocessor(texts).items()}
    expected = hf_tokenizer(texts, padding="max_length", max_length=48, return_tensors="np")
    np.testing.assert_array_equal(packed["token_ids"], expected["input_ids"])
    np.testing.assert_array_equal(packed["padding_mask"], expected["attention_mask"])
    ours = backbone(packed)["sequence_output"].numpy()
    with torch.no_grad():
        theirs = hf_model(**torch_inputs(packed)).last_hidden_state.numpy()
    mask = packed["padding_mask"].astype(bool)
    np.testing.assert_allclose(ours[mask], theirs[mask], atol=1e-5)


def test_config_covers_reference_fields_and_round_trips():
    backbone = kerabert.BertBackbone(
        vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=12,
        dropout=0.05, attention_dropout=0.2, max_sequence_length=20, num_segments=16,
        activation="gelu_approximate", layer_norm_epsilon=1e-12, initializer_range=0.03)
    config = backbone.get_config()
    for key, value in dict(vocabulary_size=50, num_segments=16, dropout=0.05,
                           attention_dropout=0.2, max_sequence_length=20,
                           activation="gelu_approximate", layer_norm_epsilon=1e-12,
                           initializer_range=0.03).items():
        assert config[key] == value
    clone = kerabert.BertBackbone.from_config(config)
    assert clone.get_config() == config
    layer = backbone.get_layer("transformer_layer_0")
    assert layer.self_attention.dropout.rate == 0.2
    assert layer.output_dropout.rate == 0.05
    assert layer.output_layer_norm.epsilon == 1e-12


@pytest.mark.parametrize("name,exact", [("gelu", True), ("gelu_approximate", False)])
def test_gelu_forms(name, exact):
    from kerabert.layers.activations import get_activation
    x = np.linspace(-4, 4, 41).astype("float32")
    y = np.asarray(get_activation(name)(x))
    # Independent references: torch's exact GELU and its tanh approximation.
    approximate = "none" if exact else "tanh"
    expected = torch.nn.functional.gelu(torch.tensor(x), approximate=approximate).numpy()
    np.testing.assert_allclose(y, expected, atol=1e-6)
    other = torch.nn.functional.gelu(torch.tensor(x), approximate="tanh" if exact else "none")
    assert np.abs(y - other.numpy()).max() > 1e-4  # the two forms really differ


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_outputs_and_float32_islands(policy):
    backbone = kerabert.BertBackbone(vocabulary_size=40, num_layers=1, num_heads=2,
                                     hidden_dim=8, intermediate_dim=16, dtype=policy)
    inputs = {"token_ids": np.ones((2, 6), "int32"), "segment_ids": np.zeros((2, 6), "int32"),
              "padding_mask": np.array([[1] * 6, [1, 1, 1, 0, 0, 0]], "int32")}
    outputs = backbone(inputs)
    compute = policy.split("_")[1]
    assert outputs["sequence_output"].dtype.name == compute
    assert backbone.token_embedding.embeddings.dtype == "float32"
    assert np.isfinite(outputs["sequence_output"].numpy().astype("float32")).all()
    classifier = kerabert.BertClassifier(backbone, num_classes=2)
    assert classifier(inputs).dtype.name == "float32"
    # The policy is the model's own, so it survives the config round trip.
    assert backbone.dtype_policy.name == policy
    assert kerabert.BertBackbone.from_config(backbone.get_config()).dtype_policy.name == policy


def test_padding_does_not_change_real_token_outputs():
    keras.utils.set_random_seed(1)
    backbone = kerabert.BertBackbone(vocabulary_size=40, num_layers=2, num_heads=2,
                                     hidden_dim=8, intermediate_dim=16)
    ids = np.array([[5, 6, 7, 8]], "int32")
    short = backbone({"token_ids": ids, "segment_ids": np.zeros_like(ids),
                      "padding_mask": np.ones_like(ids)})
    padded_ids = np.array([[5, 6, 7, 8, 0, 0, 0]], "int32")
    long = backbone({"token_ids": padded_ids, "segment_ids": np.zeros_like(padded_ids),
                     "padding_mask": np.array([[1, 1, 1, 1, 0, 0, 0]], "int32")})
    np.testing.assert_allclose(long["sequence_output"].numpy()[:, :4],
                               short["sequence_output"].numpy(), atol=1e-6)


def test_bad_heads_and_activation():
    with pytest.raises(ValueError, match="not a multiple"):
        kerabert.BertBackbone(vocabulary_size=10, num_layers=1, num_heads=3, hidden_dim=8,
                              intermediate_dim=8)
    with pytest.raises(ValueError, match="Unknown activation"):
        kerabert.BertBackbone(vocabulary_size=10, num_layers=1, num_heads=2, hidden_dim=8,
                              intermediate_dim=8, hidden_act="gelu_new")


def test_configs_that_say_hidden_act_still_load():
    """`activation` was called `hidden_act` before kerabert 0.2: saved configs load
    unchanged, and code that passes the old name gets a DeprecationWarning."""
    config = kerabert.BertBackbone(vocabulary_size=20, num_layers=1, num_heads=2, hidden_dim=4,
                                   intermediate_dim=8).get_config()
    config["hidden_act"] = config.pop("activation")
    config["hidden_act"] = "relu"
    assert kerabert.BertBackbone.from_config(config).activation == "relu"
    with pytest.warns(DeprecationWarning, match="now called activation"):
        backbone = kerabert.BertBackbone(vocabulary_size=20, num_layers=1, num_heads=2,
                                         hidden_dim=4, intermediate_dim=8, hidden_act="tanh")
    assert backbone.activation == "tanh"
