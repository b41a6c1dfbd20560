"""`from_preset` keywords: routed to the task, preprocessor, tokenizer or
backbone; a keyword nothing takes is an error, never dropped."""

import shutil
import warnings

import numpy as np
import pytest

import kerabert


def test_misspelt_task_keyword_names_it_and_the_valid_ones(hf_bert_dir):
    folder, _ = hf_bert_dir
    with pytest.raises(TypeError) as error:
        kerabert.BertClassifier.from_preset(folder, num_classes=2, sequence_lenght=8)
    message = str(error.value)
    assert "'sequence_lenght' (did you mean 'sequence_length'?)" in message
    for valid in ("num_classes", "sequence_length", "lowercase", "dtype", "load_weights"):
        assert valid in message


def test_misspelt_keyword_of_every_loader(hf_bert_dir):
    folder, _ = hf_bert_dir
    with pytest.raises(TypeError, match="'dropuot' \\(did you mean 'dropout'\\?\\)"):
        kerabert.BertClassifier.from_preset(folder, num_classes=2, dropuot=0.2)
    with pytest.raises(TypeError, match="'num_layer' .*num_layers"):
        kerabert.BertBackbone.from_preset(folder, num_layer=1)
    with pytest.raises(TypeError, match="'lowercas' .*lowercase"):
        kerabert.BertTokenizer.from_preset(folder, lowercas=False)
    with pytest.raises(TypeError, match="'sequence_lenght'"):
        kerabert.BertPreprocessor.from_preset(folder, sequence_lenght=8)
    with pytest.raises(TypeError, match="'doc_strid' .*doc_stride"):
        kerabert.BertQuestionAnswerer.from_preset(folder, doc_strid=32)


def test_keywords_reach_their_owner(hf_bert_dir):
    folder, _ = hf_bert_dir
    classifier = kerabert.BertClassifier.from_preset(
        folder, num_classes=2, dropout=0.3, sequence_length=8, lowercase=False,
        dtype="mixed_bfloat16", attention_dropout=0.0)
    assert classifier.dropout == 0.3
    assert classifier.preprocessor.sequence_length == 8
    assert classifier.preprocessor.tokenizer.lowercase is False
    assert classifier.backbone.dtype_policy.name == "mixed_bfloat16"
    assert classifier.backbone.attention_dropout == 0.0
    pretrainer = kerabert.BertPretrainer.from_preset(folder, mask_rate=0.5, sequence_length=8)
    assert pretrainer.preprocessor.mask_rate == 0.5


def test_num_classes_is_keyword_only(hf_bert_dir):
    folder, _ = hf_bert_dir
    with pytest.raises(TypeError, match="positional"):
        kerabert.BertClassifier.from_preset(folder, 2)


def test_mismatched_head_warns_with_both_sizes(hf_classifier_dir):
    folder, hf_model = hf_classifier_dir  # a 3-label BertForSequenceClassification
    with pytest.warns(UserWarning) as caught:
        classifier = kerabert.BertClassifier.from_preset(folder, num_classes=2, sequence_length=8)
    message = " ".join(str(w.message) for w in caught)
    assert "num_classes=3 in the preset, 2 asked for" in message
    assert "new head" in message
    assert classifier.predict(["the dog"], verbose=0).shape == (1, 2)
    # The backbone still loads; only the head is new.
    np.testing.assert_allclose(
        classifier.backbone.token_embedding.embeddings.numpy(),
        hf_model.bert.embeddings.word_embeddings.weight.detach().numpy(), atol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fitting head loads without a word
        assert kerabert.BertClassifier.from_preset(folder, num_classes=3,
                                                   sequence_length=8).num_classes == 3


def test_predict_one_string_is_a_batch_of_one(hf_classifier_dir):
    folder, _ = hf_classifier_dir
    classifier = kerabert.BertClassifier.from_preset(folder, sequence_length=8)
    one = classifier.predict("the quick dog", verbose=0)
    assert one.shape == (1, 3)
    np.testing.assert_allclose(one, classifier.predict(["the quick dog"], verbose=0), atol=1e-6)
    pair = classifier.predict(("the dog", "a cat"), verbose=0)
    np.testing.assert_allclose(pair, classifier.predict((["the dog"], ["a cat"]), verbose=0),
                               atol=1e-6)


def test_bad_texts_are_named(hf_classifier_dir):
    folder, _ = hf_classifier_dir
    classifier = kerabert.BertClassifier.from_preset(folder, sequence_length=8)
    with pytest.raises(ValueError, match="empty list of texts"):
        classifier.predict([], verbose=0)
    with pytest.raises(TypeError, match="item 1 has type int \\(3\\)"):
        classifier.predict(["a dog", 3], verbose=0)
    with pytest.raises(TypeError, match="item 0 has type NoneType"):
        classifier.fit([None, "a cat"], np.array([0, 1]), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="have 2 and 1 rows"):
        classifier.predict((["the dog", "a cat"], ["a cow"]), verbose=0)


def test_malformed_config_reports_the_json_error(hf_bert_dir, tmp_path):
    folder, _ = hf_bert_dir
    shutil.copytree(folder, tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text('{"model_type": "bert",\n  "vocab_size": }\n')
    with pytest.raises(ValueError) as error:
        kerabert.BertBackbone.from_preset(str(tmp_path / "m"))
    message = str(error.value)
    assert "config.json is not valid JSON" in message
    assert "line 2, column 17" in message
    assert "Cannot tell" not in message


def test_malformed_tf1_config_reports_the_json_error(tmp_path):
    (tmp_path / "bert_config.json").write_text("{'vocab_size': 3}")
    with pytest.raises(ValueError, match="bert_config.json is not valid JSON.*line 1, column 2"):
        kerabert.BertBackbone.from_preset(str(tmp_path), load_weights=False)
