"""XLNet in Hugging Face transformers folders: `XLNetModel` and the
`XLNetFor*` / `XLNetLMHeadModel` heads kerabert has tasks for, read and
written (the export).

transformers keeps the relative biases per layer, so a folder converts to
`untie_r=True`, the function those biases compute, and keeps one dropout rate
and the run settings (`bi_data`, `clamp_len`, `mem_len`, ...) in its config.
"""

import os
import warnings

from kerabert.checkpoints.xlnet import config as keys
from kerabert.checkpoints.xlnet import weights
from kerabert.layers import activations
from kerabert.presets import config_map
from kerabert.presets import files
from kerabert.presets import transformers_export
from kerabert.presets.errors import caller_stacklevel
from kerabert.presets.formats import family_format
from kerabert.presets.formats import HUGGINGFACE
from kerabert.tasks import classifier as classifier_labels

ARCHITECTURES = {
    "XLNetForSequenceClassification": "classifier",
    "XLNetForQuestionAnswering": "question_answerer",
    "XLNetLMHeadModel": "pretrainer",
}
EXPORT_ARCHITECTURES = {kind: name for name, kind in ARCHITECTURES.items()}
# The tokenizer an export takes: its class, the vocabulary file it writes, and
# how messages name the model.
EXPORT_TOKENIZER = ("kerabert.tokenizers.xlnet_tokenizer:XLNetTokenizer", keys.PROTO_FILE,
                    "an XLNet model")
# Backbone tensors inside a transformers task checkpoint start with this.
BASE_PREFIX = weights.HF_BASE_PREFIX


layout = family_format.layout_of_format


describe = family_format.folder_description


def backbone_config(checkpoint):
    """`XLNetBackbone` keyword arguments from `config.json`."""
    config = checkpoint.config
    kwargs = config_map.read(keys.HF_CONFIG, config, f"{checkpoint.folder}/config.json")
    # transformers' per-layer relative biases are what `untie_r` computes.
    kwargs.update(untie_r=True, bi_data=bool(kwargs["bi_data"]),
                  same_length=bool(kwargs["same_length"]))
    kwargs["head_dim"] = kwargs["head_dim"] or kwargs["hidden_dim"] // kwargs["num_heads"]
    kwargs["activation"] = activations.from_spelling(
        config.get("ff_activation", "gelu"), activations.HF_SPELLINGS, "ff_activation")
    return kwargs


def head_config(checkpoint, task_kind):
    """The settings of the `task_kind` head the folder's architecture has, or None."""
    config = checkpoint.config
    architectures = config.get("architectures") or []
    if task_kind == "question_answerer" and "XLNetForQuestionAnsweringSimple" in architectures:
        raise ValueError(
            f"{checkpoint.folder} holds an XLNetForQuestionAnsweringSimple head (one linear "
            "layer for start and end); kerabert's XLNetQuestionAnswerer is the reference's "
            "beam-search head (XLNetForQuestionAnswering). Load the backbone with "
            "XLNetQuestionAnswerer.from_preset(..., ignore_unused_weights=True) to fine-tune a "
            "new head.")
    if task_kind not in {ARCHITECTURES.get(a) for a in architectures}:
        return None
    if task_kind == "classifier":
        if config.get("summary_type", "last") not in ("last", "first"):
            raise ValueError(
                f"{checkpoint.folder}: summary_type {config['summary_type']!r} is not supported; "
                "kerabert's XLNetClassifier summarises the 'last' (reference) or 'first' token.")
        labels = config.get("id2label")
        return {"num_classes": len(labels) if labels else config.get("num_labels", 2),
                "label_names": classifier_labels.label_names_from_transformers(config),
                "summary_type": config.get("summary_type", "last"),
                "dropout": config.get("summary_last_dropout", 0.1)}
    if task_kind == "question_answerer":
        return {"start_n_top": config.get("start_n_top", 5),
                "end_n_top": config.get("end_n_top", 5)}
    return {}


preprocessor_config = family_format.no_preprocessor


def proto_path(checkpoint):
    proto = os.path.join(checkpoint.folder, keys.PROTO_FILE)
    if not os.path.isfile(proto):
        raise FileNotFoundError(
            f"{checkpoint.folder} has no {keys.PROTO_FILE}, the SentencePiece model an XLNet "
            "tokenizer needs (a folder with only tokenizer.json cannot be converted). Put the "
            "spiece.model released with the checkpoint next to it.")
    return proto


def tokenizer(checkpoint, tokenizer_cls, **overrides):
    """An `XLNetTokenizer` over `spiece.model` with the transformers
    tokenizer's flags."""
    proto = proto_path(checkpoint)
    config = checkpoint.tokenizer_settings().get("tokenizer_config", {})
    kwargs = {"lowercase": bool(config.get("do_lower_case", False)),
              "remove_space": bool(config.get("remove_space", True)),
              "keep_accents": bool(config.get("keep_accents", False))}
    kwargs.update(overrides)
    return tokenizer_cls(proto=proto, **kwargs)


def load_weights(checkpoint, reader, backbone, task=None):
    weights.check_per_layer_biases(checkpoint, backbone)
    prefix = BASE_PREFIX if BASE_PREFIX + "word_embedding.weight" in reader else ""
    weights.load(HUGGINGFACE, reader, backbone, task, prefix)


backbone_weights = weights.weights_of_backbone


head_weights = weights.weights_of_head


# --- the export ----------------------------------------------------------------------

export = transformers_export.exporter(__name__)



def transformers_config(backbone, tokenizer):
    """The transformers `XLNetConfig` dict of an `XLNetBackbone`."""
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
            f"(this backbone's attention_dropout={backbone.attention_dropout} is dropped).",
            stacklevel=caller_stacklevel())

    def token_id(name, default):
        value = getattr(tokenizer, name, None)
        return default if value is None else value

    return {
        **config_map.write(keys.HF_CONFIG, backbone),
        "architectures": ["XLNetModel"],
        "model_type": "xlnet",
        "ff_activation": activations.spelling(backbone.activation, activations.HF_SPELLINGS),
        "untie_r": True,
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
        "dtype": backbone.variable_dtype,
    }


def transformers_head_config(task):
    if task.task_kind == "classifier":
        if task.activation == "softmax":
            warnings.warn("This XLNetClassifier outputs softmax probabilities; the exported "
                          "XLNetForSequenceClassification outputs the logits before the "
                          "softmax.", stacklevel=caller_stacklevel())
        return {**classifier_labels.transformers_labels(task),
                "summary_type": task.summary_type, "summary_last_dropout": task.dropout,
                "problem_type": ("regression" if task.is_regressor
                                 else "single_label_classification")}
    if task.task_kind == "question_answerer":
        return {"start_n_top": task.start_n_top, "end_n_top": task.end_n_top}
    # `lm_loss.weight` is left out, as transformers' save_pretrained does:
    # loading ties it to the word embeddings.
    return {"tie_word_embeddings": True}


# transformers' XLNetTokenizer argument -> kerabert attribute holding the id.
_SPECIAL_TOKENS = {"unk_token": "unknown_token_id", "bos_token": "bos_token_id",
                   "eos_token": "eos_token_id", "sep_token": "sep_token_id",
                   "pad_token": "pad_token_id", "cls_token": "cls_token_id",
                   "mask_token": "mask_token_id"}


def write_transformers_tokenizer(tokenizer, folder, backbone):
    """spiece.model + the config files of a transformers `XLNetTokenizer`."""
    with open(os.path.join(folder, keys.PROTO_FILE), "wb") as f:
        f.write(tokenizer.proto)
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
    files.write_json(os.path.join(folder, "tokenizer_config.json"), config, sort_keys=False)
    files.write_json(os.path.join(folder, "special_tokens_map.json"), special, sort_keys=False)
