"""`kerabert pretrain --config`: tiny BERT and XLNet runs end to end."""

import json
import os

import numpy as np
import pytest

import kerabert
from kerabert import cli
from kerabert.commands import pretrain
from kerabert.data import bert_pretraining
from tests.conftest import XLNET_SPIECE

BOTCHAN = os.path.join(os.path.dirname(__file__), "..", "fixtures", "botchan.txt")


def _write(path, config):
    path.write_text(json.dumps(config))
    return str(path)


def bert_config(tmp_path, **training):
    """A tiny BERT pretraining config on the Botchan text, written to
    `tmp_path / "config.json"`; `training` adds or overrides its training keys."""
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(bert_pretraining.frequency_vocabulary(BOTCHAN, 200)) + "\n")
    config = {
        "model": "bert",
        "backbone": {"num_layers": 1, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32,
                     "max_sequence_length": 64},
        "tokenizer": {"vocabulary": str(vocab), "lowercase": True},
        "data": {"files": [BOTCHAN], "sequence_length": 32, "max_predictions_per_seq": 5},
        "training": {"batch_size": 8, "steps_per_epoch": 5, "epochs": 2, "learning_rate": 1e-3,
                     **training},
        "output_dir": str(tmp_path / "out"),
    }
    return _write(tmp_path / "config.json", config)


def _spy_on_training(monkeypatch):
    """Records the model `kerabert pretrain` trains (the saved preset keeps no optimizer)."""
    trained = []

    def train(config, console=None):
        model, history = real_train(config, console)
        trained.append(model)
        return model, history

    real_train = pretrain.train
    monkeypatch.setattr(pretrain, "train", train)
    return trained


def test_bert_pretraining_with_backup(tmp_path, capsys, monkeypatch):
    trained = _spy_on_training(monkeypatch)
    config = bert_config(tmp_path, optimizer="lamb", backup_dir=str(tmp_path / "backup"))
    assert cli.main(["pretrain", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "masked_lm_accuracy" in out and "lm_example_loss" in out
    (model,) = trained
    assert type(model.optimizer) is kerabert.Lamb
    assert int(model.optimizer.iterations) == 5 * 2  # steps_per_epoch x epochs
    pretrainer = kerabert.BertPretrainer.from_preset(str(tmp_path / "out"))
    # The pretrained backbone fine-tunes from the same folder.
    classifier = kerabert.BertClassifier.from_preset(str(tmp_path / "out"), num_classes=2)
    np.testing.assert_array_equal(classifier.backbone.token_embedding.embeddings.numpy(),
                                  pretrainer.backbone.token_embedding.embeddings.numpy())
    assert not (tmp_path / "backup").exists()  # removed after a completed run


def test_adamw_is_the_default_optimizer(tmp_path):
    model, _, _ = pretrain.build(pretrain.load_config(bert_config(tmp_path)))
    assert type(model.optimizer) is kerabert.AdamWeightDecay
    model, _, _ = pretrain.build(pretrain.load_config(bert_config(tmp_path, optimizer="lamb")))
    assert type(model.optimizer) is kerabert.Lamb


def test_xlnet_pretraining(tmp_path, capsys):
    config = {
        "model": "xlnet",
        "backbone": {"num_layers": 1, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32,
                     "mem_len": 8},
        "tokenizer": {"proto": XLNET_SPIECE},
        "data": {"files": [BOTCHAN], "seq_len": 16, "reuse_len": 8, "perm_size": 4,
                 "num_predict": 4},
        "training": {"batch_size": 4, "steps_per_epoch": 4, "epochs": 1},
        "output_dir": str(tmp_path / "out"),
    }
    assert cli.main(["pretrain", "--config", _write(tmp_path / "c.json", config)]) == 0
    assert "lm_accuracy" in capsys.readouterr().out
    assert kerabert.XLNetPretrainer.from_preset(str(tmp_path / "out")).batch_size == 4


@pytest.mark.parametrize("config, message", [
    ({"model": "gpt"}, "'model' must be"),
    ({"model": "bert", "output_dir": "x", "backbone": {}}, "data.files"),
    ({"model": "bert", "data": {"files": ["a"]}, "output_dir": "x", "backbone": {"a": 1},
      "training": {"batchsize": 2}}, "unknown training keys"),
])
def test_config_errors(tmp_path, capsys, config, message):
    assert cli.main(["pretrain", "--config", _write(tmp_path / "c.json", config)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kerabert pretrain: error: ") and message in err
    assert len(err.strip().splitlines()) == 1
