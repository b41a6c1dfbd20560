"""TF Model Garden TF2 BERT checkpoints of the seeds' era (keras_bert object
checkpoints of the TransformerEncoder; tf_20 BertModel checkpoints with 2-D Dense3D
kernels, object-based and name-based) load into models that match `transformers`."""

import os

import numpy as np
import pytest
import tensorflow as tf

import kerabert
from kerabert.presets import loader
from kerabert.checkpoints.bert import weights as bert_weights
from tests.conftest import save_tiny_hf_bert
from tests.conftest import assert_backbone_matches
from tests.presets import checkpoint_writers

TEXTS = ["the quick brown fox jumps over the lazy dog.", "a cat sat on the mat"]
VALUE = "/.ATTRIBUTES/VARIABLE_VALUE"

WRITERS = {
    "keras_bert": checkpoint_writers.write_keras_bert_folder,
    "tf_20_object": checkpoint_writers.write_tf20_folder,
    "tf_20_names": lambda folder, model: checkpoint_writers.write_tf20_folder(
        folder, model, object_based=False),
}


@pytest.fixture(scope="module")
def garden(tmp_path_factory):
    root = tmp_path_factory.mktemp("model_garden")
    hf_model = save_tiny_hf_bert(str(root / "hf"), "BertForPreTraining", seed=3,
                                 hidden_act="gelu_new")
    folders = {}
    for layout, write in WRITERS.items():
        folders[layout] = str(root / layout / "uncased_L-2_H-16_A-2")
        write(folders[layout], hf_model)
    return folders, hf_model, root


def _names(folder):
    return dict(tf.train.list_variables(os.path.join(folder, "bert_model.ckpt")))


def test_object_checkpoint_names_follow_the_seed_layouts(garden):
    folders, _, _ = garden
    keras_bert = _names(folders["keras_bert"])
    # Keras 2 functional-network edges: 4 embedding layers, then the blocks, then the pooler.
    assert keras_bert["model/layer_with_weights-0/embeddings" + VALUE] == [31, 16]
    assert keras_bert["model/layer_with_weights-1/embeddings" + VALUE] == [64, 16]
    assert keras_bert["model/layer_with_weights-5/_attention_layer/_query_dense/kernel"
                      + VALUE] == [16, 2, 8]  # DenseEinsum (H, N, D)
    assert keras_bert["model/layer_with_weights-4/_attention_output_dense/kernel"
                      + VALUE] == [2, 8, 16]  # (N, D, H)
    assert keras_bert["model/layer_with_weights-6/kernel" + VALUE] == [16, 16]  # pooler
    tf20 = _names(folders["tf_20_object"])
    root = "model/layer_with_weights-0/"
    assert tf20[root + "encoder/layer1/attention_layer/query_dense/kernel" + VALUE] == [16, 16]
    assert tf20[root + "embedding_postprocessor/type_embeddings" + VALUE] == [2, 16]
    assert not any("/layers/" in name for name in tf20)  # `layer{i}` is the first path
    tf20_names = _names(folders["tf_20_names"])
    assert tf20_names["bert_model/encoder/layer_0/self_attention_output/kernel"] == [16, 16]
    assert "cls/predictions/output_bias" in tf20_names


@pytest.mark.parametrize("layout", sorted(WRITERS))
def test_layout_matches_transformers(garden, layout):
    folders, hf_model, _ = garden
    folder = folders[layout]
    preset = loader.PresetLoader(folder)
    assert preset.source.format_name == "tf_checkpoint"
    assert "Model Garden" in preset.describe()
    backbone = kerabert.BertBackbone.from_preset(folder)
    assert backbone.activation == "gelu_approximate"
    preprocessor = kerabert.BertPreprocessor.from_preset(folder, sequence_length=16)
    packed = {k: v.numpy() for k, v in preprocessor((TEXTS, TEXTS[::-1])).items()}
    assert_backbone_matches(backbone, hf_model.bert, packed)


def test_encoder_inside_a_classifier_checkpoint(garden):
    """A Model Garden classifier saved object-based: the encoder is one layer of the
    outer network and the head another; the head may stay unused, the encoder not."""
    _, hf_model, root = garden
    folder = str(root / "classifier" / "uncased_L-2_H-16_A-2")
    checkpoint_writers.write_bert_config(folder, hf_model.config)
    encoder = checkpoint_writers.keras_bert_encoder(hf_model)
    head = checkpoint_writers.module(kernel=np.ones((16, 3), np.float32),
                                     bias=np.zeros(3, np.float32))
    classifier = checkpoint_writers.functional(
        [(tf.Module(), False)] * 3 + [(encoder, True), (tf.Module(), False), (head, True)])
    checkpoint_writers.write_object_checkpoint(folder, classifier)
    names = _names(folder)
    assert "model/layer_with_weights-0/layer_with_weights-0/embeddings" + VALUE in names
    assert "model/layer_with_weights-1/kernel" + VALUE in names
    garden = bert_weights.model_garden_layout(names)
    assert (garden.kind, garden.root) == (bert_weights.KERAS_BERT, "model/layer_with_weights-0/")
    backbone = kerabert.BertBackbone.from_preset(folder)
    np.testing.assert_array_equal(backbone.token_embedding.embeddings.numpy(),
                                  hf_model.bert.embeddings.word_embeddings.weight.detach().numpy())


def test_extra_tensor_inside_the_encoder_is_an_error(garden):
    _, hf_model, root = garden
    folder = str(root / "extra" / "uncased_L-2_H-16_A-2")
    checkpoint_writers.write_bert_config(folder, hf_model.config)
    encoder = checkpoint_writers.keras_bert_encoder(hf_model)
    getattr(encoder, "layer_with_weights-4").adapter = tf.Variable(np.zeros(4, np.float32))
    checkpoint_writers.write_object_checkpoint(folder, encoder)
    with pytest.raises(kerabert.CheckpointMismatchError,
                       match="model/layer_with_weights-4/adapter"):
        kerabert.BertBackbone.from_preset(folder)


def test_layer_count_that_disagrees_with_the_config(garden, tmp_path):
    _, hf_model, _ = garden
    folder = str(tmp_path / "m")
    checkpoint_writers.write_keras_bert_folder(folder, hf_model)
    config = hf_model.config.__class__(**{**hf_model.config.to_dict(), "num_hidden_layers": 1})
    checkpoint_writers.write_bert_config(folder, config)
    with pytest.raises(kerabert.CheckpointMismatchError, match="holds 2 transformer layers"):
        kerabert.BertBackbone.from_preset(folder)
