"""BERT in Hugging Face transformers folders: `BertModel` and the
`BertFor*` heads kerabert has tasks for, read and written (the export).

A folder holds `config.json` (`model_type: bert`), `vocab.txt`, the tokenizer's
files and the weights (see `HuggingFaceCheckpoint`). Inside a task checkpoint
the backbone's tensors start with "bert.". transformers' "gelu" is the exact
erf form (kerabert's "gelu"); its "gelu_new" is the tanh form.
"""

import os
import warnings

import numpy as np

from kerabert.checkpoints.bert import config as keys
from kerabert.checkpoints.bert import weights
from kerabert.layers import activations
from kerabert.presets import config_map
from kerabert.presets import files
from kerabert.presets import transformers_export
from kerabert.presets.errors import CheckpointMismatchError
from kerabert.presets.errors import caller_stacklevel
from kerabert.presets.formats import family_format
from kerabert.presets.formats import HUGGINGFACE
from kerabert.tasks import classifier as classifier_labels

# transformers architectures -> the kerabert task kind whose head they carry.
ARCHITECTURES = {
    "BertForSequenceClassification": "classifier",
    "BertForQuestionAnswering": "question_answerer",
    "BertForPreTraining": "pretrainer",
    "BertForMaskedLM": "pretrainer",
}
# ... and the one an export writes for each kind.
EXPORT_ARCHITECTURES = {"classifier": "BertForSequenceClassification",
                        "question_answerer": "BertForQuestionAnswering",
                        "pretrainer": "BertForPreTraining"}
# The tokenizer an export takes: its class, the vocabulary file it writes, and
# how messages name the model.
EXPORT_TOKENIZER = ("kerabert.tokenizers.bert_tokenizer:BertTokenizer", keys.VOCABULARY_FILE,
                    "a BERT model")
# Backbone tensors inside a transformers task checkpoint start with this.
BASE_PREFIX = weights.HF_BASE_PREFIX


layout = family_format.layout_of_format


describe = family_format.folder_description


def backbone_config(checkpoint):
    """`BertBackbone` keyword arguments from `config.json`."""
    config = checkpoint.config
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(
            "Only absolute position embeddings are supported, got "
            f"{config['position_embedding_type']!r}.")
    kwargs = config_map.read(keys.HF_CONFIG, config, f"{checkpoint.folder}/config.json")
    kwargs["activation"] = activations.from_spelling(config.get("hidden_act", "gelu"),
                                                     activations.HF_SPELLINGS, "hidden_act")
    return kwargs


def head_config(checkpoint, task_kind):
    """The settings of the `task_kind` head the folder's architecture has, or None."""
    kinds = {ARCHITECTURES.get(a) for a in checkpoint.config.get("architectures") or []}
    if task_kind not in kinds:
        return None
    if task_kind == "classifier":
        labels = checkpoint.config.get("id2label")
        return {"num_classes": len(labels) if labels else checkpoint.config.get("num_labels", 2),
                "label_names": classifier_labels.label_names_from_transformers(checkpoint.config)}
    return {}


preprocessor_config = family_format.no_preprocessor


def tokenizer(checkpoint, tokenizer_cls, **overrides):
    """A `BertTokenizer` with the folder's tokenizer flags: those of
    `tokenizer.json` (what the fast tokenizer uses) over those of
    `tokenizer_config.json`."""
    vocab = vocabulary_path(checkpoint)
    kwargs = _tokenizer_flags(checkpoint.tokenizer_settings())
    kwargs.update(overrides)
    return tokenizer_cls(vocabulary=vocab, **kwargs)


def vocabulary_path(checkpoint):
    vocab = os.path.join(checkpoint.folder, keys.VOCABULARY_FILE)
    if not os.path.isfile(vocab):
        raise FileNotFoundError(
            f"{checkpoint.folder} has no {keys.VOCABULARY_FILE}, which a BERT tokenizer needs.")
    return vocab


def _tokenizer_flags(settings):
    kwargs = {"lowercase": True, "strip_accents": None, "tokenize_chinese_chars": True,
              "max_input_chars_per_word": 100}
    config = settings.get("tokenizer_config", {})
    if "do_lower_case" in config:
        kwargs["lowercase"] = bool(config["do_lower_case"])
    for key in ("strip_accents", "tokenize_chinese_chars"):
        if key in config:
            kwargs[key] = config[key]
    for key, token_key in keys.SPECIAL_TOKENS.items():
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


def load_weights(checkpoint, reader, backbone, task=None):
    prefix = BASE_PREFIX if BASE_PREFIX + "embeddings.word_embeddings.weight" in reader else ""
    if task is not None and task.task_kind == "pretrainer":
        _check_tied_decoder(reader, task)
    weights.load(HUGGINGFACE, reader, backbone, task, prefix)


def _check_tied_decoder(reader, task):
    """Files that store the masked-LM decoder anyway must hold the embeddings."""
    if weights.HF_MLM_DECODER in reader:
        embeddings = np.asarray(task.backbone.token_embedding.embeddings.numpy())
        if not np.array_equal(np.asarray(reader.get(weights.HF_MLM_DECODER)), embeddings):
            raise CheckpointMismatchError(
                f"{reader.source}: {weights.HF_MLM_DECODER} differs from the word embeddings "
                "(an untied output layer); kerabert's masked-LM head ties them.")


backbone_weights = weights.weights_of_backbone


head_weights = weights.weights_of_head


# --- the export ----------------------------------------------------------------------

export = transformers_export.exporter(__name__)



def transformers_config(backbone, tokenizer):
    """The transformers `BertConfig` dict of a `BertBackbone`."""
    return {
        **config_map.write(keys.HF_CONFIG, backbone),
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
    """Config entries of a task's head (see `EXPORT_ARCHITECTURES`)."""
    if task.task_kind == "classifier":
        if task.activation == "softmax":
            warnings.warn("This BertClassifier outputs softmax probabilities; the exported "
                          "BertForSequenceClassification outputs the logits before the softmax.",
                          stacklevel=caller_stacklevel())
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
    vocabulary = tokenizer.get_vocabulary()
    with open(os.path.join(folder, keys.VOCABULARY_FILE), "w", encoding="utf-8") as f:
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


