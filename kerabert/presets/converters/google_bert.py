"""Original Google BERT TF1 checkpoints (google-research/bert) <-> kerabert BERT.

A released folder (e.g. `uncased_L-12_H-768_A-12/`) holds `bert_config.json`,
`vocab.txt` and the name-based TF1 checkpoint `bert_model.ckpt.{index,data-*}`,
whose variables are named by their TF1 variable scopes:

    bert/embeddings/{word_embeddings, token_type_embeddings, position_embeddings}
    bert/embeddings/LayerNorm/{gamma, beta}
    bert/encoder/layer_N/attention/self/{query, key, value}/{kernel, bias}
    bert/encoder/layer_N/attention/output/dense/{kernel, bias}
    bert/encoder/layer_N/attention/output/LayerNorm/{gamma, beta}
    bert/encoder/layer_N/intermediate/dense/{kernel, bias}
    bert/encoder/layer_N/output/dense/{kernel, bias}
    bert/encoder/layer_N/output/LayerNorm/{gamma, beta}
    bert/pooler/dense/{kernel, bias}
    cls/predictions/transform/dense/{kernel, bias}   masked-LM head (BertPretrainer)
    cls/predictions/transform/LayerNorm/{gamma, beta}
    cls/predictions/output_bias                      (output weights: the word embeddings)
    cls/seq_relationship/output_{weights, bias}      next-sentence head, weights (2, H)

Conventions:
- `tf.layers.dense` kernels are (in, out), as Keras stores them: nothing is transposed.
- `hidden_act: "gelu"` in these configs is the reference's tanh approximation
  (SEED_NOTES §1.2), i.e. kerabert "gelu_approximate"; HF spells the same function
  "gelu_new".
- LayerNorm epsilon is 1e-12 (fixed in the reference, not in the config).
- The tokenizer's casing is not stored anywhere in the folder; it is inferred from
  the folder name as the reference `validate_case_matches_checkpoint` does (see
  `infer_lowercase`), and `from_preset(..., lowercase=...)` overrides it.

`convert_backbone_config`, `convert_tokenizer`, `infer_lowercase` are shared with
`model_garden_bert` (Model Garden releases use the same config and vocab files).
"""

import os

from kerabert.layers import activations

DESCRIPTION = "original Google TF1 BERT checkpoint"

# Reference `get_activation` spellings -> kerabert activation names.
HIDDEN_ACT = {
    "gelu": activations.GELU_APPROXIMATE,
    "relu": "relu",
    "tanh": "tanh",
    "linear": "linear",
}

# Tensors of heads that a backbone-only load may leave unused.
HEAD_PREFIXES = ("cls/", "output_weights", "output_bias")

PREFIX = "bert/"
ANCHOR = "bert/embeddings/word_embeddings"

# The reference's casing lists (`tokenization.validate_case_matches_checkpoint`).
LOWERCASE_MODELS = ("uncased_L-24_H-1024_A-16", "uncased_L-12_H-768_A-12",
                    "multilingual_L-12_H-768_A-12", "chinese_L-12_H-768_A-12")
CASED_MODELS = ("cased_L-12_H-768_A-12", "cased_L-24_H-1024_A-16",
                "multi_cased_L-12_H-768_A-12")

# Reference `BertConfig` fields without which no model can be built.
REQUIRED_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers",
                   "num_attention_heads", "intermediate_size")


def matches(names):
    """True when the checkpoint's variable names are Google's TF1 BERT names."""
    return ANCHOR in names


def describe(names):
    return DESCRIPTION


def convert_backbone_config(config):
    """Reference `BertConfig` dict (`bert_config.json`) -> `BertBackbone` kwargs.

    Missing optional fields take the reference `BertConfig` defaults (SEED_NOTES
    §1.1), including `type_vocab_size=16`.
    """
    missing = [f for f in REQUIRED_FIELDS if f not in config]
    if missing:
        raise ValueError(
            f"The BERT config lacks {missing}; a bert_config.json names at least "
            f"{list(REQUIRED_FIELDS)}.")
    act = config.get("hidden_act", "gelu")
    if act not in HIDDEN_ACT:
        raise ValueError(
            f"Unsupported hidden_act {act!r} in the BERT config; the reference knows "
            f"{sorted(HIDDEN_ACT)}.")
    return {
        "vocabulary_size": config["vocab_size"],
        "num_layers": config["num_hidden_layers"],
        "num_heads": config["num_attention_heads"],
        "hidden_dim": config["hidden_size"],
        "intermediate_dim": config["intermediate_size"],
        "dropout": config.get("hidden_dropout_prob", 0.1),
        "attention_dropout": config.get("attention_probs_dropout_prob", 0.1),
        "max_sequence_length": config.get("max_position_embeddings", 512),
        "num_segments": config.get("type_vocab_size", 16),
        "hidden_act": HIDDEN_ACT[act],
        "layer_norm_epsilon": 1e-12,
        "initializer_range": config.get("initializer_range", 0.02),
    }


def _dense(reader, layer, name):
    reader.assign(layer.kernel, name + "/kernel")
    reader.assign(layer.bias, name + "/bias")


def _layer_norm(reader, layer, name):
    reader.assign(layer.gamma, name + "/gamma")
    reader.assign(layer.beta, name + "/beta")


def convert_backbone_weights(backbone, reader):
    """Copies every `bert/*` tensor from `reader` into `backbone`."""
    reader.assign(backbone.get_layer("token_embedding").embeddings,
                  "bert/embeddings/word_embeddings")
    reader.assign(backbone.get_layer("position_embedding").position_embeddings,
                  "bert/embeddings/position_embeddings")
    reader.assign(backbone.get_layer("segment_embedding").embeddings,
                  "bert/embeddings/token_type_embeddings")
    _layer_norm(reader, backbone.get_layer("embeddings_layer_norm"), "bert/embeddings/LayerNorm")
    for i in range(backbone.num_layers):
        layer = backbone.get_layer(f"transformer_layer_{i}")
        tf1 = f"bert/encoder/layer_{i}/"
        attention = layer.self_attention
        _dense(reader, attention.query, tf1 + "attention/self/query")
        _dense(reader, attention.key, tf1 + "attention/self/key")
        _dense(reader, attention.value, tf1 + "attention/self/value")
        _dense(reader, attention.attention_output, tf1 + "attention/output/dense")
        _layer_norm(reader, layer.self_attention_layer_norm, tf1 + "attention/output/LayerNorm")
        _dense(reader, layer.intermediate_dense, tf1 + "intermediate/dense")
        _dense(reader, layer.output_dense, tf1 + "output/dense")
        _layer_norm(reader, layer.output_layer_norm, tf1 + "output/LayerNorm")
    _dense(reader, backbone.get_layer("pooled_dense"), "bert/pooler/dense")


def backbone_cls():
    from kerabert.backbones.bert_backbone import BertBackbone

    return BertBackbone


def tokenizer_cls():
    from kerabert.tokenizers.bert_tokenizer import BertTokenizer

    return BertTokenizer


# Heads of the reference's fine-tuning scripts: `run_squad.py` writes
# `cls/squad/output_{weights,bias}`, `run_classifier.py` `output_{weights,bias}`;
# both weights are (outputs, hidden), used with `matmul(x, w, transpose_b=True)`.
SQUAD_HEAD = "cls/squad/output_weights"
CLASSIFIER_HEAD = "output_weights"
# `run_pretraining.py`'s masked-LM head; its presence marks a pretraining checkpoint.
PRETRAINING_HEAD = "cls/predictions/output_bias"


def head_config(config, task_kind, folder=None):
    """The fine-tuned head the checkpoint holds for `task_kind`, if any."""
    if folder is None:
        return None
    from kerabert.presets.formats import tf_checkpoint

    shapes = tf_checkpoint.variable_names(folder)
    if task_kind == "question_answerer" and SQUAD_HEAD in shapes:
        return {}
    if task_kind == "classifier" and CLASSIFIER_HEAD in shapes:
        return {"num_classes": int(shapes[CLASSIFIER_HEAD][0])}
    if task_kind == "pretrainer" and PRETRAINING_HEAD in shapes:
        return {}
    return None


def _pretraining_heads(task, reader):
    """`cls/predictions/*` and `cls/seq_relationship/*` into a BertPretrainer."""
    head = task.get_layer("mlm_head")
    _dense(reader, head.dense, "cls/predictions/transform/dense")
    _layer_norm(reader, head.layer_norm, "cls/predictions/transform/LayerNorm")
    reader.assign(head.output_bias, PRETRAINING_HEAD)
    if "cls/seq_relationship/output_weights" in reader:
        nsp = task.get_layer("nsp_logits")
        # (2, H), used with matmul(x, w, transpose_b=True).
        reader.assign(nsp.kernel, "cls/seq_relationship/output_weights", lambda w: w.T)
        reader.assign(nsp.bias, "cls/seq_relationship/output_bias")


def convert_head_weights(task, reader):
    """Copies the reference pretraining or fine-tuning head into the matching
    kerabert task."""
    if task.task_kind == "pretrainer":
        _pretraining_heads(task, reader)
        return
    names = {"question_answerer": ("span_logits", "cls/squad/output"),
             "classifier": ("logits", "output")}
    if task.task_kind not in names:
        raise ValueError(f"No TF1 checkpoint head conversion for {task.task_kind!r}.")
    layer_name, scope = names[task.task_kind]
    layer = task.get_layer(layer_name)
    reader.assign(layer.kernel, scope + "_weights", lambda w: w.T)
    reader.assign(layer.bias, scope + "_bias")


def infer_lowercase(folder, config=None):
    """Whether the checkpoint in `folder` was trained on lower-cased text.

    In order: a `do_lower_case` entry in the config (some re-releases add one);
    the reference's lists of released model names (folder name); "uncased" in
    the folder name -> True, "cased" -> False; otherwise True (most BERTs are
    uncased, and the reference defaults `do_lower_case` to True).
    """
    if config and "do_lower_case" in config:
        return bool(config["do_lower_case"])
    name = os.path.basename(os.path.normpath(os.path.abspath(folder)))
    if name in LOWERCASE_MODELS:
        return True
    if name in CASED_MODELS:
        return False
    lowered = name.lower()
    if "uncased" in lowered:
        return True
    if "cased" in lowered:
        return False
    return True


def convert_tokenizer(tokenizer_cls, folder, **overrides):
    """A `BertTokenizer` with the reference `FullTokenizer`'s settings.

    `lowercase` comes from `infer_lowercase` unless given; accents are stripped
    when lower-casing (the reference ties the two); words of more than 200
    characters become [UNK] (the reference limit, which HF lowers to 100).
    """
    vocab = os.path.join(folder, "vocab.txt")
    if not os.path.isfile(vocab):
        raise FileNotFoundError(f"{folder} has no vocab.txt, which a BERT tokenizer needs.")
    from kerabert.presets.formats import tf_checkpoint

    try:
        config = tf_checkpoint.load_config(folder)
    except (FileNotFoundError, ValueError):
        config = None  # casing then comes from the folder name alone
    kwargs = {"lowercase": infer_lowercase(folder, config), "strip_accents": None,
              "tokenize_chinese_chars": True, "max_input_chars_per_word": 200}
    kwargs.update(overrides)
    return tokenizer_cls(vocabulary=vocab, **kwargs)
