"""`kerabert convert SOURCE DEST` turns every checkpoint format into a kerabert
preset that matches the `transformers` model the checkpoint was written from."""

import os
import shutil

import numpy as np
import pytest

import kerabert
from kerabert import cli
from tests.conftest import assert_backbone_matches
from tests.conftest import run_python
from tests.conftest import save_tiny_hf_bert
from tests.conftest import save_tiny_hf_xlnet
from tests.presets import checkpoint_writers
TEXTS = ["the quick brown fox jumps over the lazy dog.", "a cat sat on the mat"]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """One tiny BertForPreTraining (tanh GELU) written in every format."""
    root = tmp_path_factory.mktemp("convert_sources")
    hf_model = save_tiny_hf_bert(str(root / "hf"), "BertForPreTraining", seed=4,
                                 hidden_act="gelu_new")
    folders = {"huggingface_bin": str(root / "hf_bin")}
    hf_model.save_pretrained(folders["huggingface_bin"], safe_serialization=False)
    shutil.copy(root / "hf" / "vocab.txt", folders["huggingface_bin"])
    for name, write in (("tf1", checkpoint_writers.write_tf1_folder),
                        ("keras_bert", checkpoint_writers.write_keras_bert_folder),
                        ("tf_20", checkpoint_writers.write_tf20_folder)):
        folders[name] = str(root / name / "uncased_L-2_H-16_A-2")
        write(folders[name], hf_model)
    return folders, hf_model


def _assert_matches(backbone, preprocessor, hf_model):
    packed = {k: v.numpy() for k, v in preprocessor(TEXTS).items()}
    assert_backbone_matches(backbone, hf_model.bert, packed)


def test_command_line_converts_a_tf1_checkpoint(sources, tmp_path):
    folders, hf_model = sources
    dest = str(tmp_path / "preset")
    result = run_python("-m", "kerabert.cli", "convert", folders["tf1"], dest,
                        env={"COLUMNS": "200"})
    assert "original Google TF1 BERT checkpoint" in result.stdout
    assert "39 of 46 converted" in result.stdout
    out = " ".join(result.stdout.replace("│", " ").split())
    assert "left out 7 tensors: the pretrainer head, not part of this model" in out
    assert sorted(os.listdir(dest)) == ["assets", "config.json", "metadata.json",
                                        "model.weights.h5", "tokenizer.json"]
    backbone = kerabert.BertBackbone.from_preset(dest)
    preprocessor = kerabert.BertPreprocessor.from_preset(dest, sequence_length=16)
    assert backbone.activation == "gelu_approximate" and preprocessor.tokenizer.lowercase
    _assert_matches(backbone, preprocessor, hf_model)


@pytest.mark.parametrize("source", ["huggingface_bin", "tf_20"])
def test_other_formats_convert(sources, tmp_path, source, capsys):
    folders, hf_model = sources
    dest = str(tmp_path / "preset")
    assert cli.main(["convert", folders[source], dest]) == 0
    assert "Converted" in capsys.readouterr().out
    preprocessor = kerabert.BertPreprocessor.from_preset(dest, sequence_length=16)
    _assert_matches(kerabert.BertBackbone.from_preset(dest), preprocessor, hf_model)


def test_task_preset_with_casing_override(sources, tmp_path, capsys):
    folders, hf_model = sources
    dest = str(tmp_path / "classifier")
    argv = ["convert", folders["keras_bert"], dest, "--task", "classifier",
            "--num-classes", "3", "--cased"]
    assert cli.main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "keras_bert" in out and "lowercase=False" in out
    classifier = kerabert.BertClassifier.from_preset(dest)
    assert classifier.num_classes == 3
    assert classifier.preprocessor.sequence_length == 64  # the model's maximum (< 512)
    assert not classifier.preprocessor.tokenizer.lowercase
    _assert_matches(classifier.backbone, kerabert.BertPreprocessor.from_preset(
        folders["keras_bert"], sequence_length=16), hf_model)
    # DEST now exists: converting again needs --overwrite, which replaces it whole.
    assert cli.main(argv) == 1
    assert "pass --overwrite" in " ".join(capsys.readouterr().err.split())
    assert cli.main(["convert", folders["keras_bert"], dest, "--overwrite"]) == 0
    assert "task.json" not in os.listdir(dest)


def test_errors_are_reported_without_a_traceback(tmp_path, capsys):
    source = tmp_path / "gpt"
    source.mkdir()
    (source / "config.json").write_text('{"model_type": "gpt2"}')
    assert cli.main(["convert", str(source), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kerabert convert: error: ") and "unknown model_type 'gpt2'" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not os.path.exists(tmp_path / "out")


def test_xlnet_task_preset(tmp_path, capsys):
    source = str(tmp_path / "hf_xlnet_qa")
    save_tiny_hf_xlnet(source, "XLNetForQuestionAnswering", seed=5)
    dest = str(tmp_path / "preset")
    assert cli.main(["convert", source, dest, "--task", "question_answerer",
                     "--sequence-length", "64"]) == 0
    qa = kerabert.XLNetQuestionAnswerer.from_preset(dest)
    direct = kerabert.XLNetQuestionAnswerer.from_preset(source)
    for a, b in zip(qa.weights, direct.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert qa.preprocessor.sequence_length == 64
