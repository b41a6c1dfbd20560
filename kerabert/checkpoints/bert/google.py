"""BERT in Google's TensorFlow checkpoints: the original TF1 releases
(google-research/bert) and TF Model Garden's TF2 checkpoints (2019-2020), both
with a `bert_config.json` (see `TFCheckpoint` and the layouts in `weights.py`).

Conventions of these formats:
- `hidden_act: "gelu"` there is the reference's tanh approximation of GELU,
  i.e. kerabert's "gelu_approximate" (transformers spells it "gelu_new"; its
  "gelu" is the exact erf form).
- LayerNorm epsilon is 1e-12 (fixed in the reference code, not in the config),
  and a missing `type_vocab_size` means the reference default, 16.
- The tokenizer's casing is stored nowhere in the folder: it is inferred from the
  folder name as the reference's `validate_case_matches_checkpoint` does (see
  `infer_lowercase`); `from_preset(..., lowercase=...)` overrides it.
- Only the TF1 fine-tuning and pretraining heads are converted; Model Garden
  heads are left unused.
"""

import os

from kerabert.checkpoints.bert import config as keys
from kerabert.checkpoints.bert import huggingface
from kerabert.checkpoints.bert import weights
from kerabert.layers import activations
from kerabert.presets import config_map
from kerabert.presets.errors import CheckpointMismatchError
from kerabert.presets.formats import family_format
from kerabert.presets.formats import TF1

TF_DESCRIPTION = ("original Google BERT checkpoints (bert/encoder/layer_N/...) and TF Model "
                  "Garden BERT checkpoints of the keras_bert and tf_20 layouts")
DESCRIPTIONS = {
    TF1: "original Google TF1 BERT checkpoint",
    weights.KERAS_BERT: "TF Model Garden keras_bert (TransformerEncoder) object checkpoint",
    weights.TF20_OBJECT: "TF Model Garden tf_20 (BertModel) object checkpoint",
    weights.TF20: "TF Model Garden tf_20 (BertModel) checkpoint",
}

# The reference's casing lists (`tokenization.validate_case_matches_checkpoint`).
LOWERCASE_MODELS = ("uncased_L-24_H-1024_A-16", "uncased_L-12_H-768_A-12",
                    "multilingual_L-12_H-768_A-12", "chinese_L-12_H-768_A-12")
CASED_MODELS = ("cased_L-12_H-768_A-12", "cased_L-24_H-1024_A-16",
                "multi_cased_L-12_H-768_A-12")


def claims_tf_config(config):
    """Whether a TF checkpoint's config is a reference `BertConfig`."""
    return any(field in config for field in keys.REQUIRED_FIELDS)


def tf_layout(names):
    """The layout of a TF checkpoint's variable names ("tf1" or a Model
    Garden layout), or None when they are not BERT's."""
    if "bert/embeddings/word_embeddings" in names:
        return TF1
    garden = weights.model_garden_layout(names)
    return garden.kind if garden else None


def layout(checkpoint):
    return tf_layout(checkpoint.tensor_names()) if checkpoint.prefix else TF1


def describe(checkpoint):
    return DESCRIPTIONS[layout(checkpoint)]


def _garden(checkpoint):
    return weights.model_garden_layout(checkpoint.tensor_names()) if checkpoint.prefix else None


def backbone_config(checkpoint):
    """`BertBackbone` keyword arguments from `bert_config.json`."""
    config = checkpoint.config
    kwargs = config_map.read(keys.TF_CONFIG, config, f"The BERT config ({keys.TF_CONFIG_FILE})")
    kwargs["layer_norm_epsilon"] = 1e-12
    kwargs["activation"] = activations.from_spelling(config.get("hidden_act", "gelu"),
                                                     activations.TF1_SPELLINGS, "hidden_act")
    return kwargs


def head_config(checkpoint, task_kind):
    """The settings of the TF1 script head of `task_kind` in the checkpoint, or None."""
    if layout(checkpoint) != TF1 or task_kind not in weights.TASK_KINDS:
        return None  # Model Garden heads are not converted
    shapes = checkpoint.shapes()
    rows = weights.head_weights(task_kind)
    required = [w.tensor(TF1) for w in rows if not w.tensor(TF1).optional]
    if not all(t.name in shapes for t in required):
        return None
    if task_kind == "classifier":
        return {"num_classes": int(shapes[rows[0].tensor(TF1).name][0])}  # (out, in)
    return {}


preprocessor_config = family_format.no_preprocessor


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
    """The reference `FullTokenizer`'s flags: casing from `infer_lowercase`,
    accents stripped when lower-casing (the reference ties the two), words of
    more than 200 characters become [UNK] (the reference limit, which
    transformers lowers to 100)."""
    vocab = huggingface.vocabulary_path(checkpoint)
    try:
        config = checkpoint.config
    except (FileNotFoundError, ValueError):
        config = None  # casing then comes from the folder name alone
    kwargs = {"lowercase": infer_lowercase(checkpoint.folder, config), "strip_accents": None,
              "tokenize_chinese_chars": True, "max_input_chars_per_word": 200}
    kwargs.update(overrides)
    return tokenizer_cls(vocabulary=vocab, **kwargs)


def load_weights(checkpoint, reader, backbone, task=None):
    garden = _garden(checkpoint)
    if garden is not None and garden.kind == weights.KERAS_BERT:
        _check_keras_bert_blocks(reader, garden, backbone.num_layers)
    weights.load(layout(checkpoint), reader, backbone, task, garden=garden)
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


def export(backbone, task, tokenizer, folder, **options):
    raise NotImplementedError(
        "kerabert reads Google's TensorFlow BERT checkpoints but does not write them: save a "
        "kerabert preset (save_to_preset), or export to transformers or keras-hub.")
