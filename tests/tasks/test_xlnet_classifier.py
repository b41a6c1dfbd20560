"""XLNetClassifier against transformers' XLNetForSequenceClassification."""

import keras
import numpy as np
import pytest
import torch

import kerabert
from tests import harness
from tests.conftest import save_tiny_hf_xlnet

TEXTS = ["The quick brown fox jumps.", "In 1990, the boy paid 3,500 yen.",
         "Botchan was not good", "a"]


def _torch(packed):
    def t(name, dtype=torch.long):
        return torch.tensor(np.asarray(packed[name]), dtype=dtype)

    return {"input_ids": t("token_ids"), "token_type_ids": t("segment_ids"),
            "attention_mask": t("padding_mask", torch.float32)}


@pytest.fixture(scope="module")
def hf_classifier(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("hf_xlnet_cls"))
    hf = save_tiny_hf_xlnet(folder, "XLNetForSequenceClassification", seed=1, num_labels=3)
    return folder, hf


@pytest.mark.parametrize("pairs", [False, True])
def test_sequence_classification_head_matches_transformers(hf_classifier, pairs):
    folder, hf = hf_classifier
    classifier = kerabert.XLNetClassifier.from_preset(folder, sequence_length=48)
    assert classifier.num_classes == 3
    x = (TEXTS, TEXTS[::-1]) if pairs else TEXTS
    packed = {k: v.numpy() for k, v in classifier.preprocessor(x).items()}
    # <cls> is last and padding is on the left, as the reference packs it.
    assert (packed["token_ids"][:, -1] == classifier.preprocessor.tokenizer.cls_token_id).all()
    assert packed["padding_mask"][:, -1].all() and not packed["padding_mask"][:, 0].all()
    with torch.no_grad():
        expected = hf(**_torch(packed)).logits.numpy()
    np.testing.assert_allclose(classifier.predict(x, verbose=0), expected, atol=1e-5)


def test_backbone_only_preset_needs_num_classes(hf_xlnet_dir):
    folder, _ = hf_xlnet_dir
    with pytest.raises(ValueError, match="num_classes"):
        kerabert.XLNetClassifier.from_preset(folder)


@pytest.fixture(scope="module")
def trained(hf_xlnet_dir):
    folder, _ = hf_xlnet_dir
    keras.utils.set_random_seed(0)
    classifier = kerabert.XLNetClassifier.from_preset(folder, num_classes=2, sequence_length=16)
    rng = np.random.default_rng(0)
    words = ["good", "fine", "great", "bad", "awful", "poor"]
    texts, labels = [], []
    for _ in range(64):
        label = int(rng.integers(0, 2))
        picks = rng.choice(words[:3] if label else words[3:], size=3)
        texts.append(" ".join(picks))
        labels.append(label)
    classifier.compile(learning_rate=5e-3)
    history = classifier.fit(texts, np.array(labels), batch_size=16, epochs=10, verbose=0)
    return classifier, history, texts, np.array(labels)


def test_fine_tuning_loss_falls(trained):
    classifier, history, texts, labels = trained
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    accuracy = (classifier.predict(texts, verbose=0).argmax(-1) == labels).mean()
    assert accuracy > 0.9


def test_save_to_preset_round_trip(trained, tmp_path):
    classifier, _, texts, _ = trained
    classifier.save_to_preset(str(tmp_path / "preset"))
    reloaded = kerabert.XLNetClassifier.from_preset(str(tmp_path / "preset"))
    assert reloaded.num_classes == 2
    np.testing.assert_allclose(reloaded.predict(texts[:8], verbose=0),
                               classifier.predict(texts[:8], verbose=0), atol=1e-6)


@pytest.mark.filterwarnings("ignore:Gradients do not exist.*mask_embedding")
def test_xlnet_recipe_and_layer_wise_decay():
    backbone = kerabert.XLNetBackbone(vocabulary_size=20, num_layers=2, num_heads=2,
                                      hidden_dim=8, intermediate_dim=12, dropout=0.0,
                                      attention_dropout=0.0)
    classifier = kerabert.XLNetClassifier(backbone, num_classes=2, dropout=0.0)
    classifier.compile(learning_rate=1e-3, weight_decay=0.01, layer_decay_rate=0.5,
                       num_train_steps=10, warmup_ratio=0.0)
    optimizer = classifier.optimizer
    assert optimizer.epsilon == 1e-8
    by_path = {v.path: v for v in classifier.trainable_variables}
    # The relative biases are decayed although their names contain "bias".
    assert optimizer._use_weight_decay(by_path["relative_bias/r_w_bias"])
    assert not optimizer._use_weight_decay(by_path["transformer_layer_0/ff_layer_1/bias"])
    assert not optimizer._use_weight_decay(
        by_path["transformer_layer_0/ff_layer_norm/gamma"])
    # One Adam step moves every weight by ~lr (m / sqrt(v) = sign(g)); layer 0
    # of 2 moves by half that with layer_decay_rate 0.5.
    x = {"token_ids": np.arange(8, dtype="int32").reshape(2, 4) + 1,
         "segment_ids": np.zeros((2, 4), "int32"), "padding_mask": np.ones((2, 4), "int32")}
    names = ["transformer_layer_0/ff_layer_2/kernel", "transformer_layer_1/ff_layer_2/kernel"]
    before = [by_path[n].numpy() for n in names]
    classifier.train_on_batch(x, np.array([0, 1]))
    steps = [np.abs(by_path[n].numpy() - b).max() for n, b in zip(names, before)]
    lr = 1e-3  # the schedule at step 0 (no warmup)
    np.testing.assert_allclose(steps[1], lr, rtol=0.05)
    np.testing.assert_allclose(steps[0], 0.5 * lr, rtol=0.05)


# --- the shared harness ----------------------------------------------------------

class TestHarness(harness.TaskRoundTrips):
    task_cls = kerabert.XLNetClassifier
    texts = harness.TEXTS
