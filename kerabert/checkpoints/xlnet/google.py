"""XLNet in the original TF1 releases (zihangdai/xlnet), e.g.
`xlnet_cased_L-24_H-1024_A-16/`: `xlnet_config.json` (`n_layer, d_model,
n_head, d_head, d_inner, ff_activation, untie_r, n_token`), `spiece.model` and
`xlnet_model.ckpt.*`, tensors named `model/transformer/...`.

Conventions of this format:
- `ff_activation: "gelu"` is the reference's tanh approximation, kerabert's
  "gelu_approximate" (transformers: "gelu_new"); the default is relu.
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
- The fine-tuning scripts' heads load: `model/sequnece_summary/summary` [sic] +
  `model/classification_<task>/logit`, SQuAD's `start_logits` / `end_logits` /
  `answer_class`, and `model/lm_loss/bias`.
"""

from kerabert.checkpoints.xlnet import config as keys
from kerabert.checkpoints.xlnet import huggingface
from kerabert.checkpoints.xlnet import weights
from kerabert.layers import activations
from kerabert.presets import config_map
from kerabert.presets.formats import family_format
from kerabert.presets.formats import TF1

TF_DESCRIPTION = "original XLNet checkpoints (model/transformer/layer_N/...)"
DESCRIPTIONS = {TF1: "original TF1 XLNet checkpoint"}


def claims_tf_config(config):
    """Whether a TF checkpoint's config is a reference `XLNetConfig`."""
    return "n_layer" in config and "d_model" in config


def tf_layout(names):
    return TF1 if weights.ANCHOR in names else None


def layout(checkpoint):
    return TF1


def describe(checkpoint):
    return DESCRIPTIONS[TF1]


def backbone_config(checkpoint):
    """`XLNetBackbone` keyword arguments from `xlnet_config.json` and the
    reference's run-flag defaults."""
    config = checkpoint.config
    kwargs = {**config_map.read(keys.TF_CONFIG, config,
                                f"The XLNet config ({keys.TF_CONFIG_FILE})"),
              **keys.TF_FIXED}
    kwargs["untie_r"] = bool(kwargs["untie_r"])
    kwargs["head_dim"] = kwargs["head_dim"] or kwargs["hidden_dim"] // kwargs["num_heads"]
    # The reference `transformer_xl` knows gelu and relu, relu by default.
    spellings = {k: v for k, v in activations.TF1_SPELLINGS.items() if k in ("gelu", "relu")}
    kwargs["activation"] = activations.from_spelling(
        config.get("ff_activation", "relu"), spellings, "ff_activation")
    return kwargs


def head_config(checkpoint, task_kind):
    """The settings of the fine-tuning script head of `task_kind`, or None."""
    shapes = checkpoint.shapes()
    if task_kind == "classifier":
        scope = _logit_scope(shapes, checkpoint.folder)
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
        present = all(name in shapes for w in rows for name in w.tensor(TF1).names())
        return {} if present else None
    return None


def _logit_scope(names, folder):
    """The one classification / regression scope of the checkpoint, or None."""
    scopes = weights.tf1_logit_scopes(names)
    if len(scopes) > 1:
        raise ValueError(
            f"{folder} holds several classification heads ({scopes}); kerabert loads one. "
            "Load the backbone with ignore_unused_weights=True and build a new head.")
    return scopes[0] if scopes else None


preprocessor_config = family_format.no_preprocessor


def tokenizer(checkpoint, tokenizer_cls, **overrides):
    """An `XLNetTokenizer` over `spiece.model` with the reference's defaults:
    cased, spaces collapsed, accents stripped."""
    kwargs = {"lowercase": False, "remove_space": True, "keep_accents": False, **overrides}
    return tokenizer_cls(proto=huggingface.proto_path(checkpoint), **kwargs)


def load_weights(checkpoint, reader, backbone, task=None):
    weights.load(TF1, reader, backbone, task,
                 head_rows=None if task is None else head_weights(task, checkpoint))


def head_weights(task, checkpoint):
    scope = None
    if task.task_kind == "classifier":
        scope = _logit_scope(checkpoint.tensor_names(), checkpoint.folder)
    return weights.head_weights(task.task_kind, tf1_logit_scope=scope)


def export(backbone, task, tokenizer, folder, **options):
    raise NotImplementedError(
        "kerabert reads the original TF1 XLNet checkpoints but does not write them: save a "
        "kerabert preset (save_to_preset), or export to transformers or keras-hub.")
