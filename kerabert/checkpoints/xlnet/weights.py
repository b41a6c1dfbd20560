"""Every tensor name of the XLNet checkpoints kerabert reads and writes.

One table per model part (`backbone_weights`, `head_weights`), rows as in
`kerabert.presets.weight_map`. Formats:

  huggingface   transformers `XLNetModel` / `XLNetFor*` / `XLNetLMHeadModel`
                state dicts: Dense kernels stored (out, in), attention kernels in
                the reference's (H, N, D); the relative-attention biases are held
                per layer whatever `untie_r` says (transformers' TF loader copies a
                shared bias into every layer). Inside a task checkpoint the
                backbone's names start with "transformer.".
  tf1           the original XLNet releases (`model/transformer/...`) and the
                heads its fine-tuning scripts write. Every kernel is already in
                kerabert's layout (`tf.layers.dense` kernels (in, out), attention
                kernels (H, N, D)). The relative biases are (N, D) shared or
                (layers, N, D) with `untie_r`; `seg_embed` is one
                (layers, 2, N, D) variable. The sequence-summary scope is
                `model/sequnece_summary` [sic]: the reference's
                `summarize_sequence` misspells its default scope, so every
                classifier checkpoint it wrote carries that name. The
                classification head is `model/classification_<task>/logit` (or
                `regression_<task>`), the SQuAD head lives outside `model/`.
  keras_hub     keras-hub's `XLNetBackbone`, named by its Keras variable paths
                (`xlnet_encoder_N/rel_attn/query/kernel`): relative biases per
                layer, kernels in kerabert's layout.
"""

import re

import numpy as np

from kerabert.presets import weight_map
from kerabert.presets.errors import CheckpointMismatchError
from kerabert.presets.formats import HUGGINGFACE
from kerabert.presets.formats import KERAS_HUB
from kerabert.presets.formats import TF1
from kerabert.presets.weight_map import TF
from kerabert.presets.weight_map import TORCH
from kerabert.presets.weight_map import Tensor
from kerabert.presets.weight_map import dense
from kerabert.presets.weight_map import layer_norm
from kerabert.presets.weight_map import variable

CONVENTIONS = {HUGGINGFACE: TORCH, TF1: TF, KERAS_HUB: TF}

HF_BASE_PREFIX = "transformer."
PREFIX = "model/transformer/"
ANCHOR = PREFIX + "word_embedding/lookup_table"
SUMMARY = "model/sequnece_summary/summary"
# HF's LM output weights are the word embeddings, stored again in some files.
HF_LM_WEIGHT = "lm_loss.weight"
# The scopes of each kind of head, for telling heads the model does not have
# from unknown tensors. transformers' `qa_outputs` is XLNetForQuestionAnsweringSimple's.
HEAD_PREFIXES = {
    HUGGINGFACE: {"classifier": ("sequence_summary.", "logits_proj."),
                  "question_answerer": ("start_logits.", "end_logits.", "answer_class."),
                  "simple_question_answerer": ("qa_outputs.",),
                  "pretrainer": ("lm_loss.",)},
    TF1: {"classifier": ("model/sequnece_summary/", "model/classification_", "model/regression_"),
          "question_answerer": ("start_logits/", "end_logits/", "answer_class/"),
          "pretrainer": ("model/lm_loss/",)},
}
RELATIVE_BIASES = ("r_w_bias", "r_r_bias", "r_s_bias")
# `classification_loss` / `regression_loss` scopes: `<kind>_<task name>/logit`.
_TF1_LOGIT = re.compile(r"^model/((?:classification|regression)_[^/]+)/logit/kernel$")


def tf1_logit_scopes(names):
    """The `model/<classification|regression>_<task>/logit` scopes of a TF1
    checkpoint, sorted."""
    return sorted(f"model/{m.group(1)}/logit" for m in map(_TF1_LOGIT.match, names) if m)
TASK_KINDS = ("classifier", "question_answerer", "pretrainer")


def _tf1_relative_bias(name, num_layers, num_heads, head_dim, untie_r):
    """Load a TF1 relative bias: shared (N, D) or per layer (L, N, D). A shared
    one fills every layer of an `untie_r` backbone, as transformers' TF loader
    does; a per-layer one cannot become a shared one."""
    shared = (num_heads, head_dim)

    def load(value):
        if tuple(value.shape) == shared and untie_r:
            return np.broadcast_to(value, (num_layers, *shared))
        if tuple(value.shape) != shared and not untie_r:
            raise CheckpointMismatchError(
                f"{PREFIX + name} has shape {tuple(value.shape)}: one bias per layer (untie_r="
                f"True), but the backbone shares one ({shared}, untie_r=False). Set "
                "\"untie_r\": true in xlnet_config.json, or pass untie_r=True to from_preset.")
        return value

    return Tensor(PREFIX + name, load)


def _tf1_seg_embed(layer, num_layers):
    def load(value):
        if value.shape[:1] != (num_layers,):
            raise CheckpointMismatchError(
                f"{PREFIX}seg_embed has shape {tuple(value.shape)}, not one entry per layer "
                f"({num_layers}). Check that the config file belongs to these weights.")
        return value[layer]

    return Tensor(PREFIX + "seg_embed", load)


def backbone_weights(num_layers, num_heads, head_dim, untie_r):
    """The rows of an `XLNetBackbone` of this size."""
    def reshape_mask(name):
        return Tensor(name, lambda x: x.reshape(1, -1), lambda x: x.reshape(1, 1, -1))

    rows = [
        variable("token_embedding/embeddings", huggingface="word_embedding.weight", tf1=ANCHOR,
                 keras_hub="content_query_embedding/word_embedding/embeddings"),
        # Only pretraining graphs have the query stream's embedding.
        variable("mask_embedding/embeddings", huggingface=reshape_mask("mask_emb"),
                 tf1=Tensor(PREFIX + "mask_emb/mask_emb", lambda x: x.reshape(1, -1),
                            optional=True),
                 keras_hub=reshape_mask("encoder_block_attn_mask_layer/mask_emb")),
    ]
    # transformers and keras-hub keep the relative biases per layer: a shared
    # bias is written to each.
    def save(value, shared=not untie_r):
        return np.broadcast_to(value, (num_layers, *value.shape)) if shared else value

    hub_biases = {"r_w_bias": "content_attention_bias", "r_r_bias": "positional_attention_bias",
                  "r_s_bias": "segment_attention_bias"}
    for name in RELATIVE_BIASES:
        rows.append(variable(
            f"relative_bias/{name}",
            huggingface=Tensor(tuple(f"layer.{i}.rel_attn.{name}" for i in range(num_layers)),
                               save=save),
            tf1=_tf1_relative_bias(name, num_layers, num_heads, head_dim, untie_r),
            keras_hub=Tensor(tuple(f"xlnet_encoder_{i}/{hub_biases[name]}"
                                   for i in range(num_layers)), save=save)))
    hub_projections = {"q": "query", "k": "key", "v": "value", "o": "attention_output",
                       "r": "encoding"}
    for i in range(num_layers):
        keras_ = f"transformer_layer_{i}/"
        hf = f"layer.{i}."
        tf1 = f"{PREFIX}layer_{i}/"
        hub = f"xlnet_encoder_{i}/"
        for name in ("q", "k", "v", "o", "r"):
            rows.append(variable(keras_ + f"rel_attn/{name}", huggingface=hf + f"rel_attn.{name}",
                                 tf1=tf1 + f"rel_attn/{name}/kernel",
                                 keras_hub=hub + f"rel_attn/{hub_projections[name]}/kernel"))
        rows.append(variable(keras_ + "rel_attn/seg_embed", huggingface=hf + "rel_attn.seg_embed",
                             tf1=_tf1_seg_embed(i, num_layers), keras_hub=hub + "segment_encoding"))
        rows += layer_norm(keras_ + "rel_attn/layer_norm", CONVENTIONS,
                           huggingface=hf + "rel_attn.layer_norm", tf1=tf1 + "rel_attn/LayerNorm",
                           keras_hub=hub + "layer_norm_rel_attn")
        rows += dense(keras_ + "ff_layer_1", CONVENTIONS, huggingface=hf + "ff.layer_1",
                      tf1=tf1 + "ff/layer_1", keras_hub=hub + "feedforward_intermediate_dense")
        rows += dense(keras_ + "ff_layer_2", CONVENTIONS, huggingface=hf + "ff.layer_2",
                      tf1=tf1 + "ff/layer_2", keras_hub=hub + "feedforward_output_dense")
        rows += layer_norm(keras_ + "ff_layer_norm", CONVENTIONS, huggingface=hf + "ff.layer_norm",
                           tf1=tf1 + "ff/LayerNorm", keras_hub=hub + "layer_norm_ff")
    return rows


def head_weights(task_kind, tf1_logit_scope=None):
    """The rows of a task head: "classifier" (`XLNetClassifier`; the TF1
    checkpoint's `model/classification_<task>/logit` scope, found by
    `tf1_logit_scope`, names its logits), "question_answerer"
    (`XLNetQuestionAnswerer`), "pretrainer" (`XLNetPretrainer`)."""
    if task_kind == "classifier":
        return [*dense("sequence_summary", CONVENTIONS, huggingface="sequence_summary.summary",
                       tf1=SUMMARY),
                *dense("logits", CONVENTIONS, huggingface="logits_proj", tf1=tf1_logit_scope)]
    if task_kind == "question_answerer":
        head = "span_head/"
        return [
            *dense(head + "start_logits", CONVENTIONS, huggingface="start_logits.dense",
                   tf1="start_logits/dense"),
            *dense(head + "end_logits_dense_0", CONVENTIONS, huggingface="end_logits.dense_0",
                   tf1="end_logits/dense_0"),
            *layer_norm(head + "end_logits_layer_norm", CONVENTIONS,
                        huggingface="end_logits.LayerNorm", tf1="end_logits/LayerNorm"),
            *dense(head + "end_logits_dense_1", CONVENTIONS, huggingface="end_logits.dense_1",
                   tf1="end_logits/dense_1"),
            *dense(head + "answer_class_dense_0", CONVENTIONS,
                   huggingface="answer_class.dense_0", tf1="answer_class/dense_0"),
            *dense(head + "answer_class_dense_1", CONVENTIONS, bias=False,
                   huggingface="answer_class.dense_1", tf1="answer_class/dense_1"),
        ]
    if task_kind == "pretrainer":
        # The output weights are the word embeddings (tied), only the bias is own.
        return [variable("lm_loss/bias", huggingface="lm_loss.bias", tf1="model/lm_loss/bias")]
    raise ValueError(f"XLNet has no {task_kind!r} head.")


def load(layout, reader, backbone, task=None, prefix="", head_rows=None):
    """Reads the backbone (prefixed by `prefix` in the file) and `task`'s head
    (`head_rows`, default `head_weights(task.task_kind)`) from `reader`,
    tensors named in the `layout` column; marks the known tensors it does not
    load (heads of other kinds, the tied LM weights)."""
    weight_map.load(backbone, backbone_weights(backbone.num_layers, backbone.num_heads,
                                               backbone.head_dim, backbone.untie_r),
                    layout, reader, prefix)
    if task is not None:
        weight_map.load(task, head_rows or head_weights(task.task_kind), layout, reader)
    # Heads of other kinds are known, not loaded. Unknown tensors in the loaded
    # head's own scopes stay reported, e.g. an untied TF1 `model/lm_loss/weight`
    # (kerabert's LM head is tied to the embeddings).
    for kind, prefixes in HEAD_PREFIXES.get(layout, {}).items():
        if task is None or kind != task.task_kind:
            reader.mark_unused([n for n in reader.keys() if n.startswith(prefixes)],
                               f"the {kind} head, not part of this model")
    reader.mark_unused([HF_LM_WEIGHT], "tied to the word embeddings")


def check_per_layer_biases(checkpoint, backbone):
    """Formats with one set of relative biases per layer load only into
    `untie_r=True` backbones."""
    if not backbone.untie_r:
        raise ValueError(
            f"{checkpoint.describe()} holds one set of relative biases per layer; build the "
            "XLNetBackbone with untie_r=True to load it.")


def weights_of_backbone(backbone):
    """`backbone_weights` for a built backbone (no Model Garden layout)."""
    return backbone_weights(backbone.num_layers, backbone.num_heads, backbone.head_dim,
                            backbone.untie_r)


def weights_of_head(task):
    """`head_weights` of `task`'s kind."""
    return head_weights(task.task_kind)
