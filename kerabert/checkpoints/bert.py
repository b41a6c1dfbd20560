"""The BERT family's checkpoint knowledge: configs, tokenizers, heads and weights
of Hugging Face folders, original Google TF1 releases and TF Model Garden
checkpoints, and the transformers export. Tensor names live in
`bert_weights.py`.

The loader calls the functions below (every family module has the same
names) with a `Checkpoint` folder object from `kerabert.presets.formats`.

Conventions of the Google formats (TF1 and Model Garden):
- `hidden_act: "gelu"` there is the reference's tanh approximation of GELU,
  i.e. kerabert's "gelu_approximate" (transformers spells it "gelu_new"; its
  "gelu" is the exact erf form).
- LayerNorm epsilon is 1e-12 (fixed in the reference code, not in the config),
  and a missing `type_vocab_size` means the reference default, 16.
- The tokenizer's casing is stored nowhere in the folder: it is inferred from the
  folder name as the reference's `validate_case_matches_checkpoint` does (see
  `infer_lowercase`); `from_preset(..., lowercase=...)` overrides it.
"""

import os
import sys
import warnings

import numpy as np

from kerabert.backbones.bert_backbone import BertBackbone
from kerabert.checkpoints import bert_weights as weights
from kerabert.layers import activations
from kerabert.presets import config_map
from kerabert.presets import registry
from kerabert.presets import weight_map
from kerabert.presets.errors import CheckpointMismatchError
from kerabert.presets.errors import caller_stacklevel
from kerabert.presets.registry import Preset
from kerabert.tasks import classifier as classifier_labels
from kerabert.tasks.bert_classifier import BertClassifier
from kerabert.tasks.bert_pretrainer import BertPretrainer
from kerabert.tasks.bert_question_answerer import BertQuestionAnswerer
from kerabert.tokenizers.bert_tokenizer import BertTokenizer

TF_CONFIG_FILE = "bert_config.json"
VOCABULARY_FILE = "vocab.txt"
TF_DESCRIPTION = ("original Google BERT checkpoints (bert/encoder/layer_N/...) and TF Model "
                  "Garden BERT checkpoints of the keras_bert and tf_20 layouts")
DESCRIPTIONS = {
    weights.TF1: "original Google TF1 BERT checkpoint",
    weights.KERAS_BERT: "TF Model Garden keras_bert (TransformerEncoder) object checkpoint",
    weights.TF20_OBJECT: "TF Model Garden tf_20 (BertModel) object checkpoint",
    weights.TF20: "TF Model Garden tf_20 (BertModel) checkpoint",
}

# The reference's casing lists (`tokenization.validate_case_matches_checkpoint`).
LOWERCASE_MODELS = ("uncased_L-24_H-1024_A-16", "uncased_L-12_H-768_A-12",
                    "multilingual_L-12_H-768_A-12", "chinese_L-12_H-768_A-12")
CASED_MODELS = ("cased_L-12_H-768_A-12", "cased_L-24_H-1024_A-16",
                "multi_cased_L-12_H-768_A-12")

# transformers architectures -> the kerabert task kind whose head they carry.
HF_ARCHITECTURES = {
    "BertForSequenceClassification": "classifier",
    "BertForQuestionAnswering": "question_answerer",
    "BertForPreTraining": "pretrainer",
    "BertForMaskedLM": "pretrainer",
}
# ... and the one an export writes for each kind.
HF_EXPORT_ARCHITECTURES = {"classifier": "BertForSequenceClassification",
                           "question_answerer": "BertForQuestionAnswering",
                           "pretrainer": "BertForPreTraining"}


# Backbone tensors inside a transformers task checkpoint start with this.
HF_BASE_PREFIX = weights.HF_BASE_PREFIX


# --- recognising checkpoints ---------------------------------------------------------

def claims_tf_config(config):
    """Whether a TF checkpoint's config is a reference `BertConfig`."""
    return any(field in config for field in REQUIRED_FIELDS)


def tf_layout(names):
    """The format of a TF checkpoint's variable names ("tf1" or a Model Garden
    layout), or None when they are not BERT's."""
    if "bert/embeddings/word_embeddings" in names:
        return weights.TF1
    garden = weights.model_garden_layout(names)
    return garden.kind if garden else None


def layout(checkpoint):
    if checkpoint.format_name in (weights.HUGGINGFACE, weights.KERAS_HUB):
        return checkpoint.format_name
    return tf_layout(checkpoint.tensor_names()) if checkpoint.prefix else weights.TF1


def describe(checkpoint):
    if checkpoint.format_name in (weights.HUGGINGFACE, weights.KERAS_HUB):
        return checkpoint.describe()
    return DESCRIPTIONS[layout(checkpoint)]


# --- configs -------------------------------------------------------------------------

# `BertBackbone` argument <- config key (the reference `BertConfig` and transformers'
# share the names), default. Read for every format, written by the export.
CONFIG = (
    ("vocabulary_size", "vocab_size", config_map.REQUIRED),
    ("num_layers", "num_hidden_layers", config_map.REQUIRED),
    ("num_heads", "num_attention_heads", config_map.REQUIRED),
    ("hidden_dim", "hidden_size", config_map.REQUIRED),
    ("intermediate_dim", "intermediate_size", config_map.REQUIRED),
    ("dropout", "hidden_dropout_prob", 0.1),
    ("attention_dropout", "attention_probs_dropout_prob", 0.1),
    ("max_sequence_length", "max_position_embeddings", 512),
    ("initializer_range", "initializer_range", 0.02),
)
# Where the two formats differ: transformers stores the epsilon and defaults to 2
# segments; the reference fixes the epsilon at 1e-12 and defaults to 16 segments.
HF_CONFIG = CONFIG + (("num_segments", "type_vocab_size", 2),
                      ("layer_norm_epsilon", "layer_norm_eps", 1e-12))
TF_CONFIG = CONFIG + (("num_segments", "type_vocab_size", 16),)
REQUIRED_FIELDS = tuple(key for _, key, default in CONFIG if default is config_map.REQUIRED)
# keras-hub's `BertBackbone` uses kerabert's argument names; it has one dropout
# rate, and fixes the rest: the tanh GELU, epsilon 1e-12, initializer stddev 0.02.
KERAS_HUB_CONFIG = (
    ("vocabulary_size", "vocabulary_size", config_map.REQUIRED),
    ("num_layers", "num_layers", config_map.REQUIRED),
    ("num_heads", "num_heads", config_map.REQUIRED),
    ("hidden_dim", "hidden_dim", config_map.REQUIRED),
    ("intermediate_dim", "intermediate_dim", config_map.REQUIRED),
    ("dropout", "dropout", 0.1),
    ("attention_dropout", "dropout", 0.1),
    ("max_sequence_length", "max_sequence_length", 512),
    ("num_segments", "num_segments", 2),
)
KERAS_HUB_FIXED = {"activation": activations.GELU_APPROXIMATE, "layer_norm_epsilon": 1e-12,
                   "initializer_range": 0.02}
# keras-hub task classes -> kerabert task kinds, and keras-hub's MaskedLM head
# (exact GELU, epsilon 1e-5), which `BertPretrainer` takes as settings.
KERAS_HUB_TASKS = {"BertTextClassifier": "classifier", "BertMaskedLM": "pretrainer"}
KERAS_HUB_MLM_HEAD = {"mlm_activation": activations.GELU, "mlm_layer_norm_epsilon": 1e-5}


def backbone_config(checkpoint):
    """`BertBackbone` keyword arguments from the checkpoint's config."""
    config = checkpoint.config
    if checkpoint.format_name == weights.KERAS_HUB:
        return {**config_map.read(KERAS_HUB_CONFIG, config, f"{checkpoint.folder}/config.json"),
                **KERAS_HUB_FIXED}
    if checkpoint.format_name == "huggingface":
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(
                "Only absolute position embeddings are supported, got "
                f"{config['position_embedding_type']!r}.")
        kwargs = config_map.read(HF_CONFIG, config, f"{checkpoint.folder}/config.json")
        spellings = activations.HF_SPELLINGS
    else:
        kwargs = config_map.read(TF_CONFIG, config, f"The BERT config ({TF_CONFIG_FILE})")
        kwargs["layer_norm_epsilon"] = 1e-12
        spellings = activations.TF1_SPELLINGS
    kwargs["activation"] = activations.from_spelling(config.get("hidden_act", "gelu"),
                                                     spellings, "hidden_act")
    return kwargs


def head_config(checkpoint, task_kind):
    """The settings of the `task_kind` head the checkpoint holds, or None."""
    if checkpoint.format_name == weights.KERAS_HUB:
        task = checkpoint.task_config()
        if task is None or KERAS_HUB_TASKS.get(task[0]) != task_kind:
            return None
        if task_kind == "classifier":
            activation = keras_hub_activation(task[1].get("activation"))
            return {"num_classes": task[1]["num_classes"], "dropout": task[1].get("dropout", 0.1),
                    **({"activation": activation} if activation else {})}
        return dict(KERAS_HUB_MLM_HEAD)
    if checkpoint.format_name == "huggingface":
        kinds = {HF_ARCHITECTURES.get(a) for a in checkpoint.config.get("architectures") or []}
        if task_kind not in kinds:
            return None
        if task_kind == "classifier":
            labels = checkpoint.config.get("id2label")
            return {"num_classes": len(labels) if labels
                    else checkpoint.config.get("num_labels", 2),
                    "label_names": classifier_labels.label_names_from_transformers(
                        checkpoint.config)}
        return {}
    if layout(checkpoint) != weights.TF1 or task_kind not in weights.TASK_KINDS:
        return None  # Model Garden heads are not converted
    shapes = checkpoint.shapes()
    rows = weights.head_weights(task_kind)
    required = [w.tensor(weights.TF1) for w in rows if not w.tensor(weights.TF1).optional]
    if not all(t.name in shapes for t in required):
        return None
    if task_kind == "classifier":
        return {"num_classes": int(shapes[rows[0].tensor(weights.TF1).name][0])}  # (out, in)
    return {}


def keras_hub_activation(spec):
    """A keras-hub classifier's serialized `activation` -> None or "softmax"."""
    name = spec.get("config", spec.get("class_name")) if isinstance(spec, dict) else spec
    if name in (None, "linear"):
        return None
    if name == "softmax":
        return "softmax"
    raise ValueError(f"The keras-hub classifier's activation {spec!r} has no kerabert "
                     "equivalent (kerabert classifiers output logits or softmax).")


def preprocessor_config(checkpoint):
    """(kerabert preprocessor class, config) of a keras-hub preset's saved
    preprocessor (its sequence length, truncation and masking carry over)."""
    if checkpoint.format_name != weights.KERAS_HUB:
        return None
    saved = checkpoint.preprocessor_settings()
    if saved is None:
        return None
    name, config = saved
    if name == "BertTextClassifierPreprocessor":
        return BertClassifier.preprocessor_cls, {
            "sequence_length": config.get("sequence_length", 512),
            "truncate": config.get("truncate", "round_robin")}
    if name == "BertMaskedLMPreprocessor":
        return BertPretrainer.preprocessor_cls, {
            "sequence_length": config.get("sequence_length", 512),
            "truncate": config.get("truncate", "round_robin"),
            "mask_rate": config.get("mask_selection_rate", 0.15),
            "max_predictions_per_seq": config.get("mask_selection_length", 96),
            "mask_token_rate": config.get("mask_token_rate", 0.8),
            "random_token_rate": config.get("random_token_rate", 0.1)}
    return None


# --- tokenizers ----------------------------------------------------------------------

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


def tokenizer(checkpoint, tokenizer_cls, **overrides):
    """A `BertTokenizer` with the checkpoint's tokenizer flags.

    Hugging Face: the flags of `tokenizer.json` (what the fast tokenizer uses)
    over those of `tokenizer_config.json`. TF: the reference `FullTokenizer`'s:
    casing from `infer_lowercase`, accents stripped when lower-casing (the
    reference ties the two), words of more than 200 characters become [UNK]
    (the reference limit, which transformers lowers to 100).
    """
    if checkpoint.format_name == weights.KERAS_HUB:
        return _keras_hub_tokenizer(checkpoint, tokenizer_cls, overrides)
    vocab = os.path.join(checkpoint.folder, VOCABULARY_FILE)
    if not os.path.isfile(vocab):
        raise FileNotFoundError(
            f"{checkpoint.folder} has no {VOCABULARY_FILE}, which a BERT tokenizer needs.")
    if checkpoint.format_name == "huggingface":
        kwargs = _hf_tokenizer_flags(checkpoint.tokenizer_settings())
    else:
        try:
            config = checkpoint.config
        except (FileNotFoundError, ValueError):
            config = None  # casing then comes from the folder name alone
        kwargs = {"lowercase": infer_lowercase(checkpoint.folder, config), "strip_accents": None,
                  "tokenize_chinese_chars": True, "max_input_chars_per_word": 200}
    kwargs.update(overrides)
    return tokenizer_cls(vocabulary=vocab, **kwargs)


def _keras_hub_tokenizer(checkpoint, tokenizer_cls, overrides):
    """keras-hub's `BertTokenizer` flags: it lower-cases (with Unicode case
    folding) without stripping accents unless `strip_accents` says so, which is
    what its uncased presets do; the reference and transformers strip accents
    whenever they lower-case. kerabert follows the preset (its outputs then
    equal keras-hub's); `from_preset(..., strip_accents=None)` gives the
    reference's."""
    config, folder = checkpoint.tokenizer_settings()
    vocabulary = os.path.join(folder, "vocabulary.txt")
    if config is None or not os.path.isfile(vocabulary):
        raise FileNotFoundError(
            f"{checkpoint.folder} is a keras-hub preset without a tokenizer (tokenizer.json and "
            "assets/tokenizer/vocabulary.txt); build the tokenizer from its vocabulary, or use "
            "preprocessor=None.")
    kwargs = {"lowercase": bool(config.get("lowercase", False)),
              "strip_accents": bool(config.get("strip_accents", False)),
              "suffix_indicator": config.get("suffix_indicator", "##"),
              "unknown_token": config.get("oov_token", "[UNK]")}
    kwargs.update(overrides)
    return tokenizer_cls(vocabulary=vocabulary, **kwargs)


def _hf_tokenizer_flags(settings):
    kwargs = {"lowercase": True, "strip_accents": None, "tokenize_chinese_chars": True,
              "max_input_chars_per_word": 100}
    config = settings.get("tokenizer_config", {})
    if "do_lower_case" in config:
        kwargs["lowercase"] = bool(config["do_lower_case"])
    for key in ("strip_accents", "tokenize_chinese_chars"):
        if key in config:
            kwargs[key] = config[key]
    for key, token_key in SPECIAL_TOKENS.items():
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
    return kwargs


# kerabert tokenizer argument -> transformers tokenizer argument.
SPECIAL_TOKENS = {"unknown_token": "unk_token", "cls_token": "cls_token",
                  "sep_token": "sep_token", "pad_token": "pad_token", "mask_token": "mask_token"}


# --- weights -------------------------------------------------------------------------

def _garden(checkpoint):
    if checkpoint is None or checkpoint.format_name != "tf_checkpoint" or not checkpoint.prefix:
        return None
    return weights.model_garden_layout(checkpoint.tensor_names())


def load_weights(checkpoint, reader, backbone, task=None):
    """Reads the backbone (and `task`'s head, when given) from `reader`; marks
    the tensors it knows but does not load (other heads, tied copies)."""
    fmt = layout(checkpoint)
    garden = _garden(checkpoint)
    if garden is not None and garden.kind == weights.KERAS_BERT:
        _check_keras_bert_blocks(reader, garden, backbone.num_layers)
    prefix = ""
    if fmt == weights.HUGGINGFACE and weights.HF_BASE_PREFIX + "embeddings.word_embeddings.weight" \
            in reader:
        prefix = weights.HF_BASE_PREFIX
    absent = weight_map.load(backbone, backbone_weights(backbone, checkpoint), fmt, reader,
                             prefix)
    pooler_used = task is None or "pooled_dense" not in task.unused_weights
    if pooler_used and any(path.startswith("pooled_dense/") for path in absent):
        warnings.warn(f"{reader.source} has no pooler weights; the backbone's pooled_dense layer "
                      "keeps its random initialisation.", stacklevel=caller_stacklevel())
    if task is not None:
        if task.task_kind == "pretrainer" and fmt == weights.HUGGINGFACE:
            _check_tied_decoder(reader, task)
        weight_map.load(task, weights.head_weights(task.task_kind), fmt, reader)
    for kind in weights.TASK_KINDS:
        reader.mark_unused(weight_map.names(weights.head_weights(kind), fmt),
                           f"the {kind} head, not part of this model")
    reader.mark_unused([weights.HF_MLM_DECODER, weights.HF_MLM_DECODER_BIAS],
                       "tied to the word embeddings and the masked-LM bias")
    if garden is not None:
        reader.mark_unused([n for n in reader.keys() if not n.startswith(garden.root)],
                           "outside the Model Garden encoder (heads are not converted)")


def _check_keras_bert_blocks(reader, garden, num_layers):
    blocks = weights.keras_bert_blocks(reader.keys(), garden)
    if blocks != list(range(blocks[0], blocks[0] + len(blocks))) or blocks[0] < 4:
        raise CheckpointMismatchError(
            f"{reader.source}: the transformer layers are layer_with_weights-{blocks}, not a run "
            "after the four embedding layers; this is not a keras_bert TransformerEncoder.")
    if len(blocks) != num_layers:
        raise CheckpointMismatchError(
            f"{reader.source} holds {len(blocks)} transformer layers but the config says "
            f"num_hidden_layers={num_layers}. Check that the config belongs to these weights.")


def _check_tied_decoder(reader, task):
    """Files that store the masked-LM decoder anyway must hold the embeddings."""
    if weights.HF_MLM_DECODER in reader:
        embeddings = np.asarray(task.backbone.token_embedding.embeddings.numpy())
        if not np.array_equal(np.asarray(reader.get(weights.HF_MLM_DECODER)), embeddings):
            raise CheckpointMismatchError(
                f"{reader.source}: {weights.HF_MLM_DECODER} differs from the word embeddings "
                "(an untied output layer); kerabert's masked-LM head ties them.")


# --- export to transformers ----------------------------------------------------------

def check_export_tokenizer(tokenizer, backbone):
    if tokenizer is None:
        raise ValueError(
            "export_to_transformers needs a tokenizer to write vocab.txt and the tokenizer "
            "files: pass tokenizer=kerabert.BertTokenizer(...) (or "
            "BertTokenizer.from_preset(...)).")
    if not isinstance(tokenizer, BertTokenizer):
        raise ValueError("export_to_transformers of a BERT model needs a BertTokenizer, got a "
                         f"{type(tokenizer).__name__}.")
    size = tokenizer.vocabulary_size()
    if size > backbone.vocabulary_size:
        raise ValueError(f"The tokenizer has {size} tokens but the backbone's embedding only "
                         f"{backbone.vocabulary_size}; they do not belong together.")


def transformers_config(backbone, tokenizer):
    """The transformers `BertConfig` dict of a `BertBackbone`."""
    return {
        **config_map.write(HF_CONFIG, backbone),
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_act": activations.spelling(backbone.activation, activations.HF_SPELLINGS),
        "pad_token_id": tokenizer.pad_token_id,
        "position_embedding_type": "absolute",
        "classifier_dropout": None,
        "use_cache": True,
        "dtype": backbone.variable_dtype,
    }


def transformers_head_config(task):
    """Config entries of a task's head (see `HF_EXPORT_ARCHITECTURES`)."""
    if task.task_kind == "classifier":
        if task.activation == "softmax":
            warnings.warn("This BertClassifier outputs softmax probabilities; the exported "
                          "BertForSequenceClassification outputs the logits before the softmax.",
                          stacklevel=3)
        return {**classifier_labels.transformers_labels(task),
                "classifier_dropout": task.dropout,
                "problem_type": ("regression" if task.is_regressor
                                 else "single_label_classification")}
    if task.task_kind == "pretrainer":
        if task.mlm_head.token_embedding is not task.backbone.token_embedding:
            raise ValueError("The masked-LM head's output weights are not the backbone's word "
                             "embeddings; BertForPreTraining ties the two.")
        # The decoder's tensors are left out, as transformers' save_pretrained
        # does: loading ties them again.
        return {"tie_word_embeddings": True}
    return {}


def write_transformers_tokenizer(tokenizer, folder, backbone):
    """vocab.txt, tokenizer_config.json, special_tokens_map.json and the fast
    tokenizer's tokenizer.json, as transformers writes them."""
    from kerabert.presets import files

    vocabulary = tokenizer.get_vocabulary()
    with open(os.path.join(folder, VOCABULARY_FILE), "w", encoding="utf-8") as f:
        f.write("".join(token + "\n" for token in vocabulary))
    special = {"unk_token": tokenizer.unknown_token, "sep_token": tokenizer.sep_token,
               "pad_token": tokenizer.pad_token, "cls_token": tokenizer.cls_token}
    if tokenizer.mask_token_id is not None:
        special["mask_token"] = tokenizer.mask_token
    config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": tokenizer.lowercase,
        "strip_accents": tokenizer.strip_accents,
        "tokenize_chinese_chars": tokenizer.tokenize_chinese_chars,
        "do_basic_tokenize": True,
        "never_split": None,
        "model_max_length": backbone.max_sequence_length,
        "clean_up_tokenization_spaces": True,
        **special,
    }
    files.write_json(os.path.join(folder, "tokenizer_config.json"), config, sort_keys=False)
    files.write_json(os.path.join(folder, "special_tokens_map.json"), special, sort_keys=False)
    files.write_json(os.path.join(folder, "tokenizer.json"),
                     _fast_tokenizer_json(tokenizer, vocabulary), sort_keys=False)


def _fast_tokenizer_json(tokenizer, vocabulary):
    """`tokenizer.json` of the equivalent `BertTokenizerFast`."""
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


# --- export to keras-hub -------------------------------------------------------------

KERAS_HUB_SPECIAL_TOKENS = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                            "mask_token": "[MASK]"}


def keras_hub_model(backbone, task=None, tokenizer=None):
    """The keras-hub twin of `backbone` or `task`: `BertBackbone`,
    `BertTextClassifier` (with a `BertTextClassifierPreprocessor` when a
    tokenizer is given) or `BertMaskedLM` (with a `BertMaskedLMPreprocessor`),
    its weights still fresh.

    Returns `(model, tokenizer, differences, left_out)`: keras-hub's
    `BertTokenizer` (None without `tokenizer`), then in sentences what
    keras-hub computes differently from the kerabert model (keras-hub's BERT
    has no activation or epsilon option: tanh GELU and 1e-12 in the encoder,
    exact GELU and 1e-5 in the masked-LM head), and what the preset leaves out.
    """
    import keras_hub

    differences, left_out = [], []
    fixed = {"activation": (backbone.activation, KERAS_HUB_FIXED["activation"]),
             "layer_norm_epsilon": (backbone.layer_norm_epsilon,
                                    KERAS_HUB_FIXED["layer_norm_epsilon"])}
    for name, (ours, theirs) in fixed.items():
        if ours != theirs:
            differences.append(f"the backbone's {name} is {ours!r}; keras-hub's BertBackbone "
                               f"always uses {theirs!r}")
    hub_backbone = keras_hub.models.BertBackbone(
        vocabulary_size=backbone.vocabulary_size, num_layers=backbone.num_layers,
        num_heads=backbone.num_heads, hidden_dim=backbone.hidden_dim,
        intermediate_dim=backbone.intermediate_dim, dropout=backbone.dropout,
        max_sequence_length=backbone.max_sequence_length, num_segments=backbone.num_segments,
        dtype=backbone.dtype_policy.name)
    hub_tokenizer = _to_keras_hub_tokenizer(tokenizer, differences)
    if task is None:
        return hub_backbone, hub_tokenizer, differences, left_out
    preprocessor = getattr(task, "preprocessor", None)
    if task.task_kind == "classifier":
        if task.is_regressor:
            raise NotImplementedError(
                "keras-hub's BertTextClassifier has no regression mode (its loss is a "
                "classification loss); export the backbone with "
                "task.backbone.export_to_keras_hub(...).")
        hub_preprocessor = None if hub_tokenizer is None else \
            keras_hub.models.BertTextClassifierPreprocessor(
                hub_tokenizer, sequence_length=preprocessor.sequence_length,
                truncate=preprocessor.truncate)
        model = keras_hub.models.BertTextClassifier(
            hub_backbone, num_classes=task.num_classes, preprocessor=hub_preprocessor,
            activation=task.activation, dropout=task.dropout)
        return model, hub_tokenizer, differences, left_out
    if task.task_kind == "pretrainer":
        head = task.mlm_head
        for name, ours, theirs in (
                ("activation", head.activation, KERAS_HUB_MLM_HEAD["mlm_activation"]),
                ("layer_norm_epsilon", head.layer_norm_epsilon,
                 KERAS_HUB_MLM_HEAD["mlm_layer_norm_epsilon"])):
            if ours != theirs:
                differences.append(f"the masked-LM head's {name} is {ours!r}; keras-hub's "
                                   f"BertMaskedLM always uses {theirs!r}")
        hub_preprocessor = None if hub_tokenizer is None else \
            keras_hub.models.BertMaskedLMPreprocessor(
                hub_tokenizer, sequence_length=preprocessor.sequence_length,
                truncate=preprocessor.truncate, mask_selection_rate=preprocessor.mask_rate,
                mask_selection_length=preprocessor.max_predictions_per_seq,
                mask_token_rate=preprocessor.mask_token_rate,
                random_token_rate=preprocessor.random_token_rate)
        left_out.append("keras-hub's BertMaskedLM has no next-sentence head: the preset holds "
                        "the backbone and the masked-LM head, not nsp_logits")
        model = keras_hub.models.BertMaskedLM(hub_backbone, preprocessor=hub_preprocessor)
        return model, hub_tokenizer, differences, left_out
    raise NotImplementedError(
        f"keras-hub has no BERT {task.task_kind} task; export the backbone with "
        "task.backbone.export_to_keras_hub(...).")


def _to_keras_hub_tokenizer(tokenizer, differences):
    """keras-hub's `BertTokenizer` with `tokenizer`'s vocabulary and flags."""
    import keras_hub

    if tokenizer is None:
        return None
    wrong = {k: getattr(tokenizer, k) for k, v in KERAS_HUB_SPECIAL_TOKENS.items()
             if getattr(tokenizer, k) != v}
    if wrong:
        raise ValueError(f"keras-hub's BertTokenizer has fixed special tokens "
                         f"{KERAS_HUB_SPECIAL_TOKENS}; this tokenizer uses {wrong}.")
    if not tokenizer.tokenize_chinese_chars:
        differences.append("the tokenizer keeps CJK characters together "
                           "(tokenize_chinese_chars=False); keras-hub's always splits them")
    strip_accents = tokenizer.lowercase if tokenizer.strip_accents is None \
        else bool(tokenizer.strip_accents)
    return keras_hub.models.BertTokenizer(
        vocabulary=tokenizer.get_vocabulary(), lowercase=tokenizer.lowercase,
        strip_accents=strip_accents, suffix_indicator=tokenizer.suffix_indicator,
        oov_token=tokenizer.unknown_token)


def keras_hub_outputs(model, hub_model, inputs):
    """The comparable outputs of a kerabert model and its keras-hub twin on
    packed `inputs` (token_ids, segment_ids, padding_mask[, masked_positions])."""
    import keras

    backbone_inputs = {k: inputs[k] for k in ("token_ids", "segment_ids", "padding_mask")}
    if getattr(model, "task_kind", None) == "pretrainer":
        ours = model({**backbone_inputs, "masked_positions": inputs["masked_positions"]})
        theirs = hub_model({**backbone_inputs, "mask_positions": inputs["masked_positions"]})
        return [ours["mlm_log_probs"]], [keras.ops.log_softmax(theirs, axis=-1)]
    if getattr(model, "task_kind", None) == "classifier":
        return [model(backbone_inputs)], [hub_model(backbone_inputs)]
    ours, theirs = model(backbone_inputs), hub_model(backbone_inputs)
    return ([ours["sequence_output"], ours["pooled_output"]],
            [theirs["sequence_output"], theirs["pooled_output"]])


def backbone_weights(backbone, checkpoint=None):
    return weights.backbone_weights(backbone.num_layers, backbone.num_heads, _garden(checkpoint))


def head_weights(task, checkpoint=None):
    return weights.head_weights(task.task_kind)


# --- registration ----------------------------------------------------------------------

registry.register_family(registry.Family(
    name="bert", title="BERT", checkpoints=sys.modules[__name__],
    backbone_cls=BertBackbone, tokenizer_cls=BertTokenizer,
    tasks={"classifier": BertClassifier, "question_answerer": BertQuestionAnswerer,
           "pretrainer": BertPretrainer},
    hf_model_types=("bert",), tf_config_files=(TF_CONFIG_FILE,),
    tokenizer_files=(VOCABULARY_FILE,), keras_hub_backbones=("BertBackbone",),
    keras_hub_tokenizers=("BertTokenizer",)))

# Built-in names. `params` is the exact parameter count of the backbone
# (embeddings, encoder and pooler, no task head), computed from the dimensions in
# each checkpoint's published config.json (vocabulary, layers, hidden and
# intermediate size, 512 positions, 2 segments); tests/presets/test_registry.py
# recomputes it.
registry.register_presets([
    Preset("bert_tiny_en_uncased", "google/bert_uncased_L-2_H-128_A-2", "bert", 4_385_920,
           "2-layer, 128-hidden, 2-head BERT, uncased English (Turc et al., 2019)."),
    Preset("bert_mini_en_uncased", "google/bert_uncased_L-4_H-256_A-4", "bert", 11_170_560,
           "4-layer, 256-hidden, 4-head BERT, uncased English (Turc et al., 2019)."),
    Preset("bert_small_en_uncased", "google/bert_uncased_L-4_H-512_A-8", "bert", 28_763_648,
           "4-layer, 512-hidden, 8-head BERT, uncased English (Turc et al., 2019)."),
    Preset("bert_medium_en_uncased", "google/bert_uncased_L-8_H-512_A-8", "bert", 41_373_184,
           "8-layer, 512-hidden, 8-head BERT, uncased English (Turc et al., 2019)."),
    Preset("bert_base_en_uncased", "google-bert/bert-base-uncased", "bert", 109_482_240,
           "12-layer, 768-hidden, 12-head BERT-Base, uncased English."),
    Preset("bert_base_en_cased", "google-bert/bert-base-cased", "bert", 108_310_272,
           "12-layer, 768-hidden, 12-head BERT-Base, cased English.",
           aliases=("bert_base_en",)),
    Preset("bert_large_en_uncased", "google-bert/bert-large-uncased", "bert", 335_141_888,
           "24-layer, 1024-hidden, 16-head BERT-Large, uncased English."),
    Preset("bert_large_en_cased", "google-bert/bert-large-cased", "bert", 333_579_264,
           "24-layer, 1024-hidden, 16-head BERT-Large, cased English.",
           aliases=("bert_large_en",)),
    Preset("bert_large_en_uncased_wwm", "google-bert/bert-large-uncased-whole-word-masking",
           "bert", 335_141_888, "BERT-Large, uncased English, pretrained with whole-word masking."),
    Preset("bert_large_en_cased_wwm", "google-bert/bert-large-cased-whole-word-masking", "bert",
           333_579_264, "BERT-Large, cased English, pretrained with whole-word masking."),
    Preset("bert_large_en_uncased_wwm_squad",
           "google-bert/bert-large-uncased-whole-word-masking-finetuned-squad", "bert",
           335_141_888, "BERT-Large uncased whole-word-masking fine-tuned on SQuAD v1.1 (with its "
           "question-answering head)."),
    Preset("bert_base_multi_cased", "google-bert/bert-base-multilingual-cased", "bert",
           177_853_440, "12-layer BERT-Base, cased, 104 languages.",
           aliases=("bert_base_multi",)),
    Preset("bert_base_zh", "google-bert/bert-base-chinese", "bert", 102_267_648,
           "12-layer BERT-Base, Chinese (simplified and traditional)."),
])
# keras-hub names its checkpoints of the same Google releases as kerabert does
# (bert_tiny_en_uncased, bert_base_zh, ...) or as the aliases above. Its other
# presets (fine-tuned ones, sentence-transformers) resolve to Kaggle.
