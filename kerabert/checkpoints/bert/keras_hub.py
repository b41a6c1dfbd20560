"""BERT in keras-hub (keras-nlp) preset folders: `BertBackbone`,
`BertTextClassifier` and `BertMaskedLM` with their tokenizer and
preprocessors, read and written (the export builds keras-hub's own models and
lets keras-hub save them).

keras-hub's BERT has no activation or epsilon option: the encoder always uses
the tanh GELU and LayerNorm epsilon 1e-12, its masked-LM head the exact GELU
and epsilon 1e-5. Its tokenizer lower-cases with Unicode case folding and keeps
accents unless `strip_accents` is set.
"""

import os

from kerabert.checkpoints.bert import config as keys
from kerabert.checkpoints.bert import weights
from kerabert.presets import config_map
from kerabert.presets import keras_hub_export
from kerabert.presets.formats import family_format
from kerabert.presets.formats import KERAS_HUB

# keras-hub task classes -> kerabert task kinds.
TASKS = {"BertTextClassifier": "classifier", "BertMaskedLM": "pretrainer"}
SPECIAL_TOKENS = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                  "mask_token": "[MASK]"}


layout = family_format.layout_of_format


describe = family_format.folder_description


def backbone_config(checkpoint):
    """`BertBackbone` keyword arguments from keras-hub's backbone config."""
    return {**config_map.read(keys.KERAS_HUB_CONFIG, checkpoint.config,
                              f"{checkpoint.folder}/config.json"),
            **keys.KERAS_HUB_FIXED}


def head_config(checkpoint, task_kind):
    """The settings of a task preset's head of `task_kind`, or None."""
    task = checkpoint.task_config()
    if task is None or TASKS.get(task[0]) != task_kind:
        return None
    if task_kind == "classifier":
        activation = _activation(task[1].get("activation"))
        return {"num_classes": task[1]["num_classes"], "dropout": task[1].get("dropout", 0.1),
                **({"activation": activation} if activation else {})}
    return dict(keys.KERAS_HUB_MLM_HEAD)


def _activation(spec):
    """A keras-hub classifier's serialized `activation` -> None or "softmax"."""
    name = spec.get("config", spec.get("class_name")) if isinstance(spec, dict) else spec
    if name in (None, "linear"):
        return None
    if name == "softmax":
        return "softmax"
    raise ValueError(f"The keras-hub classifier's activation {spec!r} has no kerabert "
                     "equivalent (kerabert classifiers output logits or softmax).")


def preprocessor_config(checkpoint):
    """(kerabert preprocessor class, config) of the preset's saved
    preprocessor: its sequence length, truncation and masking carry over."""
    from kerabert.tasks.bert_classifier import BertClassifier
    from kerabert.tasks.bert_pretrainer import BertPretrainer

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


def tokenizer(checkpoint, tokenizer_cls, **overrides):
    """keras-hub's `BertTokenizer` flags. keras-hub lower-cases without
    stripping accents unless `strip_accents` says so, which is what its
    uncased presets do; the reference and transformers strip accents whenever
    they lower-case. kerabert follows the preset (its outputs then equal
    keras-hub's); `from_preset(..., strip_accents=None)` gives the
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


def load_weights(checkpoint, reader, backbone, task=None):
    weights.load(KERAS_HUB, reader, backbone, task)


backbone_weights = weights.weights_of_backbone


head_weights = weights.weights_of_head


# --- the export ----------------------------------------------------------------------

export = keras_hub_export.exporter(__name__)


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
    fixed = {"activation": (backbone.activation, keys.KERAS_HUB_FIXED["activation"]),
             "layer_norm_epsilon": (backbone.layer_norm_epsilon,
                                    keys.KERAS_HUB_FIXED["layer_norm_epsilon"])}
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
                ("activation", head.activation, keys.KERAS_HUB_MLM_HEAD["mlm_activation"]),
                ("layer_norm_epsilon", head.layer_norm_epsilon,
                 keys.KERAS_HUB_MLM_HEAD["mlm_layer_norm_epsilon"])):
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
    wrong = {k: getattr(tokenizer, k) for k, v in SPECIAL_TOKENS.items()
             if getattr(tokenizer, k) != v}
    if wrong:
        raise ValueError(f"keras-hub's BertTokenizer has fixed special tokens "
                         f"{SPECIAL_TOKENS}; this tokenizer uses {wrong}.")
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
