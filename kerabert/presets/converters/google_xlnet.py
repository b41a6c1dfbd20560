"""Original TF1 XLNet checkpoints (zihangdai/xlnet) <-> kerabert XLNet.

A released folder (e.g. `xlnet_cased_L-24_H-1024_A-16/`) holds `xlnet_config.json`
(`n_layer, d_model, n_head, d_head, d_inner, ff_activation, untie_r, n_token`),
`spiece.model` and the name-based checkpoint `xlnet_model.ckpt.{index,data-*}`:

    model/transformer/word_embedding/lookup_table           (n_token, d_model)
    model/transformer/{r_w_bias, r_r_bias, r_s_bias}        (n_layer, N, D) with untie_r,
                                                            (N, D) without
    model/transformer/seg_embed                             (n_layer, 2, N, D)
    model/transformer/mask_emb/mask_emb                     (1, 1, d_model)
    model/transformer/layer_N/rel_attn/{q, k, v, r, o}/kernel   (d_model, N, D)
    model/transformer/layer_N/rel_attn/LayerNorm/{gamma, beta}
    model/transformer/layer_N/ff/layer_{1, 2}/{kernel, bias}
    model/transformer/layer_N/ff/LayerNorm/{gamma, beta}
    model/lm_loss/bias                                      pretraining (weight tied)

and, in checkpoints written by the reference's fine-tuning scripts
(`function_builder.py` / `modeling.py`):

    model/sequnece_summary/summary/{kernel, bias}           (sic: `summarize_sequence`'s
                                                            default scope is misspelled)
    model/classification_<task>/logit/{kernel, bias}        run_classifier.py
    model/regression_<task>/logit/{kernel, bias}            run_classifier.py, is_regression
    start_logits/dense/{kernel, bias}                       run_squad.py (outside `model/`)
    end_logits/{dense_0, LayerNorm, dense_1}/...
    answer_class/dense_0/{kernel, bias}, answer_class/dense_1/kernel

Conventions:
- Every kernel is already in kerabert's layout: `tf.layers.dense` kernels are
  (in, out) and the attention kernels are the reference's (d_model, N, D).
- `ff_activation: "gelu"` is the reference's tanh approximation (`modeling.gelu`),
  i.e. kerabert "gelu_approximate" (HF calls it "gelu_new").
- `untie_r` is kept: a shared-bias checkpoint loads into a backbone with shared
  biases, which is the function the checkpoint was trained as. An `untie_r=True`
  backbone (`from_preset(..., untie_r=True)`) takes a copy of the shared bias in
  every layer, as HF's TF loader does.
- Dropout, `clamp_len` etc. are run flags, not in the config; the reference's
  fine-tuning defaults are used (dropout 0.1, no memory, `attn_type="bi"`).
- `mask_emb` only exists in pretraining graphs; fine-tuned checkpoints lack it,
  and the (unused) query-stream embedding then keeps its initial value.
- The tokenizer is cased unless `lowercase=True` is passed: every released XLNet
  is cased, and the reference's `--uncased` flag is stored nowhere.
"""

import os
import re

import numpy as np

from kerabert.presets.converters.google_bert import HIDDEN_ACT
from kerabert.presets.tensor_reader import CheckpointMismatchError

DESCRIPTION = "original TF1 XLNet checkpoint"

PREFIX = "model/transformer/"
ANCHOR = PREFIX + "word_embedding/lookup_table"

CONFIG_FILE = "xlnet_config.json"
CHECKPOINT_PREFIX = "xlnet_model.ckpt"
PROTO_FILE = "spiece.model"

# `XLNetConfig.keys` minus ff_activation and d_head, which have usable defaults.
REQUIRED_FIELDS = ("n_layer", "d_model", "n_head", "d_inner", "n_token")

SUMMARY = "model/sequnece_summary/summary"
SQUAD_START = "start_logits/dense"

# Tensors of heads that a backbone-only load may leave unused.
HEAD_PREFIXES = ("model/lm_loss/", "model/sequnece_summary/", "model/classification_",
                 "model/regression_", "start_logits/", "end_logits/", "answer_class/")

# `classification_loss` / `regression_loss` scopes: `<kind>_<task name>/logit`.
_LOGIT = re.compile(r"^model/((?:classification|regression)_[^/]+)/logit/kernel$")


def matches(names):
    """True when the checkpoint's variable names are the original XLNet names."""
    return ANCHOR in names


def describe(names):
    return DESCRIPTION


def is_config(config):
    """True for an `XLNetConfig` JSON (told apart from a BERT config by its keys)."""
    return "n_layer" in config and "d_model" in config


def convert_backbone_config(config):
    """Reference `XLNetConfig` dict (`xlnet_config.json`) -> `XLNetBackbone` kwargs."""
    missing = [f for f in REQUIRED_FIELDS if f not in config]
    if missing:
        raise ValueError(
            f"The XLNet config lacks {missing}; an xlnet_config.json names "
            f"{list(REQUIRED_FIELDS) + ['d_head', 'ff_activation', 'untie_r']}.")
    act = config.get("ff_activation", "relu")  # the reference `transformer_xl` default
    if act not in ("gelu", "relu"):
        raise ValueError(
            f"Unsupported ff_activation {act!r} in the XLNet config; the reference "
            "knows 'gelu' and 'relu'.")
    d_model, n_head = config["d_model"], config["n_head"]
    return {
        "vocabulary_size": config["n_token"],
        "num_layers": config["n_layer"],
        "num_heads": n_head,
        "hidden_dim": d_model,
        "intermediate_dim": config["d_inner"],
        "head_dim": config.get("d_head") or d_model // n_head,
        "dropout": 0.1,
        "attention_dropout": 0.1,
        "activation": HIDDEN_ACT[act],
        # tf.contrib.layers.layer_norm's fixed epsilon.
        "layer_norm_epsilon": 1e-12,
        "initializer_range": 0.02,
        "untie_r": bool(config.get("untie_r", False)),
    }


def _dense(reader, layer, name, bias=True):
    reader.assign(layer.kernel, name + "/kernel")
    if bias:
        reader.assign(layer.bias, name + "/bias")


def _layer_norm(reader, layer, name):
    reader.assign(layer.gamma, name + "/gamma")
    reader.assign(layer.beta, name + "/beta")


def _relative_biases(backbone, reader):
    bias = backbone.get_layer("relative_bias")
    layers, heads, size = backbone.num_layers, backbone.num_heads, backbone.head_dim
    for name in ("r_w_bias", "r_r_bias", "r_s_bias"):
        value = reader.get(PREFIX + name)
        shared = tuple(value.shape) == (heads, size)
        if not backbone.untie_r and not shared:
            raise CheckpointMismatchError(
                f"{PREFIX + name} in {reader.source} has shape {tuple(value.shape)}: one "
                f"bias per layer (untie_r=True), but the backbone shares one ({(heads, size)}, "
                "untie_r=False). Set \"untie_r\": true in xlnet_config.json, or pass "
                "untie_r=True to from_preset.")
        if backbone.untie_r and shared:
            value = np.broadcast_to(value, (layers, heads, size))
        reader.assign_value(getattr(bias, name), PREFIX + name, value)


def convert_backbone_weights(backbone, reader):
    """Copies every `model/transformer/*` tensor from `reader` into `backbone`."""
    reader.assign(backbone.get_layer("token_embedding").embeddings, ANCHOR)
    if PREFIX + "mask_emb/mask_emb" in reader:
        reader.assign(backbone.mask_embedding.embeddings, PREFIX + "mask_emb/mask_emb",
                      lambda x: x.reshape(1, -1))
    _relative_biases(backbone, reader)
    # One (n_layer, 2, N, D) variable in the reference, one (2, N, D) per layer here.
    seg_embed = reader.get(PREFIX + "seg_embed")
    if seg_embed.shape[:1] != (backbone.num_layers,):
        raise CheckpointMismatchError(
            f"{PREFIX}seg_embed in {reader.source} has shape {tuple(seg_embed.shape)}, "
            f"not one entry per layer ({backbone.num_layers}). Check that the config file "
            "belongs to these weights.")
    for i in range(backbone.num_layers):
        layer = backbone.get_layer(f"transformer_layer_{i}")
        tf1 = f"{PREFIX}layer_{i}/"
        attention = layer.rel_attn
        for name in ("q", "k", "v", "o", "r"):
            reader.assign(getattr(attention, name), f"{tf1}rel_attn/{name}/kernel")
        reader.assign_value(attention.seg_embed, f"{PREFIX}seg_embed[{i}]", seg_embed[i])
        _layer_norm(reader, attention.layer_norm, tf1 + "rel_attn/LayerNorm")
        _dense(reader, layer.ff_layer_1, tf1 + "ff/layer_1")
        _dense(reader, layer.ff_layer_2, tf1 + "ff/layer_2")
        _layer_norm(reader, layer.ff_layer_norm, tf1 + "ff/LayerNorm")


def backbone_cls():
    from kerabert.backbones.xlnet_backbone import XLNetBackbone

    return XLNetBackbone


def tokenizer_cls():
    from kerabert.tokenizers.xlnet_tokenizer import XLNetTokenizer

    return XLNetTokenizer


def _logit_scope(shapes, folder):
    """The one `classification_*` / `regression_*` scope of the checkpoint, or None."""
    scopes = sorted(m.group(1) for m in map(_LOGIT.match, shapes) if m)
    if len(scopes) > 1:
        raise ValueError(
            f"{folder} holds several classification heads ({scopes}); kerabert loads "
            "one. Load the backbone with ignore_unused_weights=True and build a new head.")
    return f"model/{scopes[0]}/logit" if scopes else None


def head_config(config, task_kind, folder=None):
    """The fine-tuned head the checkpoint holds for `task_kind`, if any.

    Run flags (`summary_type`, `start_n_top`, `end_n_top`) are not stored; the
    task defaults are the reference's flag defaults ("last", 5, 5).
    """
    if folder is None:
        return None
    from kerabert.presets.formats import tf_checkpoint

    shapes = tf_checkpoint.variable_names(folder)
    if task_kind == "classifier":
        scope = _logit_scope(shapes, folder)
        if scope is None:
            return None
        if SUMMARY + "/kernel" not in shapes:
            raise ValueError(
                f"{folder} holds a classification head without the sequence summary "
                f"projection ({SUMMARY}: trained with use_summ_proj=False), which "
                "kerabert's XLNetClassifier always has. Load with "
                "ignore_unused_weights=True to fine-tune a new head.")
        return {"num_classes": int(shapes[scope + "/kernel"][-1])}
    if task_kind == "question_answerer":
        return {} if SQUAD_START + "/kernel" in shapes else None
    if task_kind == "pretrainer":
        return {} if "model/lm_loss/bias" in shapes else None
    return None


def convert_head_weights(task, reader):
    """Copies a reference fine-tuning head into the matching kerabert task."""
    if task.task_kind == "classifier":
        _dense(reader, task.get_layer("sequence_summary"), SUMMARY)
        _dense(reader, task.get_layer("logits"), _logit_scope(reader.keys(), reader.source))
    elif task.task_kind == "question_answerer":
        head = task.get_layer("span_head")
        _dense(reader, head.start_logits, SQUAD_START)
        _dense(reader, head.end_logits_dense_0, "end_logits/dense_0")
        _layer_norm(reader, head.end_logits_layer_norm, "end_logits/LayerNorm")
        _dense(reader, head.end_logits_dense_1, "end_logits/dense_1")
        _dense(reader, head.answer_class_dense_0, "answer_class/dense_0")
        _dense(reader, head.answer_class_dense_1, "answer_class/dense_1",
               bias=False)
    elif task.task_kind == "pretrainer":
        # `lm_loss/weight` only exists untied; kerabert ties it to the embeddings,
        # so such a checkpoint is reported as not fully used.
        reader.assign(task.lm_bias, "model/lm_loss/bias")
    else:
        raise ValueError(f"No TF1 XLNet checkpoint head conversion for {task.task_kind!r}.")


def convert_tokenizer(tokenizer_cls, folder, **overrides):
    """An `XLNetTokenizer` over `spiece.model` with the reference's default flags
    (cased, collapse spaces, strip accents)."""
    proto = os.path.join(folder, PROTO_FILE)
    if not os.path.isfile(proto):
        raise FileNotFoundError(
            f"{folder} has no {PROTO_FILE}, the SentencePiece model an XLNet tokenizer "
            "needs. Put the spiece.model released with the checkpoint next to it.")
    kwargs = {"lowercase": False, "remove_space": True, "keep_accents": False}
    kwargs.update(overrides)
    return tokenizer_cls(proto=proto, **kwargs)
