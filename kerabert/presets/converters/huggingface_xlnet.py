"""Hugging Face XLNet (`model_type: xlnet`) <-> kerabert XLNet.

HF keeps the reference's (H, N, D) attention kernels, so only Dense layers
(torch (out, in)) are transposed. HF's `XLNetRelativeAttention` always holds
its own `r_*_bias` per layer, whatever `untie_r` says (its TF loader copies a
shared bias into every layer), so a HF folder converts to `untie_r=True`:
the exact function the HF model computes.
"""

import os

import numpy as np

from kerabert.presets.converters.huggingface_bert import HIDDEN_ACT

# Tensors of heads that a backbone-only load may leave unused.
HEAD_PREFIXES = ("sequence_summary.", "logits_proj.", "start_logits.", "end_logits.",
                 "answer_class.", "lm_loss.", "qa_outputs.")

# HF architectures -> the kerabert task kind whose head they carry.
ARCHITECTURE_TASKS = {
    "XLNetForSequenceClassification": "classifier",
    "XLNetForQuestionAnswering": "question_answerer",
    "XLNetLMHeadModel": "pretrainer",
}


def convert_backbone_config(hf_config):
    """HF `XLNetConfig` dict -> `XLNetBackbone` keyword arguments."""
    if hf_config.get("model_type") != "xlnet":
        raise ValueError(
            f"Expected an XLNet checkpoint (model_type 'xlnet'), got model_type "
            f"{hf_config.get('model_type')!r}.")
    act = hf_config.get("ff_activation", "gelu")
    if act not in HIDDEN_ACT:
        raise ValueError(f"Unsupported ff_activation {act!r}; supported: {sorted(HIDDEN_ACT)}.")
    d_model, n_head = hf_config["d_model"], hf_config["n_head"]
    dropout = hf_config.get("dropout", 0.1)
    return {
        "vocabulary_size": hf_config["vocab_size"],
        "num_layers": hf_config["n_layer"],
        "num_heads": n_head,
        "hidden_dim": d_model,
        "intermediate_dim": hf_config["d_inner"],
        "head_dim": hf_config.get("d_head", d_model // n_head),
        # HF uses one rate for hidden states and attention probabilities.
        "dropout": dropout,
        "attention_dropout": dropout,
        "activation": HIDDEN_ACT[act],
        "layer_norm_epsilon": hf_config.get("layer_norm_eps", 1e-12),
        "initializer_range": hf_config.get("initializer_range", 0.02),
        "untie_r": True,
        "bi_data": bool(hf_config.get("bi_data", False)),
        "clamp_len": hf_config.get("clamp_len", -1),
        "attn_type": hf_config.get("attn_type", "bi"),
        "same_length": bool(hf_config.get("same_length", False)),
        "mem_len": hf_config.get("mem_len"),
        "reuse_len": hf_config.get("reuse_len"),
    }


def weight_prefix(reader):
    """"transformer." for task models (XLNetFor*, XLNetLMHeadModel), "" for XLNetModel."""
    return "transformer." if "transformer.word_embedding.weight" in reader else ""


def _dense(reader, layer, name, bias=True):
    reader.assign(layer.kernel, name + ".weight", np.transpose)
    if bias:
        reader.assign(layer.bias, name + ".bias")


def _layer_norm(reader, layer, name):
    reader.assign(layer.gamma, name + ".weight")
    reader.assign(layer.beta, name + ".bias")


def convert_backbone_weights(backbone, reader):
    """Copies every backbone tensor from `reader` into `backbone`."""
    if not backbone.untie_r:
        raise ValueError(
            "Hugging Face XLNet checkpoints hold one set of relative biases per "
            "layer; build the XLNetBackbone with untie_r=True to load them.")
    p = weight_prefix(reader)
    reader.assign(backbone.get_layer("token_embedding").embeddings, p + "word_embedding.weight")
    reader.assign(backbone.mask_embedding.embeddings, p + "mask_emb",
                  lambda x: x.reshape(1, -1))
    bias = backbone.get_layer("relative_bias")
    for name in ("r_w_bias", "r_r_bias", "r_s_bias"):
        stacked = np.stack([reader.get(f"{p}layer.{i}.rel_attn.{name}")
                            for i in range(backbone.num_layers)])
        getattr(bias, name).assign(stacked)
    for i in range(backbone.num_layers):
        layer = backbone.get_layer(f"transformer_layer_{i}")
        hf = f"{p}layer.{i}."
        attention = layer.rel_attn
        for name in ("q", "k", "v", "o", "r", "seg_embed"):
            reader.assign(getattr(attention, name), f"{hf}rel_attn.{name}")
        _layer_norm(reader, attention.layer_norm, hf + "rel_attn.layer_norm")
        _dense(reader, layer.ff_layer_1, hf + "ff.layer_1")
        _dense(reader, layer.ff_layer_2, hf + "ff.layer_2")
        _layer_norm(reader, layer.ff_layer_norm, hf + "ff.layer_norm")


def backbone_cls():
    from kerabert.backbones.xlnet_backbone import XLNetBackbone

    return XLNetBackbone


def tokenizer_cls():
    from kerabert.tokenizers.xlnet_tokenizer import XLNetTokenizer

    return XLNetTokenizer


def head_config(hf_config, task_kind, folder=None):
    """The head settings stored in the checkpoint, if it has a `task_kind` head."""
    kinds = {ARCHITECTURE_TASKS.get(a) for a in hf_config.get("architectures") or []}
    if task_kind == "question_answerer" and "XLNetForQuestionAnsweringSimple" in (
            hf_config.get("architectures") or []):
        raise ValueError(
            f"{folder} holds an XLNetForQuestionAnsweringSimple head (one linear layer "
            "for start and end); kerabert's XLNetQuestionAnswerer is the reference's "
            "beam-search head (XLNetForQuestionAnswering). Load the backbone with "
            "XLNetQuestionAnswerer.from_preset(..., ignore_unused_weights=True) to "
            "fine-tune a new head.")
    if task_kind not in kinds:
        return None
    if task_kind == "classifier":
        if hf_config.get("summary_type", "last") not in ("last", "first"):
            raise ValueError(
                f"{folder}: summary_type {hf_config['summary_type']!r} is not supported; "
                "kerabert's XLNetClassifier summarises the 'last' (reference) or 'first' token.")
        labels = hf_config.get("id2label")
        return {
            "num_classes": len(labels) if labels else hf_config.get("num_labels", 2),
            "summary_type": hf_config.get("summary_type", "last"),
            "dropout": hf_config.get("summary_last_dropout", 0.1),
        }
    if task_kind == "question_answerer":
        return {"start_n_top": hf_config.get("start_n_top", 5),
                "end_n_top": hf_config.get("end_n_top", 5)}
    return {}


def convert_head_weights(task, reader):
    """Copies a task head into the matching kerabert task."""
    if task.task_kind == "classifier":
        _dense(reader, task.get_layer("sequence_summary"), "sequence_summary.summary")
        _dense(reader, task.get_layer("logits"), "logits_proj")
    elif task.task_kind == "question_answerer":
        head = task.get_layer("span_head")
        _dense(reader, head.start_logits, "start_logits.dense")
        _dense(reader, head.end_logits_dense_0, "end_logits.dense_0")
        _layer_norm(reader, head.end_logits_layer_norm, "end_logits.LayerNorm")
        _dense(reader, head.end_logits_dense_1, "end_logits.dense_1")
        _dense(reader, head.answer_class_dense_0, "answer_class.dense_0")
        _dense(reader, head.answer_class_dense_1, "answer_class.dense_1", bias=False)
    elif task.task_kind == "pretrainer":
        reader.assign(task.lm_bias, "lm_loss.bias")
        if "lm_loss.weight" in reader:  # tied to the word embeddings
            reader.used.add("lm_loss.weight")
    else:
        raise ValueError(f"No Hugging Face XLNet head conversion for {task.task_kind!r} yet.")


def convert_tokenizer(tokenizer_cls, folder, **overrides):
    """Builds an `XLNetTokenizer` with the HF tokenizer's flags from `spiece.model`."""
    from kerabert.presets.formats import huggingface

    proto = os.path.join(folder, "spiece.model")
    if not os.path.isfile(proto):
        raise FileNotFoundError(
            f"{folder} has no spiece.model, which an XLNet tokenizer needs (a folder "
            "with only tokenizer.json cannot be converted).")
    config = huggingface.load_tokenizer_settings(folder).get("tokenizer_config", {})
    kwargs = {
        "lowercase": bool(config.get("do_lower_case", False)),
        "remove_space": bool(config.get("remove_space", True)),
        "keep_accents": bool(config.get("keep_accents", False)),
    }
    kwargs.update(overrides)
    return tokenizer_cls(proto=proto, **kwargs)
