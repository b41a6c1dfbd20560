"""Every tensor name of the BERT checkpoints kerabert reads and writes.

One table per model part (`backbone_weights`, `head_weights`): each row is one
kerabert variable and its tensor in each format (see
`kerabert.presets.weight_map`). Loading any format and exporting to
transformers walk these rows. Formats:

  huggingface   transformers `BertModel` / `BertFor*` state dicts: torch layout
                (Dense kernels stored (out, in)); inside a task checkpoint the
                backbone's names start with "bert."
  tf1           google-research/bert releases (`bert/encoder/layer_N/...`) and the
                heads its scripts write (`run_classifier.py`: `output_*`,
                `run_squad.py`: `cls/squad/output_*`, `run_pretraining.py`:
                `cls/predictions/*`, `cls/seq_relationship/*`). `tf.layers.dense`
                kernels are (in, out), as Keras stores them; the fine-tuning heads'
                `output_weights` are (out, in), used as `matmul(x, w, transpose_b=True)`.
  keras_bert    TF Model Garden `TransformerEncoder` object checkpoints. Keras 2
                functional networks name their layers `layer_with_weights-K` (K
                counts only layers that own weights, in layer order: word, position
                and type embeddings, the embedding LayerNorm, the blocks, the
                pooler) and sublayers by the attribute holding them; attention
                kernels are `DenseEinsum`s: (H, N, D) for query/key/value, (N, D, H)
                for the output projection. Later releases moved the output
                projection into the attention layer (`_attention_layer/_output_dense`).
  tf_20         TF Model Garden 2019 `BertModel` (`backward_compatible=True`), name
                based (`bert_model/encoder/layer_N/...`): Dense3D kernels stored 2-D,
                (H, N*D) and (N*D, H).
  keras_hub     keras-hub's `BertBackbone`, `BertTextClassifier` and `BertMaskedLM`,
                named by their Keras variable paths
                (`transformer_layer_N/self_attention_layer/query/kernel`); attention
                kernels are `EinsumDense`s: (H, N, D) for query/key/value, (N, D, H)
                for the output projection.
  tf_20_object  the same model in an object-based checkpoint
                (`<root>/encoder/layer{N}/attention_layer/...`): the `Transformer`
                keeps its blocks in a list *and* as attributes `layer0`, ...; a
                checkpoint names each object by its first path in breadth-first
                order, `encoder/layer{N}` (`encoder/layers/{N}` is accepted too).

The Model Garden layouts are not in the reference code, which ships no
converter: the `layer_with_weights-K` numbering follows Keras 2's
`Network._layer_checkpoint_dependencies` and the encoder's layer order, and
matches the keras_bert -> keras-nlp conversion scripts published for the later
releases; the attribute names are the reference layers' (`_attention_layer`,
`_query_dense`, `embedding_lookup`, `embedding_postprocessor`, ...).

Model Garden checkpoints hold the encoder under some `<root>` ("model/" in the
fine-tuning colab, "encoder/" in later releases, "" for `save_weights`,
deeper inside a classifier or pretrainer); `model_garden_layout` finds it.
"""

import dataclasses
import re
import warnings

from kerabert.presets import weight_map
from kerabert.presets.errors import caller_stacklevel
from kerabert.presets.formats import HUGGINGFACE
from kerabert.presets.formats import KERAS_HUB
from kerabert.presets.formats import TF1
from kerabert.presets.weight_map import TF
from kerabert.presets.weight_map import TORCH
from kerabert.presets.weight_map import Tensor
from kerabert.presets.weight_map import dense
from kerabert.presets.weight_map import layer_norm
from kerabert.presets.weight_map import transpose
from kerabert.presets.weight_map import variable

KERAS_BERT = "keras_bert"
TF20 = "tf_20"
TF20_OBJECT = "tf_20_object"
MODEL_GARDEN = (KERAS_BERT, TF20, TF20_OBJECT)

# The prefix of backbone tensors inside transformers task checkpoints.
HF_BASE_PREFIX = "bert."
# Model Garden object checkpoints end every variable name with this.
VALUE = "/.ATTRIBUTES/VARIABLE_VALUE"

CONVENTIONS = {HUGGINGFACE: TORCH, TF1: TF, KERAS_BERT: TF, TF20: TF, TF20_OBJECT: TF,
               KERAS_HUB: TF}


# --- Model Garden layouts -------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ModelGarden:
    """Where a Model Garden checkpoint keeps its encoder.

    `kind`: a Model Garden format name. `root`: the scope holding the encoder.
    `first_block`: keras_bert's K of the first transformer block.
    `output_projection`: keras_bert's attribute name of the attention output
    layer. `block_scope`: tf_20_object's "layer{}" or "layers/{}".
    """

    kind: str
    root: str
    first_block: int = 4
    output_projection: str = "_attention_output_dense"
    block_scope: str = "layer{}"


_KERAS_BERT_BLOCK = re.compile(r"^(.*)layer_with_weights-(\d+)/_attention_layer/_query_dense/kernel"
                               + re.escape(VALUE) + "$")
_TF20_OBJECT_WORD = re.compile(r"^(.*)embedding_lookup/embeddings" + re.escape(VALUE) + "$")
_TF20_NAMES_WORD = re.compile(r"^(.*)word_embeddings/embeddings$")


def model_garden_layout(names):
    """The `ModelGarden` layout of a checkpoint's variable names, or None."""
    names = set(names)
    found = {}
    for name in names:
        for kind, pattern in ((KERAS_BERT, _KERAS_BERT_BLOCK), (TF20_OBJECT, _TF20_OBJECT_WORD)):
            match = pattern.match(name)
            if match:
                found.setdefault(kind, set()).add(match.group(1))
        match = _TF20_NAMES_WORD.match(name)
        if match and (match.group(1) + "embedding_postprocessor/type_embeddings") in names:
            found.setdefault(TF20, set()).add(match.group(1))
    if not found:
        return None
    if len(found) > 1 or len(next(iter(found.values()))) > 1:
        raise ValueError(
            "The checkpoint holds several BERT encoders "
            f"({ {k: sorted(v) for k, v in found.items()} }); kerabert cannot tell "
            "which one to load.")
    kind, roots = next(iter(found.items()))
    root = next(iter(roots))
    if kind == KERAS_BERT:
        blocks = sorted(int(m.group(2)) for m in map(_KERAS_BERT_BLOCK.match, names)
                        if m and m.group(1) == root)
        later = (f"{root}layer_with_weights-{blocks[0]}/_attention_layer/_output_dense/kernel"
                 + VALUE)
        return ModelGarden(kind, root, first_block=blocks[0], output_projection=(
            "_attention_layer/_output_dense" if later in names else "_attention_output_dense"))
    if kind == TF20_OBJECT:
        listed = f"{root}encoder/layers/0/attention_layer/query_dense/kernel" + VALUE
        return ModelGarden(kind, root, block_scope="layers/{}" if listed in names else "layer{}")
    return ModelGarden(kind, root)


def keras_bert_blocks(names, garden):
    """keras_bert's K of every transformer block, in order."""
    return sorted(int(m.group(2)) for m in map(_KERAS_BERT_BLOCK.match, names)
                  if m and m.group(1) == garden.root)


# Model Garden attention kernels -> the (in, out) matrices of kerabert's Dense layers.
def _heads_in(x):  # (H, N, D) or (H, N*D) -> (H, N*D)
    return x.reshape(x.shape[0], -1)


def _heads_out(x):  # (N, D, H) or (N*D, H) -> (N*D, H)
    return x.reshape(-1, x.shape[-1])


def _flat(x):  # (N, D) or (N*D,) -> (N*D,)
    return x.reshape(-1)


def _einsum(num_heads, output=False):
    """keras-hub's per-head `EinsumDense` parameters <-> kerabert's (in, out)
    Dense ones: {parameter: (load, save)}."""
    if output:
        return {"kernel": (_heads_out, lambda x: x.reshape(num_heads, -1, x.shape[-1]))}
    return {"kernel": (_heads_in, lambda x: x.reshape(x.shape[0], num_heads, -1)),
            "bias": (_flat, lambda x: x.reshape(num_heads, -1))}


def _keras_hub(scope, transforms=None, params=("kernel", "bias")):
    """The keras-hub column of one layer: {parameter: Tensor}."""
    transforms = transforms or {}
    return {p: Tensor(f"{scope}/{p}", *transforms.get(p, (None, None))) for p in params}


def _garden(garden, keras_bert=None, tf_20=None, tf_20_object=None, params=("kernel", "bias"),
            load=None):
    """The Model Garden columns of one layer: {format: {parameter: Tensor}}."""
    if garden is None:
        return {}
    scope = {KERAS_BERT: keras_bert, TF20: tf_20, TF20_OBJECT: tf_20_object}[garden.kind]
    suffix = "" if garden.kind == TF20 else VALUE
    load = load or {}
    return {garden.kind: {p: Tensor(f"{garden.root}{scope}/{p}{suffix}", load.get(p))
                          for p in params}}


# --- backbone ----------------------------------------------------------------------

def backbone_weights(num_layers, num_heads, garden=None):
    """The rows of a `BertBackbone` with `num_layers` blocks of `num_heads`
    heads. `garden`: the `ModelGarden` layout when reading one (its names
    depend on the file)."""
    g = garden
    v = "" if g is None or g.kind == TF20 else VALUE
    root = g.root if g else ""
    e = g.first_block - 4 if g else 0  # keras_bert's K of the word embeddings

    def garden_names(keras_bert, tf_20, tf_20_object):
        if g is None:
            return {}
        name = {KERAS_BERT: keras_bert, TF20: tf_20, TF20_OBJECT: tf_20_object}[g.kind]
        return {g.kind: root + name + v}

    rows = [
        variable("token_embedding/embeddings", keras_hub="token_embedding/embeddings",
                 huggingface="embeddings.word_embeddings.weight",
                 tf1="bert/embeddings/word_embeddings",
                 **garden_names(f"layer_with_weights-{e}/embeddings", "word_embeddings/embeddings",
                                "embedding_lookup/embeddings")),
        variable("position_embedding/embeddings", keras_hub="position_embedding/embeddings",
                 huggingface="embeddings.position_embeddings.weight",
                 tf1="bert/embeddings/position_embeddings",
                 **garden_names(f"layer_with_weights-{e + 1}/embeddings",
                                "embedding_postprocessor/position_embeddings",
                                "embedding_postprocessor/position_embeddings")),
        variable("segment_embedding/embeddings", keras_hub="segment_embedding/embeddings",
                 huggingface="embeddings.token_type_embeddings.weight",
                 tf1="bert/embeddings/token_type_embeddings",
                 **garden_names(f"layer_with_weights-{e + 2}/embeddings",
                                "embedding_postprocessor/type_embeddings",
                                "embedding_postprocessor/type_embeddings")),
        *layer_norm("embeddings_layer_norm", CONVENTIONS, keras_hub="embeddings_layer_norm",
                    huggingface="embeddings.LayerNorm", tf1="bert/embeddings/LayerNorm",
                    **_garden(g, f"layer_with_weights-{e + 3}",
                              "embedding_postprocessor/layer_norm",
                              "embedding_postprocessor/output_layer_norm", ("gamma", "beta"))),
    ]
    heads_in = {"kernel": _heads_in, "bias": _flat}
    for i in range(num_layers):
        keras_ = f"transformer_layer_{i}/"
        hf = f"encoder.layer.{i}."
        tf1 = f"bert/encoder/layer_{i}/"
        kb = f"layer_with_weights-{g.first_block + i}/" if g else ""
        t20 = f"encoder/layer_{i}/"
        t20o = f"encoder/{g.block_scope.format(i)}/" if g else ""
        hub = f"transformer_layer_{i}/"
        for part in ("query", "key", "value"):
            rows += dense(keras_ + f"self_attention/{part}", CONVENTIONS,
                          keras_hub=_keras_hub(hub + f"self_attention_layer/{part}",
                                               _einsum(num_heads)),
                          huggingface=hf + f"attention.self.{part}",
                          tf1=tf1 + f"attention/self/{part}",
                          **_garden(g, kb + f"_attention_layer/_{part}_dense",
                                    t20 + f"self_attention/{part}",
                                    t20o + f"attention_layer/{part}_dense", load=heads_in))
        rows += dense(keras_ + "self_attention/attention_output", CONVENTIONS,
                      keras_hub=_keras_hub(hub + "self_attention_layer/attention_output",
                                           _einsum(num_heads, output=True)),
                      huggingface=hf + "attention.output.dense", tf1=tf1 + "attention/output/dense",
                      **_garden(g, kb + (g.output_projection if g else ""),
                                t20 + "self_attention_output", t20o + "attention_output_dense",
                                load={"kernel": _heads_out}))
        rows += layer_norm(keras_ + "self_attention_layer_norm", CONVENTIONS,
                           keras_hub=hub + "self_attention_layer_norm",
                           huggingface=hf + "attention.output.LayerNorm",
                           tf1=tf1 + "attention/output/LayerNorm",
                           **_garden(g, kb + "_attention_layer_norm",
                                     t20 + "self_attention_layer_norm",
                                     t20o + "attention_layer_norm", ("gamma", "beta")))
        rows += dense(keras_ + "intermediate_dense", CONVENTIONS,
                      keras_hub=hub + "feedforward_intermediate_dense",
                      huggingface=hf + "intermediate.dense", tf1=tf1 + "intermediate/dense",
                      **_garden(g, kb + "_intermediate_dense", t20 + "intermediate",
                                t20o + "intermediate_dense"))
        rows += dense(keras_ + "output_dense", CONVENTIONS,
                      keras_hub=hub + "feedforward_output_dense", huggingface=hf + "output.dense",
                      tf1=tf1 + "output/dense",
                      **_garden(g, kb + "_output_dense", t20 + "output", t20o + "output_dense"))
        rows += layer_norm(keras_ + "output_layer_norm", CONVENTIONS,
                           keras_hub=hub + "feedforward_layer_norm",
                           huggingface=hf + "output.LayerNorm", tf1=tf1 + "output/LayerNorm",
                           **_garden(g, kb + "_output_layer_norm", t20 + "output_layer_norm",
                                     t20o + "output_layer_norm", ("gamma", "beta")))
    # transformers saves no pooler for BertForQuestionAnswering / BertForMaskedLM:
    # the layer then keeps its initialisation, as transformers' own does.
    rows += dense("pooled_dense", CONVENTIONS, keras_hub="pooled_dense",
                  huggingface={"kernel": Tensor("pooler.dense.weight", transpose, transpose,
                                                optional=True),
                               "bias": Tensor("pooler.dense.bias", optional=True)},
                  tf1="bert/pooler/dense",
                  **_garden(g, f"layer_with_weights-{g.first_block + num_layers}" if g else "",
                            "pooler_transform", "pooler_transform"))
    return rows


# --- heads ---------------------------------------------------------------------------

# Tied copies transformers may store beside the masked-LM head: the decoder is
# the word embeddings (checked equal on loading) and its bias `cls.predictions.bias`.
HF_MLM_DECODER = "cls.predictions.decoder.weight"
HF_MLM_DECODER_BIAS = "cls.predictions.decoder.bias"


def head_weights(task_kind):
    """The rows of a task head: "classifier" (`BertClassifier`),
    "question_answerer" (`BertQuestionAnswerer`), "pretrainer" (`BertPretrainer`)."""
    if task_kind == "classifier":
        return dense("logits", CONVENTIONS, keras_hub="logits", huggingface="classifier",
                     tf1={"kernel": Tensor("output_weights", transpose, transpose),
                          "bias": "output_bias"})
    if task_kind == "question_answerer":
        return dense("span_logits", CONVENTIONS, huggingface="qa_outputs",
                     tf1={"kernel": Tensor("cls/squad/output_weights", transpose, transpose),
                          "bias": "cls/squad/output_bias"})
    if task_kind == "pretrainer":
        # BertForMaskedLM has no next-sentence head: the task keeps a fresh one.
        return [
            *dense("mlm_head/mlm_dense", CONVENTIONS, huggingface="cls.predictions.transform.dense",
                   tf1="cls/predictions/transform/dense", keras_hub="mlm_head/intermediate_dense"),
            *layer_norm("mlm_head/mlm_layer_norm", CONVENTIONS,
                        huggingface="cls.predictions.transform.LayerNorm",
                        tf1="cls/predictions/transform/LayerNorm",
                        keras_hub="mlm_head/intermediate_layer_norm"),
            variable("mlm_head/mlm_output_bias", huggingface="cls.predictions.bias",
                     tf1="cls/predictions/output_bias", keras_hub="mlm_head/output_bias"),
            *dense("nsp_logits", CONVENTIONS,
                   huggingface={"kernel": Tensor("cls.seq_relationship.weight", transpose,
                                                 transpose, optional=True),
                                "bias": Tensor("cls.seq_relationship.bias", optional=True)},
                   tf1={"kernel": Tensor("cls/seq_relationship/output_weights", transpose,
                                         transpose, optional=True),
                        "bias": Tensor("cls/seq_relationship/output_bias", optional=True)}),
        ]
    raise ValueError(f"BERT has no {task_kind!r} head.")


TASK_KINDS = ("classifier", "question_answerer", "pretrainer")


def load(layout, reader, backbone, task=None, prefix="", garden=None):
    """Reads the backbone (prefixed by `prefix` in the file) and `task`'s head
    from `reader`, tensors named in the `layout` column; marks the known
    tensors it does not load (other heads, the tied masked-LM decoder)."""
    absent = weight_map.load(backbone, backbone_weights(backbone.num_layers, backbone.num_heads,
                                                        garden), layout, reader, prefix)
    pooler_used = task is None or "pooled_dense" not in task.unused_weights
    if pooler_used and any(path.startswith("pooled_dense/") for path in absent):
        warnings.warn(f"{reader.source} has no pooler weights; the backbone's pooled_dense layer "
                      "keeps its random initialisation.", stacklevel=caller_stacklevel())
    if task is not None:
        weight_map.load(task, head_weights(task.task_kind), layout, reader)
    for kind in TASK_KINDS:
        reader.mark_unused(weight_map.names(head_weights(kind), layout),
                           f"the {kind} head, not part of this model")
    reader.mark_unused([HF_MLM_DECODER, HF_MLM_DECODER_BIAS],
                       "tied to the word embeddings and the masked-LM bias")


def weights_of_backbone(backbone):
    """`backbone_weights` for a built backbone (no Model Garden layout)."""
    return backbone_weights(backbone.num_layers, backbone.num_heads)


def weights_of_head(task):
    """`head_weights` of `task`'s kind."""
    return head_weights(task.task_kind)
