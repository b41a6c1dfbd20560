"""The XLNet family's checkpoint knowledge: configs, tokenizers, heads and weights
of Hugging Face folders and original TF1 releases, and the transformers export.
Tensor names live in `xlnet_weights.py`; the functions have the same names as
in `bert.py`.

A TF1 release (e.g. `xlnet_cased_L-24_H-1024_A-16/`) holds `xlnet_config.json`
(`n_layer, d_model, n_head, d_head, d_inner, ff_activation, untie_r, n_token`),
`spiece.model` and `xlnet_model.ckpt.*`. Its conventions:
- `ff_activation: "gelu"` is the reference's tanh approximation, kerabert's
  "gelu_approximate" (transformers: "gelu_new").
- `untie_r` is kept: a shared-bias checkpoint loads into a backbone with shared
  biases, the function it was trained as. `from_preset(..., untie_r=True)`
  copies the shared bias into every layer, as transformers' TF loader does.
- Dropout, `clamp_len` and the like are run flags, not in the config: the
  reference's fine-tuning defaults are used (dropout 0.1, no memory, "bi").
  Head run flags (`summary_type`, `start_n_top`, `end_n_top`) take the
  reference's flag defaults ("last", 5, 5).
- `mask_emb` only exists in pretraining graphs; fine-tuned checkpoints lack
  it, and the (unused) query-stream embedding keeps its initial value.
- The tokenizer is cased unless `lowercase=True` is passed: every released XLNet
  is cased, and the reference's `--uncased` flag is stored nowhere.

A Hugging Face folder converts to `untie_r=True`, the function its per-layer
biases compute.
"""

import os
import sys
import warnings

from kerabert.backbones.xlnet_backbone import XLNetBackbone
from kerabert.checkpoints import xlnet_weights as weights
from kerabert.layers import activations
from kerabert.presets import config_map
from kerabert.presets import registry
from kerabert.presets import weight_map
from kerabert.presets.registry import Preset
from kerabert.tasks import classifier as classifier_labels
from kerabert.tasks.xlnet_classifier import XLNetClassifier
from kerabert.tasks.xlnet_pretrainer import XLNetPretrainer
from kerabert.tasks.xlnet_question_answerer import XLNetQuestionAnswerer
from kerabert.tokenizers.xlnet_tokenizer import XLNetTokenizer

TF_CONFIG_FILE = "xlnet_config.json"
PROTO_FILE = "spiece.model"
TF_DESCRIPTION = "original XLNet checkpoints (model/transformer/layer_N/...)"
DESCRIPTIONS = {weights.TF1: "original TF1 XLNet checkpoint"}

HF_ARCHITECTURES = {
    "XLNetForSequenceClassification": "classifier",
    "XLNetForQuestionAnswering": "question_answerer",
    "XLNetLMHeadModel": "pretrainer",
}
HF_EXPORT_ARCHITECTURES = {kind: name for name, kind in HF_ARCHITECTURES.items()}


# Backbone tensors inside a transformers task checkpoint start with this.
HF_BASE_PREFIX = weights.HF_BASE_PREFIX


# --- recognising checkpoints ---------------------------------------------------------

def claims_tf_config(config):
    """Whether a TF checkpoint's config is a reference `XLNetConfig`."""
    return "n_layer" in config and "d_model" in config


def tf_layout(names):
    return weights.TF1 if weights.ANCHOR in names else None


def layout(checkpoint):
    if checkpoint.format_name in (weights.HUGGINGFACE, weights.KERAS_HUB):
        return checkpoint.format_name
    return weights.TF1


def describe(checkpoint):
    if checkpoint.format_name in (weights.HUGGINGFACE, weights.KERAS_HUB):
        return checkpoint.describe()
    return DESCRIPTIONS[layout(checkpoint)]


# --- configs -------------------------------------------------------------------------

# `XLNetBackbone` argument <- config key, default, for both formats (the reference
# `XLNetConfig` and transformers' share these names).
CONFIG = (
    ("num_layers", "n_layer", config_map.REQUIRED),
    ("num_heads", "n_head", config_map.REQUIRED),
    ("hidden_dim", "d_model", config_map.REQUIRED),
    ("intermediate_dim", "d_inner", config_map.REQUIRED),
    ("head_dim", "d_head", None),  # None: hidden_dim // num_heads
)
# transformers keeps one dropout rate for hidden states and attention, and the
# run settings the reference passes as flags.
HF_CONFIG = CONFIG + (
    ("vocabulary_size", "vocab_size", config_map.REQUIRED),
    ("dropout", "dropout", 0.1),
    ("attention_dropout", "dropout", 0.1),
    ("layer_norm_epsilon", "layer_norm_eps", 1e-12),
    ("initializer_range", "initializer_range", 0.02),
    ("bi_data", "bi_data", False),
    ("clamp_len", "clamp_len", -1),
    ("attn_type", "attn_type", "bi"),
    ("same_length", "same_length", False),
    ("mem_len", "mem_len", None),
    ("reuse_len", "reuse_len", None),
)
TF_CONFIG = CONFIG + (("vocabulary_size", "n_token", config_map.REQUIRED),
                      ("untie_r", "untie_r", False))
# Run flags and fixed constants of the reference: dropout 0.1, and
# tf.contrib.layers.layer_norm's fixed epsilon.
TF_FIXED = {"dropout": 0.1, "attention_dropout": 0.1, "layer_norm_epsilon": 1e-12,
            "initializer_range": 0.02}


# keras-hub's `XLNetBackbone`: kerabert's names, one dropout rate, per-layer
# biases, head_dim = hidden_dim // num_heads, LayerNorm epsilon 1e-12.
KERAS_HUB_CONFIG = (
    ("vocabulary_size", "vocabulary_size", config_map.REQUIRED),
    ("num_layers", "num_layers", config_map.REQUIRED),
    ("num_heads", "num_heads", config_map.REQUIRED),
    ("hidden_dim", "hidden_dim", config_map.REQUIRED),
    ("intermediate_dim", "intermediate_dim", config_map.REQUIRED),
    ("dropout", "dropout", 0.0),
    ("attention_dropout", "dropout", 0.0),
    ("initializer_range", "kernel_initializer_range", 0.02),
)
# keras-hub stores a Keras activation name: "gelu" is the exact (erf) form.
KERAS_HUB_ACTIVATIONS = {"gelu": activations.GELU, "relu": "relu", "tanh": "tanh",
                         "silu": "silu"}


def backbone_config(checkpoint):
    """`XLNetBackbone` keyword arguments from the checkpoint's config."""
    config = checkpoint.config
    if checkpoint.format_name == weights.KERAS_HUB:
        kwargs = config_map.read(KERAS_HUB_CONFIG, config, f"{checkpoint.folder}/config.json")
        kwargs.update(head_dim=kwargs["hidden_dim"] // kwargs["num_heads"], untie_r=True,
                      layer_norm_epsilon=1e-12, activation=activations.from_spelling(
                          config.get("activation", "gelu"), KERAS_HUB_ACTIVATIONS, "activation"))
        return kwargs
    if checkpoint.format_name == "huggingface":
        kwargs = config_map.read(HF_CONFIG, config, f"{checkpoint.folder}/config.json")
        # transformers' per-layer relative biases are what `untie_r` computes.
        kwargs.update(untie_r=True, bi_data=bool(kwargs["bi_data"]),
                      same_length=bool(kwargs["same_length"]))
        spellings, default_activation = activations.HF_SPELLINGS, "gelu"
    else:
        kwargs = {**config_map.read(TF_CONFIG, config, f"The XLNet config ({TF_CONFIG_FILE})"),
                  **TF_FIXED}
        kwargs["untie_r"] = bool(kwargs["untie_r"])
        # The reference `transformer_xl` knows gelu and relu, relu by default.
        spellings = {k: v for k, v in activations.TF1_SPELLINGS.items() if k in ("gelu", "relu")}
        default_activation = "relu"
    kwargs["head_dim"] = kwargs["head_dim"] or kwargs["hidden_dim"] // kwargs["num_heads"]
    kwargs["activation"] = activations.from_spelling(
        config.get("ff_activation", default_activation), spellings, "ff_activation")
    return kwargs


def head_config(checkpoint, task_kind):
    """The settings of the `task_kind` head the checkpoint holds, or None."""
    if checkpoint.format_name == weights.KERAS_HUB:
        return None  # keras-hub has no XLNet task
    if checkpoint.format_name == "huggingface":
        return _hf_head_config(checkpoint, task_kind)
    shapes = checkpoint.shapes()
    if task_kind == "classifier":
        scope = _tf1_logit_scope(shapes, checkpoint.folder)
        if scope is None:
            return None
        if weights.SUMMARY + "/kernel" not in shapes:
            raise ValueError(
                f"{checkpoint.folder} holds a classification head without the sequence summary "
                f"projection ({weights.SUMMARY}: trained with use_summ_proj=False), which "
                "kerabert's XLNetClassifier always has. Load with "
                "ignore_unused_weights=True to fine-tune a new head.")
        return {"num_classes": int(shapes[scope + "/kernel"][-1])}
    if task_kind in ("question_answerer", "pretrainer"):
        rows = weights.head_weights(task_kind)
        present = all(name in shapes for w in rows for name in w.tensor(weights.TF1).names())
        return {} if present else None
    return None


def _hf_head_config(checkpoint, task_kind):
    config = checkpoint.config
    architectures = config.get("architectures") or []
    if task_kind == "question_answerer" and "XLNetForQuestionAnsweringSimple" in architectures:
        raise ValueError(
            f"{checkpoint.folder} holds an XLNetForQuestionAnsweringSimple head (one linear "
            "layer for start and end); kerabert's XLNetQuestionAnswerer is the reference's "
            "beam-search head (XLNetForQuestionAnswering). Load the backbone with "
            "XLNetQuestionAnswerer.from_preset(..., ignore_unused_weights=True) to fine-tune a "
            "new head.")
    if task_kind not in {HF_ARCHITECTURES.get(a) for a in architectures}:
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


def preprocessor_config(checkpoint):
    return None  # only the BERT family's keras-hub presets save a preprocessor


def _tf1_logit_scope(names, folder):
    """The one classification / regression scope of a TF1 checkpoint, or None."""
    scopes = weights.tf1_logit_scopes(names)
    if len(scopes) > 1:
        raise ValueError(
            f"{folder} holds several classification heads ({scopes}); kerabert loads one. "
            "Load the backbone with ignore_unused_weights=True and build a new head.")
    return scopes[0] if scopes else None


# --- tokenizers ----------------------------------------------------------------------

def tokenizer(checkpoint, tokenizer_cls, **overrides):
    """An `XLNetTokenizer` over the folder's `spiece.model`: with the
    transformers tokenizer's flags for a Hugging Face folder, else the
    reference's defaults (cased, collapse spaces, strip accents)."""
    if checkpoint.format_name == weights.KERAS_HUB:
        raise FileNotFoundError(
            f"{checkpoint.folder} is a keras-hub XLNetBackbone preset, and keras-hub has no XLNet "
            "tokenizer: build kerabert.XLNetTokenizer(proto=<the model's spiece.model>), or "
            "load the task with preprocessor=None.")
    proto = os.path.join(checkpoint.folder, PROTO_FILE)
    if not os.path.isfile(proto):
        raise FileNotFoundError(
            f"{checkpoint.folder} has no {PROTO_FILE}, the SentencePiece model an XLNet "
            "tokenizer needs (a folder with only tokenizer.json cannot be converted). Put the "
            "spiece.model released with the checkpoint next to it.")
    kwargs = {"lowercase": False, "remove_space": True, "keep_accents": False}
    if checkpoint.format_name == "huggingface":
        config = checkpoint.tokenizer_settings().get("tokenizer_config", {})
        kwargs = {"lowercase": bool(config.get("do_lower_case", False)),
                  "remove_space": bool(config.get("remove_space", True)),
                  "keep_accents": bool(config.get("keep_accents", False))}
    kwargs.update(overrides)
    return tokenizer_cls(proto=proto, **kwargs)


# --- weights -------------------------------------------------------------------------

# --- export to keras-hub -------------------------------------------------------------

def keras_hub_model(backbone, task=None, tokenizer=None):
    """keras-hub's `XLNetBackbone` of `backbone`'s size, its weights still
    fresh; keras-hub has no XLNet task or tokenizer.

    Returns `(model, None, differences, left_out)` (see `bert.keras_hub_model`). keras-hub's
    XLNet is bidirectional without clamping or `bi_data`, with LayerNorm
    epsilon 1e-12 and a Keras activation name ("gelu" is the exact form).
    """
    import keras_hub

    if task is not None:
        raise NotImplementedError(
            f"keras-hub has no XLNet {task.task_kind} task; export the backbone with "
            "task.backbone.export_to_keras_hub(...).")
    if backbone.head_dim * backbone.num_heads != backbone.hidden_dim:
        raise ValueError(
            f"keras-hub's XLNetBackbone has head_dim = hidden_dim / num_heads; this backbone "
            f"has head_dim={backbone.head_dim}, hidden_dim={backbone.hidden_dim}, "
            f"num_heads={backbone.num_heads}.")
    differences = []
    left_out = [] if tokenizer is None else [
        "keras-hub has no XLNet tokenizer: the preset holds the backbone only"]
    spellings = {meaning: spelled for spelled, meaning in KERAS_HUB_ACTIVATIONS.items()}
    activation = spellings.get(backbone.activation)
    if activation is None:
        activation = "gelu"
        differences.append(f"the activation is {backbone.activation!r}; keras-hub's XLNetBackbone "
                           "takes a Keras activation name, and Keras' 'gelu' is the exact form")
    settings = {"layer_norm_epsilon": 1e-12, "attn_type": "bi", "bi_data": False,
                "clamp_len": -1, "same_length": False}
    for name, theirs in settings.items():
        ours = getattr(backbone, name)
        if ours != theirs and not (name == "clamp_len" and ours < 0):
            differences.append(f"the backbone's {name} is {ours!r}; keras-hub's XLNetBackbone "
                               f"always uses {theirs!r}")
    model = keras_hub.models.XLNetBackbone(
        vocabulary_size=backbone.vocabulary_size, num_layers=backbone.num_layers,
        num_heads=backbone.num_heads, hidden_dim=backbone.hidden_dim,
        intermediate_dim=backbone.intermediate_dim, dropout=backbone.dropout,
        activation=activation, kernel_initializer_range=backbone.initializer_range,
        dtype=backbone.dtype_policy.name)
    return model, None, differences, left_out


def keras_hub_outputs(model, hub_model, inputs):
    """The sequence outputs of a kerabert `XLNetBackbone` and keras-hub's on
    packed `inputs`, compared one example at a time: keras-hub reshapes its
    relative position encodings from (positions, batch, dim) to (batch,
    positions, dim) where a transpose is needed, so its outputs are those of
    XLNet only for a batch of one."""
    keys = ("token_ids", "segment_ids", "padding_mask")
    ours, theirs = [], []
    for row in range(inputs["token_ids"].shape[0]):
        example = {k: inputs[k][row:row + 1] for k in keys}
        ours.append(model(example)["sequence_output"])
        theirs.append(hub_model(example))
    return ours, theirs


def backbone_weights(backbone, checkpoint=None):
    return weights.backbone_weights(backbone.num_layers, backbone.num_heads, backbone.head_dim,
                                    backbone.untie_r)


def head_weights(task, checkpoint=None):
    scope = None
    if checkpoint is not None and checkpoint.format_name == "tf_checkpoint" \
            and task.task_kind == "classifier":
        scope = _tf1_logit_scope(checkpoint.tensor_names(), checkpoint.folder)
    return weights.head_weights(task.task_kind, tf1_logit_scope=scope)


def load_weights(checkpoint, reader, backbone, task=None):
    """Reads the backbone (and `task`'s head, when given) from `reader`; marks
    the tensors it knows but does not load (other heads, tied copies)."""
    fmt = layout(checkpoint)
    prefix = ""
    if fmt in (weights.HUGGINGFACE, weights.KERAS_HUB) and not backbone.untie_r:
        raise ValueError(
            f"{checkpoint.describe()} holds one set of relative biases per layer; build the "
            "XLNetBackbone with untie_r=True to load it.")
    if fmt == weights.HUGGINGFACE:
        if weights.HF_BASE_PREFIX + "word_embedding.weight" in reader:
            prefix = weights.HF_BASE_PREFIX
    weight_map.load(backbone, backbone_weights(backbone), fmt, reader, prefix)
    if task is not None:
        weight_map.load(task, head_weights(task, checkpoint), fmt, reader)
    # Heads of other kinds are known, not loaded. Unknown tensors in the loaded
    # head's own scopes stay reported, e.g. an untied TF1 `model/lm_loss/weight`
    # (kerabert's LM head is tied to the embeddings).
    for kind, prefixes in weights.HEAD_PREFIXES.get(fmt, {}).items():
        if task is None or kind != task.task_kind:
            reader.mark_unused([n for n in reader.keys() if n.startswith(prefixes)],
                               f"the {kind} head, not part of this model")
    reader.mark_unused([weights.HF_LM_WEIGHT], "tied to the word embeddings")


# --- export to transformers ----------------------------------------------------------

def check_export_tokenizer(tokenizer, backbone):
    if tokenizer is None:
        raise ValueError(
            "export_to_transformers needs a tokenizer to write spiece.model and the tokenizer "
            "files: pass tokenizer=kerabert.XLNetTokenizer(...) (or "
            "XLNetTokenizer.from_preset(...)).")
    if not isinstance(tokenizer, XLNetTokenizer):
        raise ValueError("export_to_transformers of an XLNet model needs an XLNetTokenizer, got "
                         f"a {type(tokenizer).__name__}.")
    tokenizer.check_vocabulary()
    size = tokenizer.vocabulary_size()
    if size > backbone.vocabulary_size:
        raise ValueError(f"The tokenizer has {size} tokens but the backbone's embedding only "
                         f"{backbone.vocabulary_size}; they do not belong together.")


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
            stacklevel=3)

    def token_id(name, default):
        value = getattr(tokenizer, name, None)
        return default if value is None else value

    return {
        **config_map.write(HF_CONFIG, backbone),
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
                          "softmax.", stacklevel=3)
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
    from kerabert.presets import files

    with open(os.path.join(folder, PROTO_FILE), "wb") as f:
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


# --- registration ----------------------------------------------------------------------

registry.register_family(registry.Family(
    name="xlnet", title="XLNet", checkpoints=sys.modules[__name__],
    backbone_cls=XLNetBackbone, tokenizer_cls=XLNetTokenizer,
    tasks={"classifier": XLNetClassifier, "question_answerer": XLNetQuestionAnswerer,
           "pretrainer": XLNetPretrainer},
    hf_model_types=("xlnet",), tf_config_files=(TF_CONFIG_FILE,), tokenizer_files=(PROTO_FILE,),
    keras_hub_backbones=("XLNetBackbone",)))

# For XLNet, `params` is `XLNetModel`'s count (word embeddings, mask embedding, layers).
registry.register_presets([
    Preset("xlnet_base_en_cased", "xlnet/xlnet-base-cased", "xlnet", 116_718_336,
           "12-layer, 768-hidden, 12-head XLNet-Base, cased English."),
    Preset("xlnet_large_en_cased", "xlnet/xlnet-large-cased", "xlnet", 360_268_800,
           "24-layer, 1024-hidden, 16-head XLNet-Large, cased English."),
])
