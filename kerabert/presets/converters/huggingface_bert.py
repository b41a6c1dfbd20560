"""Hugging Face BERT (`model_type: bert`) <-> kerabert BERT.

HF stores Dense kernels as (out, in) torch weights; Keras as (in, out).
"""

import os
import warnings

import numpy as np

from kerabert.layers import activations
from kerabert.presets.formats import huggingface

# HF `hidden_act` spellings -> kerabert activation names.
HIDDEN_ACT = {
    "gelu": activations.GELU,
    "gelu_new": activations.GELU_APPROXIMATE,
    "gelu_pytorch_tanh": activations.GELU_APPROXIMATE,
    "gelu_fast": activations.GELU_APPROXIMATE,
    "relu": "relu",
    "tanh": "tanh",
    "silu": "silu",
    "swish": "silu",
}

# Tensors of heads that a backbone-only load may leave unused.
HEAD_PREFIXES = ("classifier.", "qa_outputs.", "cls.")
# Buffers, not weights.
BUFFER_SUFFIXES = ("position_ids",)


def convert_backbone_config(hf_config):
    """HF `BertConfig` dict -> `BertBackbone` keyword arguments."""
    if hf_config.get("model_type") != "bert":
        raise ValueError(
            f"Expected a BERT checkpoint (model_type 'bert'), got model_type "
            f"{hf_config.get('model_type')!r}.")
    if hf_config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(
            "Only absolute position embeddings are supported, got "
            f"{hf_config['position_embedding_type']!r}.")
    act = hf_config.get("hidden_act", "gelu")
    if act not in HIDDEN_ACT:
        raise ValueError(f"Unsupported hidden_act {act!r}; supported: {sorted(HIDDEN_ACT)}.")
    return {
        "vocabulary_size": hf_config["vocab_size"],
        "num_layers": hf_config["num_hidden_layers"],
        "num_heads": hf_config["num_attention_heads"],
        "hidden_dim": hf_config["hidden_size"],
        "intermediate_dim": hf_config["intermediate_size"],
        "dropout": hf_config.get("hidden_dropout_prob", 0.1),
        "attention_dropout": hf_config.get("attention_probs_dropout_prob", 0.1),
        "max_sequence_length": hf_config.get("max_position_embeddings", 512),
        "num_segments": hf_config.get("type_vocab_size", 2),
        "hidden_act": HIDDEN_ACT[act],
        "layer_norm_epsilon": hf_config.get("layer_norm_eps", 1e-12),
        "initializer_range": hf_config.get("initializer_range", 0.02),
    }


def weight_prefix(reader):
    """"bert." for task models (BertFor*), "" for a bare BertModel."""
    return "bert." if "bert.embeddings.word_embeddings.weight" in reader else ""


def _dense(reader, layer, name):
    reader.assign(layer.kernel, name + ".weight", np.transpose)
    reader.assign(layer.bias, name + ".bias")


def _layer_norm(reader, layer, name):
    # Old checkpoints name LayerNorm parameters gamma/beta.
    scale = name + ".weight" if name + ".weight" in reader else name + ".gamma"
    shift = name + ".bias" if name + ".bias" in reader else name + ".beta"
    reader.assign(layer.gamma, scale)
    reader.assign(layer.beta, shift)


def convert_backbone_weights(backbone, reader):
    """Copies every backbone tensor from `reader` into `backbone`."""
    p = weight_prefix(reader)
    reader.assign(backbone.get_layer("token_embedding").embeddings, p + "embeddings.word_embeddings.weight")
    reader.assign(backbone.get_layer("position_embedding").position_embeddings,
                  p + "embeddings.position_embeddings.weight")
    reader.assign(backbone.get_layer("segment_embedding").embeddings,
                  p + "embeddings.token_type_embeddings.weight")
    _layer_norm(reader, backbone.get_layer("embeddings_layer_norm"), p + "embeddings.LayerNorm")
    for i in range(backbone.num_layers):
        layer = backbone.get_layer(f"transformer_layer_{i}")
        hf = f"{p}encoder.layer.{i}."
        attention = layer.self_attention
        _dense(reader, attention.query, hf + "attention.self.query")
        _dense(reader, attention.key, hf + "attention.self.key")
        _dense(reader, attention.value, hf + "attention.self.value")
        _dense(reader, attention.attention_output, hf + "attention.output.dense")
        _layer_norm(reader, layer.self_attention_layer_norm, hf + "attention.output.LayerNorm")
        _dense(reader, layer.intermediate_dense, hf + "intermediate.dense")
        _dense(reader, layer.output_dense, hf + "output.dense")
        _layer_norm(reader, layer.output_layer_norm, hf + "output.LayerNorm")
    if p + "pooler.dense.weight" in reader:
        _dense(reader, backbone.get_layer("pooled_dense"), p + "pooler.dense")
    else:
        # Checkpoints saved without a pooler (BertForQuestionAnswering,
        # BertForMaskedLM) leave `pooled_output` at its initialisation, as
        # transformers does; only tasks that read the pooled output care.
        warnings.warn(f"{reader.source} has no pooler weights; the backbone's pooled_dense "
                      "layer keeps its random initialisation.", stacklevel=2)
    for name in reader.keys():
        if name.endswith(BUFFER_SUFFIXES):
            reader.used.add(name)


def backbone_cls():
    from kerabert.backbones.bert_backbone import BertBackbone

    return BertBackbone


def tokenizer_cls():
    from kerabert.tokenizers.bert_tokenizer import BertTokenizer

    return BertTokenizer


# HF architectures -> the kerabert task kind whose head they carry.
ARCHITECTURE_TASKS = {
    "BertForSequenceClassification": "classifier",
    "BertForQuestionAnswering": "question_answerer",
    "BertForPreTraining": "pretrainer",
    "BertForMaskedLM": "pretrainer",
}


def head_config(hf_config, task_kind, folder=None):
    """The head settings stored in the checkpoint, if it has a `task_kind` head."""
    kinds = {ARCHITECTURE_TASKS.get(a) for a in hf_config.get("architectures") or []}
    if task_kind not in kinds:
        return None
    if task_kind == "classifier":
        labels = hf_config.get("id2label")
        return {"num_classes": len(labels) if labels else hf_config.get("num_labels", 2)}
    return {}


def _pretraining_heads(task, reader):
    """`cls.predictions.*` (MLM) and, when present, `cls.seq_relationship.*` (NSP)."""
    head = task.get_layer("mlm_head")
    _dense(reader, head.dense, "cls.predictions.transform.dense")
    _layer_norm(reader, head.layer_norm, "cls.predictions.transform.LayerNorm")
    reader.assign(head.output_bias, "cls.predictions.bias")
    # The decoder is tied to the word embeddings (and its bias to
    # `cls.predictions.bias`); files that store the copies anyway must agree.
    decoder = "cls.predictions.decoder.weight"
    if decoder in reader:
        embeddings = np.asarray(head.token_embedding.embeddings.numpy())
        if not np.array_equal(np.asarray(reader.get(decoder)), embeddings):
            raise ValueError(
                f"{reader.source}: {decoder} differs from the word embeddings (an "
                "untied output layer); kerabert's masked-LM head ties them.")
    if "cls.predictions.decoder.bias" in reader:
        reader.used.add("cls.predictions.decoder.bias")
    # BertForMaskedLM has no next-sentence head; the task keeps a fresh one.
    if "cls.seq_relationship.weight" in reader:
        _dense(reader, task.get_layer("nsp_logits"), "cls.seq_relationship")


def convert_head_weights(task, reader):
    """Copies a task head (`classifier.*`, `qa_outputs.*`, `cls.*`) into the
    matching kerabert task."""
    if task.task_kind == "classifier":
        _dense(reader, task.get_layer("logits"), "classifier")
    elif task.task_kind == "question_answerer":
        _dense(reader, task.get_layer("span_logits"), "qa_outputs")
    elif task.task_kind == "pretrainer":
        _pretraining_heads(task, reader)
    else:
        raise ValueError(f"No Hugging Face head conversion for {task.task_kind!r} yet.")


def convert_tokenizer(tokenizer_cls, folder, **overrides):
    """Builds a `BertTokenizer` with exactly the HF tokenizer's flags."""
    vocab = os.path.join(folder, "vocab.txt")
    if not os.path.isfile(vocab):
        raise FileNotFoundError(f"{folder} has no vocab.txt, which a BERT tokenizer needs.")
    settings = huggingface.load_tokenizer_settings(folder)
    kwargs = {"lowercase": True, "strip_accents": None, "tokenize_chinese_chars": True,
              "max_input_chars_per_word": 100}
    config = settings.get("tokenizer_config", {})
    if "do_lower_case" in config:
        kwargs["lowercase"] = bool(config["do_lower_case"])
    for key in ("strip_accents", "tokenize_chinese_chars"):
        if key in config:
            kwargs[key] = config[key]
    for key, token_key in (("unknown_token", "unk_token"), ("cls_token", "cls_token"),
                           ("sep_token", "sep_token"), ("pad_token", "pad_token"),
                           ("mask_token", "mask_token")):
        if isinstance(config.get(token_key), str):
            kwargs[key] = config[token_key]
    fast = settings.get("tokenizer_json")
    if fast:
        normalizer = fast.get("normalizer") or {}
        if normalizer.get("type") == "BertNormalizer":
            kwargs["lowercase"] = bool(normalizer.get("lowercase", kwargs["lowercase"]))
            kwargs["strip_accents"] = normalizer.get("strip_accents")
            kwargs["tokenize_chinese_chars"] = bool(normalizer.get("handle_chinese_chars", True))
        model = fast.get("model") or {}
        if "max_input_chars_per_word" in model:
            kwargs["max_input_chars_per_word"] = model["max_input_chars_per_word"]
    kwargs.update(overrides)
    return tokenizer_cls(vocabulary=vocab, **kwargs)
