"""`task.export(...)` and `kerabert export` write the raw-string SavedModels,
which a process with only TensorFlow and the tensorflow-text kernels answers
as kerabert does."""

import subprocess
import sys

import numpy as np

import kerabert
from kerabert import cli
from tests.serving.conftest import call_in_fresh_process
from tests.serving.conftest import strings

TEXTS = ["the quick brown fox", "", "a lazy dog was not good !"]


def test_task_export_is_the_raw_string_export(hf_models, tmp_path):
    classifier = kerabert.BertClassifier.from_preset(hf_models["bert_classifier"],
                                                     sequence_length=16)
    path = tmp_path / "classifier"
    classifier.export(str(path))
    _, (result,) = call_in_fresh_process(path, [("serving_default", {"text": strings(TEXTS)})])
    np.testing.assert_allclose(result["logits"], classifier.predict(TEXTS, verbose=0),
                               atol=1e-5)
    # What the README's TF Serving requests rely on, as TensorFlow's own tool shows it.
    # The tool is run through this interpreter: its console script sits in the
    # venv's bin/, which is not on PATH when the venv's python is called directly.
    shown = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir", str(path),
         "--tag_set", "serve", "--signature_def", "serving_pairs"],
        capture_output=True, text=True, timeout=300, check=True).stdout
    for line in ("inputs['text'] tensor_info", "inputs['text_pair'] tensor_info",
                 "dtype: DT_STRING", "shape: (-1)", "outputs['logits'] tensor_info",
                 "outputs['probabilities'] tensor_info", "shape: (-1, 3)",
                 "Method name is: tensorflow/serving/predict"):
        assert line in shown, shown
    # Without a preprocessor: Keras' own export of the token-id inputs.
    bare = kerabert.BertClassifier(classifier.backbone, num_classes=3)
    bare.export(str(tmp_path / "bare"), verbose=False)
    import tensorflow as tf

    loaded = tf.saved_model.load(str(tmp_path / "bare"))
    packed = {k: tf.constant(v) for k, v in classifier.preprocessor(TEXTS).items()}
    np.testing.assert_allclose(loaded.serve(packed), bare.predict(packed, verbose=0), atol=1e-5)


def test_command_line_exports_what_the_preset_holds(hf_models, tmp_path, capsys):
    # An earlier export there: --overwrite replaces it, leaving none of its files.
    qa_dir = str(tmp_path / "qa")
    (tmp_path / "qa" / "assets").mkdir(parents=True)
    (tmp_path / "qa" / "assets" / "earlier_vocab.txt").write_text("[PAD]\n")
    assert cli.main(["export", hf_models["bert_qa"], qa_dir, "--sequence-length", "32",
                     "--handle-impossible-answer", "--overwrite"]) == 0
    assert "question_answerer SavedModel" in capsys.readouterr().out
    assert not (tmp_path / "qa" / "assets" / "earlier_vocab.txt").exists()
    assert (tmp_path / "qa" / "saved_model.pb").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["qa"]  # no staging folder left
    qa = kerabert.BertQuestionAnswerer.from_preset(hf_models["bert_qa"], sequence_length=32)
    question, context = "what jumps ?", "the quick brown fox jumps over the lazy dog ."
    _, (result,) = call_in_fresh_process(qa_dir, [(
        "serving_default", {"question": strings([question]), "context": strings([context])})])
    expected = qa.answer(question=question, context=context, handle_impossible_answer=True)
    assert result["answer"][0] == expected["answer"]
    assert (result["start"][0], result["end"][0]) == (expected["start"], expected["end"])
    np.testing.assert_allclose(result["score"][0], expected["score"], rtol=1e-5)

    embedder_dir = str(tmp_path / "embedder")
    assert cli.main(["export", hf_models["xlnet_classifier"], embedder_dir, "--task",
                     "embedder", "--sequence-length", "16"]) == 0
    signatures, (result,) = call_in_fresh_process(
        embedder_dir, [("serving_default", {"text": strings(TEXTS)})])
    backbone = kerabert.XLNetBackbone.from_preset(hf_models["xlnet_classifier"])
    packed = kerabert.XLNetPreprocessor.from_preset(hf_models["xlnet_classifier"],
                                                    sequence_length=16)(TEXTS)
    np.testing.assert_allclose(result["sequence_output"],
                               backbone(packed)["sequence_output"].numpy(), atol=1e-5)

    assert cli.main(["export", hf_models["bert_classifier"], str(tmp_path / "x"),
                     "--doc-stride", "8"]) == 1
    assert "--task question_answerer only" in capsys.readouterr().err
