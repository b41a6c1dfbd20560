import json
import os
import shutil

import numpy as np
import pytest

import kerabert
from kerabert.presets import saver


def test_missing_folder():
    with pytest.raises(FileNotFoundError, match="not found"):
        kerabert.BertBackbone.from_preset("/no/such/preset")


def test_folder_with_unknown_content(tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(ValueError, match="Cannot tell"):
        kerabert.BertBackbone.from_preset(str(tmp_path))


def test_unknown_model_type(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(ValueError, match="unknown model_type 'gpt2'"):
        kerabert.BertBackbone.from_preset(str(tmp_path))


def test_missing_weights_file(hf_bert_dir, tmp_path):
    folder, _ = hf_bert_dir
    shutil.copy(os.path.join(folder, "config.json"), tmp_path)
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        kerabert.BertBackbone.from_preset(str(tmp_path))
    assert kerabert.BertBackbone.from_preset(str(tmp_path), load_weights=False).num_layers == 2


def test_config_that_does_not_match_weights(hf_bert_dir, tmp_path):
    folder, _ = hf_bert_dir
    shutil.copytree(folder, tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["vocab_size"] += 7
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(kerabert.CheckpointMismatchError) as error:
        kerabert.BertBackbone.from_preset(str(tmp_path / "m"))
    message = str(error.value)
    assert "embeddings.word_embeddings.weight" in message
    assert "(31, 16)" in message and "(38, 16)" in message


def test_truncated_safetensors(hf_bert_dir, tmp_path):
    folder, _ = hf_bert_dir
    shutil.copytree(folder, tmp_path / "m")
    path = tmp_path / "m" / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(kerabert.CorruptCheckpointError, match="truncated"):
        kerabert.BertBackbone.from_preset(str(tmp_path / "m"))


def test_unused_tensors_are_reported(hf_bert_dir, tmp_path):
    from kerabert.presets.formats import safetensors_io
    folder, _ = hf_bert_dir
    shutil.copytree(folder, tmp_path / "m")
    path = str(tmp_path / "m" / "model.safetensors")
    tensors = {k: f() for k, f in safetensors_io.open_tensors(path).items()}
    tensors["extra.adapter.weight"] = np.zeros((2, 2), "float32")
    safetensors_io.save_file(tensors, path)
    with pytest.raises(kerabert.CheckpointMismatchError, match="extra.adapter.weight"):
        kerabert.BertBackbone.from_preset(str(tmp_path / "m"))
    backbone = kerabert.BertBackbone.from_preset(str(tmp_path / "m"), ignore_unused_weights=True)
    assert backbone.num_layers == 2


def test_wrong_class_for_preset(hf_bert_dir, tmp_path):
    folder, _ = hf_bert_dir
    backbone = kerabert.BertBackbone.from_preset(folder)
    backbone.save_to_preset(str(tmp_path / "p"))
    with pytest.raises(FileNotFoundError, match="lacks tokenizer.json"):
        kerabert.BertTokenizer.from_preset(str(tmp_path / "p"))


def test_failed_save_leaves_previous_preset_intact(hf_bert_dir, tmp_path):
    folder, _ = hf_bert_dir
    target = str(tmp_path / "p")
    backbone = kerabert.BertBackbone.from_preset(folder)
    backbone.save_to_preset(target)
    before = sorted(os.listdir(target))
    with pytest.raises(RuntimeError):
        with saver.PresetWriter(target) as writer:
            writer.write_backbone(backbone)
            raise RuntimeError("crash midway")
    assert sorted(os.listdir(target)) == before
    assert [n for n in os.listdir(tmp_path) if n != "p"] == []  # no temp left behind
    assert kerabert.BertBackbone.from_preset(target).num_layers == 2


def test_corrupt_kerabert_weights(hf_bert_dir, tmp_path):
    folder, _ = hf_bert_dir
    target = tmp_path / "p"
    kerabert.BertBackbone.from_preset(folder).save_to_preset(str(target))
    (target / "model.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="not a readable HDF5"):
        kerabert.BertBackbone.from_preset(str(target))


# --- tokenizer assets stay inside the preset folder ------------------------------

def _saved_preset(cls, folder):
    from tests import harness

    task = harness.tiny_task(cls, num_classes=2)
    task.save_to_preset(folder)
    return task


def _point_tokenizer_at(folder, key, value):
    path = os.path.join(folder, "tokenizer.json")
    with open(path) as f:
        config = json.load(f)
    config["config"][key] = value
    with open(path, "w") as f:
        json.dump(config, f)


@pytest.mark.parametrize("cls, key", [(kerabert.BertClassifier, "vocabulary"),
                                      (kerabert.XLNetClassifier, "proto")])
def test_tokenizer_assets_outside_the_folder_are_refused(cls, key, tmp_path):
    folder = str(tmp_path / "preset")
    task = _saved_preset(cls, folder)
    outside = tmp_path / "outside.txt"
    shutil.copy(os.path.join(folder, "assets", "tokenizer", os.listdir(
        os.path.join(folder, "assets", "tokenizer"))[0]), outside)
    for value in ("../../etc/passwd", "assets/../../outside.txt", str(outside), "/etc/passwd"):
        _point_tokenizer_at(folder, key, value)
        with pytest.raises(ValueError, match=f"names its {key} file .* outside the preset "
                                             "folder"):
            cls.from_preset(folder)
        with pytest.raises(ValueError, match="outside the preset folder"):
            cls.preprocessor_cls.tokenizer_cls.from_preset(folder)
    # A file named inside the folder is read from there (the folder is the base).
    asset = os.listdir(os.path.join(folder, "assets", "tokenizer"))[0]
    os.rename(os.path.join(folder, "assets", "tokenizer", asset), os.path.join(folder, "mine"))
    _point_tokenizer_at(folder, key, "mine")
    again = cls.from_preset(folder)
    texts = ["the quick brown fox", "a good movie"]
    np.testing.assert_array_equal(again.preprocessor(texts)["token_ids"],
                                  task.preprocessor(texts)["token_ids"])
