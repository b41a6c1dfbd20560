"""kerabert BERT -> a Hugging Face `transformers` folder (the reverse of
`converters/huggingface_bert.py`).

Writes `config.json`, `model.safetensors` (torch layout: Dense kernels stored as
(out, in)), `vocab.txt`, `tokenizer_config.json`, `tokenizer.json` and
`special_tokens_map.json`, so that `transformers.AutoModel*.from_pretrained` and
`AutoTokenizer.from_pretrained` load the folder and compute what kerabert does.
"""

import json
import os
import shutil
import tempfile
import warnings

import keras
import numpy as np

from kerabert.layers import activations
from kerabert.presets.formats import safetensors_io

# kerabert activation names -> HF `hidden_act` (see converters.huggingface_bert.HIDDEN_ACT).
HIDDEN_ACT = {
    activations.GELU: "gelu",
    activations.GELU_APPROXIMATE: "gelu_new",
    "relu": "relu",
    "tanh": "tanh",
    "silu": "silu",
}

# Weight files an export replaces; stale ones left beside it could be loaded instead.
STALE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                 "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack")


class _AtomicFolder:
    """Writes into a temporary sibling folder and swaps it in at the end (the
    `saver.PresetWriter` pattern): an error midway leaves the target untouched.
    Other files already in the target are kept; old weight files are dropped."""

    def __init__(self, folder):
        self.folder = os.path.abspath(os.fspath(folder))

    def __enter__(self):
        parent = os.path.dirname(self.folder)
        os.makedirs(parent, exist_ok=True)
        if os.path.exists(self.folder) and not os.path.isdir(self.folder):
            raise FileExistsError(f"{self.folder} exists and is not a folder.")
        self.tmp = tempfile.mkdtemp(prefix="." + os.path.basename(self.folder) + ".", dir=parent)
        if os.path.isdir(self.folder):
            shutil.copytree(self.folder, self.tmp, dirs_exist_ok=True)
            for name in os.listdir(self.tmp):
                if name in STALE_WEIGHTS or (name.startswith(("model-", "pytorch_model-"))
                                             and name.endswith((".safetensors", ".bin"))):
                    os.remove(os.path.join(self.tmp, name))
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        old = None
        if os.path.isdir(self.folder):
            old = self.tmp + ".old"
            os.rename(self.folder, old)
        os.rename(self.tmp, self.folder)
        if old:
            shutil.rmtree(old, ignore_errors=True)
        return False


def _value(variable):
    return np.asarray(keras.ops.convert_to_numpy(variable))


# --- weights ---------------------------------------------------------------

def backbone_tensors(backbone, prefix=""):
    """`{HF tensor name: array}` for every backbone variable."""
    tensors = {}

    def dense(layer, name):
        tensors[name + ".weight"] = np.ascontiguousarray(_value(layer.kernel).T)
        tensors[name + ".bias"] = _value(layer.bias)

    def layer_norm(layer, name):
        tensors[name + ".weight"] = _value(layer.gamma)
        tensors[name + ".bias"] = _value(layer.beta)

    p = prefix
    tensors[p + "embeddings.word_embeddings.weight"] = _value(
        backbone.get_layer("token_embedding").embeddings)
    tensors[p + "embeddings.position_embeddings.weight"] = _value(
        backbone.get_layer("position_embedding").position_embeddings)
    tensors[p + "embeddings.token_type_embeddings.weight"] = _value(
        backbone.get_layer("segment_embedding").embeddings)
    layer_norm(backbone.get_layer("embeddings_layer_norm"), p + "embeddings.LayerNorm")
    for i in range(backbone.num_layers):
        layer = backbone.get_layer(f"transformer_layer_{i}")
        hf = f"{p}encoder.layer.{i}."
        attention = layer.self_attention
        dense(attention.query, hf + "attention.self.query")
        dense(attention.key, hf + "attention.self.key")
        dense(attention.value, hf + "attention.self.value")
        dense(attention.attention_output, hf + "attention.output.dense")
        layer_norm(layer.self_attention_layer_norm, hf + "attention.output.LayerNorm")
        dense(layer.intermediate_dense, hf + "intermediate.dense")
        dense(layer.output_dense, hf + "output.dense")
        layer_norm(layer.output_layer_norm, hf + "output.LayerNorm")
    dense(backbone.get_layer("pooled_dense"), p + "pooler.dense")
    return tensors


def _head(task):
    """(architecture, head tensors, extra config) for a task's head."""
    kind = task.task_kind
    if kind == "classifier":
        layer = task.get_layer("logits")
        if getattr(task, "_activation_name", None) == "softmax":
            warnings.warn("This BertClassifier outputs softmax probabilities; the exported "
                          "BertForSequenceClassification outputs the logits before the softmax.")
        labels = {str(i): f"LABEL_{i}" for i in range(task.num_classes)}
        config = {"id2label": labels, "label2id": {v: int(k) for k, v in labels.items()},
                  "classifier_dropout": task.dropout}
        return "BertForSequenceClassification", _dense_tensors(layer, "classifier"), config
    if kind == "question_answerer":
        layer = task.get_layer("span_logits")
        return "BertForQuestionAnswering", _dense_tensors(layer, "qa_outputs"), {}
    if kind == "pretrainer":
        # The files leave out the decoder, which relies on the tie being kept.
        return "BertForPreTraining", _pretraining_tensors(task), {"tie_word_embeddings": True}
    raise NotImplementedError(
        f"Exporting a {type(task).__name__} (task kind {kind!r}) to transformers is not "
        "supported yet; export its backbone with task.backbone.export_to_transformers(...).")


def _dense_tensors(layer, name):
    return {name + ".weight": np.ascontiguousarray(_value(layer.kernel).T),
            name + ".bias": _value(layer.bias)}


def _layer_norm_tensors(layer, name):
    return {name + ".weight": _value(layer.gamma), name + ".bias": _value(layer.beta)}


def _pretraining_tensors(task):
    """`cls.*` of `BertForPreTraining` (the reverse of the converter's
    `_pretraining_heads`)."""
    head = task.get_layer("mlm_head")
    if head.token_embedding is not task.backbone.token_embedding:
        raise ValueError("The masked-LM head's output weights are not the backbone's word "
                         "embeddings; BertForPreTraining ties the two.")
    # `cls.predictions.decoder.{weight,bias}` are left out, as transformers'
    # own save_pretrained does: on loading they are tied to the word embeddings
    # and to `cls.predictions.bias` (and safetensors refuses shared storage).
    return {
        **_dense_tensors(head.dense, "cls.predictions.transform.dense"),
        **_layer_norm_tensors(head.layer_norm, "cls.predictions.transform.LayerNorm"),
        "cls.predictions.bias": _value(head.output_bias),
        **_dense_tensors(task.get_layer("nsp_logits"), "cls.seq_relationship"),
    }


# --- config ------------------------------------------------------------------

def backbone_config(backbone, tokenizer=None):
    """The HF `BertConfig` dict of a `BertBackbone`."""
    if backbone.hidden_act not in HIDDEN_ACT:
        raise ValueError(f"hidden_act {backbone.hidden_act!r} has no transformers equivalent; "
                         f"exportable: {sorted(HIDDEN_ACT)}.")
    dtype = backbone.get_layer("token_embedding").embeddings.dtype
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": backbone.vocabulary_size,
        "hidden_size": backbone.hidden_dim,
        "num_hidden_layers": backbone.num_layers,
        "num_attention_heads": backbone.num_heads,
        "intermediate_size": backbone.intermediate_dim,
        "hidden_act": HIDDEN_ACT[backbone.hidden_act],
        "hidden_dropout_prob": backbone.dropout,
        "attention_probs_dropout_prob": backbone.attention_dropout,
        "max_position_embeddings": backbone.max_sequence_length,
        "type_vocab_size": backbone.num_segments,
        "initializer_range": backbone.initializer_range,
        "layer_norm_eps": backbone.layer_norm_epsilon,
        "pad_token_id": tokenizer.pad_token_id if tokenizer is not None else 0,
        "position_embedding_type": "absolute",
        "classifier_dropout": None,
        "use_cache": True,
        "dtype": keras.backend.standardize_dtype(dtype),
    }


# --- tokenizer ---------------------------------------------------------------

def _special_tokens(tokenizer):
    tokens = {"unk_token": tokenizer.unknown_token, "sep_token": tokenizer.sep_token,
              "pad_token": tokenizer.pad_token, "cls_token": tokenizer.cls_token}
    if tokenizer.mask_token_id is not None:
        tokens["mask_token"] = tokenizer.mask_token
    return tokens


def _fast_tokenizer_json(tokenizer, vocabulary):
    """`tokenizer.json` of the equivalent `BertTokenizerFast` (as transformers writes it)."""
    special = [tokenizer.pad_token_id, tokenizer.unknown_token_id, tokenizer.cls_token_id,
               tokenizer.sep_token_id]
    if tokenizer.mask_token_id is not None:
        special.append(tokenizer.mask_token_id)
    cls, sep = tokenizer.cls_token, tokenizer.sep_token

    def piece(kind, name, type_id):
        return {kind: {"id": name, "type_id": type_id}}

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": vocabulary[i], "single_word": False, "lstrip": False,
             "rstrip": False, "normalized": False, "special": True}
            for i in sorted(special)
        ],
        "normalizer": {
            "type": "BertNormalizer", "clean_text": True,
            "handle_chinese_chars": tokenizer.tokenize_chinese_chars,
            "strip_accents": tokenizer.strip_accents, "lowercase": tokenizer.lowercase,
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [piece("SpecialToken", cls, 0), piece("Sequence", "A", 0),
                       piece("SpecialToken", sep, 0)],
            "pair": [piece("SpecialToken", cls, 0), piece("Sequence", "A", 0),
                     piece("SpecialToken", sep, 0), piece("Sequence", "B", 1),
                     piece("SpecialToken", sep, 1)],
            "special_tokens": {
                cls: {"id": cls, "ids": [tokenizer.cls_token_id], "tokens": [cls]},
                sep: {"id": sep, "ids": [tokenizer.sep_token_id], "tokens": [sep]},
            },
        },
        "decoder": {"type": "WordPiece", "prefix": tokenizer.suffix_indicator, "cleanup": True},
        "model": {
            "type": "WordPiece",
            "unk_token": tokenizer.unknown_token,
            "continuing_subword_prefix": tokenizer.suffix_indicator,
            "max_input_chars_per_word": tokenizer.max_input_chars_per_word,
            "vocab": {token: i for i, token in enumerate(vocabulary)},
        },
    }


def write_tokenizer(tokenizer, folder, model_max_length):
    vocabulary = tokenizer.get_vocabulary()
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(token + "\n" for token in vocabulary))
    special = _special_tokens(tokenizer)
    config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": tokenizer.lowercase,
        "strip_accents": tokenizer.strip_accents,
        "tokenize_chinese_chars": tokenizer.tokenize_chinese_chars,
        "do_basic_tokenize": True,
        "never_split": None,
        "model_max_length": model_max_length,
        "clean_up_tokenization_spaces": True,
        **special,
    }
    _write_json(folder, "tokenizer_config.json", config)
    _write_json(folder, "special_tokens_map.json", special)
    _write_json(folder, "tokenizer.json", _fast_tokenizer_json(tokenizer, vocabulary))


def _write_json(folder, name, data):
    with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")


# --- entry points --------------------------------------------------------------

def _check_tokenizer(tokenizer, backbone, who):
    if tokenizer is None:
        raise ValueError(
            f"{who} needs a tokenizer to write vocab.txt and the tokenizer files: pass "
            "tokenizer=kerabert.BertTokenizer(...) (or BertTokenizer.from_preset(...)).")
    size = tokenizer.vocabulary_size()
    if size > backbone.vocabulary_size:
        raise ValueError(f"The tokenizer has {size} tokens but the backbone's embedding only "
                         f"{backbone.vocabulary_size}; they do not belong together.")


def write_export(folder, config, tensors, write_tokenizer_files):
    """Writes `config.json`, `model.safetensors` and, by calling
    `write_tokenizer_files(tmp)`, the tokenizer files: all or nothing.
    Returns the folder's absolute path."""
    with _AtomicFolder(folder) as tmp:
        _write_json(tmp, "config.json", dict(sorted(config.items())))
        safetensors_io.save_file(tensors, os.path.join(tmp, "model.safetensors"),
                                 metadata={"format": "pt"})
        write_tokenizer_files(tmp)
    return os.path.abspath(os.fspath(folder))


def _export(folder, backbone, tokenizer, architecture, tensors, extra_config):
    config = {**backbone_config(backbone, tokenizer), **extra_config,
              "architectures": [architecture]}
    return write_export(folder, config, tensors, lambda tmp: write_tokenizer(
        tokenizer, tmp, backbone.max_sequence_length))


def export_backbone(backbone, tokenizer, folder):
    """Writes `backbone` (+ `tokenizer`) as a `transformers` `BertModel` folder."""
    _check_tokenizer(tokenizer, backbone, "export_to_transformers")
    return _export(folder, backbone, tokenizer, "BertModel", backbone_tensors(backbone), {})


def export_task(task, folder, tokenizer=None):
    """Writes a BERT task as `BertForSequenceClassification` /
    `BertForQuestionAnswering` / `BertForPreTraining`."""
    if tokenizer is None and task.preprocessor is not None:
        tokenizer = task.preprocessor.tokenizer
    _check_tokenizer(tokenizer, task.backbone, "export_to_transformers")
    architecture, head, extra = _head(task)
    tensors = {**backbone_tensors(task.backbone, prefix="bert."), **head}
    return _export(folder, task.backbone, tokenizer, architecture, tensors, extra)
