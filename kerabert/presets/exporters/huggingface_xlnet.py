"""kerabert XLNet -> a Hugging Face `transformers` folder (the reverse of
`converters/huggingface_xlnet.py`).

Writes `config.json`, `model.safetensors` (torch layout: Dense kernels stored as
(out, in); the attention kernels keep the reference's (H, N, D)), `spiece.model`,
`tokenizer_config.json` and `special_tokens_map.json` (what
`XLNetTokenizer.save_pretrained` writes, with the kerabert tokenizer's flags), so
that `transformers.AutoModel*.from_pretrained` and `AutoTokenizer.from_pretrained`
load the folder and compute what kerabert does.

HF's XLNet always holds one set of relative biases per layer, so a shared-bias
(`untie_r=False`) backbone is written with a copy in every layer (what HF's own
TF loader does), under `untie_r: true`.

A pretrainer is written as `XLNetLMHeadModel`; its memory settings (`mem_len`,
`reuse_len`, `bi_data`) are the backbone's config fields, and its per-replica
memory state is not written.

A question answerer is written as `XLNetForQuestionAnswering` (the reference's
beam-search head). Load it with that class: `AutoModelForQuestionAnswering` maps
xlnet to `XLNetForQuestionAnsweringSimple`, which has a different head and would
start from random weights.
"""

import os
import warnings

import keras
import numpy as np

from kerabert.presets.exporters.huggingface_bert import HIDDEN_ACT
from kerabert.presets.exporters.huggingface_bert import _value
from kerabert.presets.exporters.huggingface_bert import _write_json
from kerabert.presets.exporters.huggingface_bert import write_export

PROTO_FILE = "spiece.model"


# --- weights ---------------------------------------------------------------

def _dense(tensors, layer, name, bias=True):
    tensors[name + ".weight"] = np.ascontiguousarray(_value(layer.kernel).T)
    if bias:
        tensors[name + ".bias"] = _value(layer.bias)


def _layer_norm(tensors, layer, name):
    tensors[name + ".weight"] = _value(layer.gamma)
    tensors[name + ".bias"] = _value(layer.beta)


def backbone_tensors(backbone, prefix=""):
    """`{HF tensor name: array}` for every backbone variable."""
    p = prefix
    tensors = {
        p + "word_embedding.weight": _value(backbone.get_layer("token_embedding").embeddings),
        p + "mask_emb": _value(backbone.mask_embedding.embeddings).reshape(1, 1, -1),
    }
    bias = backbone.get_layer("relative_bias")
    for i in range(backbone.num_layers):
        layer = backbone.get_layer(f"transformer_layer_{i}")
        hf = f"{p}layer.{i}."
        attention = layer.rel_attn
        for name in ("q", "k", "v", "o", "r", "seg_embed"):
            tensors[f"{hf}rel_attn.{name}"] = _value(getattr(attention, name))
        for name in ("r_w_bias", "r_r_bias", "r_s_bias"):
            value = _value(getattr(bias, name))
            # Each layer gets its own array: safetensors refuses shared storage.
            tensors[f"{hf}rel_attn.{name}"] = np.array(value[i] if backbone.untie_r else value)
        _layer_norm(tensors, attention.layer_norm, hf + "rel_attn.layer_norm")
        _dense(tensors, layer.ff_layer_1, hf + "ff.layer_1")
        _dense(tensors, layer.ff_layer_2, hf + "ff.layer_2")
        _layer_norm(tensors, layer.ff_layer_norm, hf + "ff.layer_norm")
    return tensors


def _head(task):
    """(architecture, head tensors, extra config) for a task's head."""
    kind = task.task_kind
    tensors = {}
    if kind == "classifier":
        if getattr(task, "_activation_name", None) == "softmax":
            warnings.warn("This XLNetClassifier outputs softmax probabilities; the exported "
                          "XLNetForSequenceClassification outputs the logits before the "
                          "softmax.")
        _dense(tensors, task.get_layer("sequence_summary"), "sequence_summary.summary")
        _dense(tensors, task.get_layer("logits"), "logits_proj")
        labels = {str(i): f"LABEL_{i}" for i in range(task.num_classes)}
        config = {"id2label": labels, "label2id": {v: int(k) for k, v in labels.items()},
                  "summary_type": getattr(task, "summary_type", "last"),
                  "summary_last_dropout": getattr(task, "dropout", 0.1)}
        return "XLNetForSequenceClassification", tensors, config
    if kind == "question_answerer":
        head = task.get_layer("span_head")
        _dense(tensors, head.start_logits, "start_logits.dense")
        _dense(tensors, head.end_logits_dense_0, "end_logits.dense_0")
        _layer_norm(tensors, head.end_logits_layer_norm, "end_logits.LayerNorm")
        _dense(tensors, head.end_logits_dense_1, "end_logits.dense_1")
        _dense(tensors, head.answer_class_dense_0, "answer_class.dense_0")
        _dense(tensors, head.answer_class_dense_1, "answer_class.dense_1",
               bias=False)
        config = {"start_n_top": task.start_n_top, "end_n_top": task.end_n_top}
        return "XLNetForQuestionAnswering", tensors, config
    if kind == "pretrainer":
        # `lm_loss.weight` is left out, as transformers' save_pretrained does:
        # loading ties it to the word embeddings, which needs the tie kept on.
        tensors["lm_loss.bias"] = _value(task.lm_bias)
        return "XLNetLMHeadModel", tensors, {"tie_word_embeddings": True}
    raise NotImplementedError(
        f"Exporting a {type(task).__name__} (task kind {kind!r}) to transformers is not "
        "supported yet; export its backbone with task.backbone.export_to_transformers(...).")


# --- config ------------------------------------------------------------------

def backbone_config(backbone, tokenizer=None):
    """The HF `XLNetConfig` dict of an `XLNetBackbone`."""
    if backbone.activation not in HIDDEN_ACT:
        raise ValueError(f"activation {backbone.activation!r} has no transformers "
                         f"equivalent; exportable: {sorted(HIDDEN_ACT)}.")
    if backbone.hidden_dim % backbone.num_heads or (
            backbone.head_dim != backbone.hidden_dim // backbone.num_heads):
        # XLNetConfig derives d_head = d_model // n_head and rejects any other.
        raise ValueError(
            f"transformers' XLNet needs head_dim == hidden_dim // num_heads; this backbone "
            f"has head_dim={backbone.head_dim}, hidden_dim={backbone.hidden_dim}, "
            f"num_heads={backbone.num_heads}.")
    if backbone.attention_dropout != backbone.dropout:
        warnings.warn(
            f"transformers' XLNet has one dropout rate; exporting dropout={backbone.dropout} "
            f"(this backbone's attention_dropout={backbone.attention_dropout} is dropped).")
    dtype = backbone.get_layer("token_embedding").embeddings.dtype

    def token_id(name, default):
        value = getattr(tokenizer, name, None) if tokenizer is not None else None
        return default if value is None else value

    return {
        "architectures": ["XLNetModel"],
        "model_type": "xlnet",
        "vocab_size": backbone.vocabulary_size,
        "d_model": backbone.hidden_dim,
        "n_layer": backbone.num_layers,
        "n_head": backbone.num_heads,
        "d_head": backbone.head_dim,
        "d_inner": backbone.intermediate_dim,
        "ff_activation": HIDDEN_ACT[backbone.activation],
        "untie_r": True,
        "attn_type": backbone.attn_type,
        "initializer_range": backbone.initializer_range,
        "layer_norm_eps": backbone.layer_norm_epsilon,
        "dropout": backbone.dropout,
        "mem_len": backbone.mem_len,
        "reuse_len": backbone.reuse_len,
        "bi_data": backbone.bi_data,
        "clamp_len": backbone.clamp_len,
        "same_length": backbone.same_length,
        "summary_type": "last",
        "summary_use_proj": True,
        "summary_activation": "tanh",
        "summary_last_dropout": 0.1,
        "start_n_top": 5,
        "end_n_top": 5,
        "use_mems_eval": True,
        "use_mems_train": False,
        "pad_token_id": token_id("pad_token_id", 5),
        "bos_token_id": token_id("bos_token_id", 1),
        "eos_token_id": token_id("eos_token_id", 2),
        "dtype": keras.backend.standardize_dtype(dtype),
    }


# --- tokenizer ---------------------------------------------------------------

# transformers' XLNetTokenizer argument -> kerabert attribute holding the id.
_SPECIAL_TOKENS = {"unk_token": "unknown_token_id", "bos_token": "bos_token_id",
                   "eos_token": "eos_token_id", "sep_token": "sep_token_id",
                   "pad_token": "pad_token_id", "cls_token": "cls_token_id",
                   "mask_token": "mask_token_id"}


def write_tokenizer(tokenizer, folder):
    """spiece.model + the config files of a transformers `XLNetTokenizer`."""
    with open(os.path.join(folder, PROTO_FILE), "wb") as f:
        f.write(tokenizer._proto)
    special = {}
    for name, attribute in _SPECIAL_TOKENS.items():
        token_id = getattr(tokenizer, attribute, None)
        if token_id is not None:
            special[name] = tokenizer.id_to_token(token_id)
    # XLNetTokenizer's default extra specials; ones the model lacks would be
    # appended to the vocabulary, past the embedding table.
    vocabulary = set(tokenizer.get_vocabulary())
    special["additional_special_tokens"] = [t for t in ("<eop>", "<eod>") if t in vocabulary]
    config = {
        "tokenizer_class": "XLNetTokenizer",
        "do_lower_case": tokenizer.lowercase,
        "remove_space": tokenizer.remove_space,
        "keep_accents": tokenizer.keep_accents,
        "padding_side": "left",
        "clean_up_tokenization_spaces": False,
        **special,
    }
    _write_json(folder, "tokenizer_config.json", config)
    _write_json(folder, "special_tokens_map.json", special)


# --- entry points --------------------------------------------------------------

def _check_tokenizer(tokenizer, backbone, who):
    from kerabert.tokenizers.xlnet_tokenizer import XLNetTokenizer

    if tokenizer is None:
        raise ValueError(
            f"{who} needs a tokenizer to write spiece.model and the tokenizer files: pass "
            "tokenizer=kerabert.XLNetTokenizer(...) (or XLNetTokenizer.from_preset(...)).")
    if not isinstance(tokenizer, XLNetTokenizer):
        raise ValueError(f"{who} of an XLNet model needs an XLNetTokenizer, got a "
                         f"{type(tokenizer).__name__}.")
    tokenizer._check_vocabulary()
    size = tokenizer.vocabulary_size()
    if size > backbone.vocabulary_size:
        raise ValueError(f"The tokenizer has {size} tokens but the backbone's embedding only "
                         f"{backbone.vocabulary_size}; they do not belong together.")


def _export(folder, backbone, tokenizer, architecture, tensors, extra_config):
    config = {**backbone_config(backbone, tokenizer), **extra_config,
              "architectures": [architecture]}
    return write_export(folder, config, tensors, lambda tmp: write_tokenizer(tokenizer, tmp))


def export_backbone(backbone, tokenizer, folder):
    """Writes `backbone` (+ `tokenizer`) as a `transformers` `XLNetModel` folder."""
    _check_tokenizer(tokenizer, backbone, "export_to_transformers")
    return _export(folder, backbone, tokenizer, "XLNetModel", backbone_tensors(backbone), {})


def export_task(task, folder, tokenizer=None):
    """Writes an XLNet task as `XLNetForSequenceClassification` /
    `XLNetForQuestionAnswering` / `XLNetLMHeadModel`. An `XLNetPretrainer` has
    no preprocessor, so it needs `tokenizer`."""
    if tokenizer is None and task.preprocessor is not None:
        tokenizer = task.preprocessor.tokenizer
    _check_tokenizer(tokenizer, task.backbone, "export_to_transformers")
    architecture, head, extra = _head(task)
    tensors = {**backbone_tensors(task.backbone, prefix="transformer."), **head}
    return _export(folder, task.backbone, tokenizer, architecture, tensors, extra)
