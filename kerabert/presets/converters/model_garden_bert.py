"""TF Model Garden TF2 BERT checkpoints of the seeds' era <-> kerabert BERT.

Model Garden released BERT as folders with the Google `bert_config.json` and
`vocab.txt` (read by `google_bert.convert_backbone_config` / `convert_tokenizer`)
and a TF2 checkpoint in one of two layouts (SEED_NOTES §1.2-1.4, §11.5, §15.13):

keras_bert (`official/nlp/modeling` TransformerEncoder, object-based). Keras 2
functional networks name their layers in the object graph `layer_with_weights-K`
(K counts only layers that own weights, in the network's layer order), sublayers by
the attribute that holds them, and every variable ends in `/.ATTRIBUTES/VARIABLE_VALUE`:

    <root>/layer_with_weights-0/embeddings                  word_embeddings   (V, H)
    <root>/layer_with_weights-1/embeddings                  position_embedding (P, H)
    <root>/layer_with_weights-2/embeddings                  type_embeddings   (T, H)
    <root>/layer_with_weights-3/{gamma,beta}                embeddings/layer_norm
    <root>/layer_with_weights-(4+i)/                        transformer/layer_i
        _attention_layer/_{query,key,value}_dense/kernel    (H, N, D)  bias (N, D)
        _attention_output_dense/kernel                      (N, D, H)  bias (H,)
        _attention_layer_norm/{gamma,beta}
        _intermediate_dense/{kernel,bias}                   (H, I)
        _output_dense/{kernel,bias}                         (I, H)
        _output_layer_norm/{gamma,beta}
    <root>/layer_with_weights-(4+L)/{kernel,bias}           pooler_transform

tf_20 (the 2019 `official/bert/modeling.py` BertModel, `backward_compatible=True`):
Dense3D kernels are stored 2-D, (H, N*D) for query/key/value and (N*D, H) for the
output projection, biases 1-D. Two namings are read:

    name-based (the released tf_20 files):  bert_model/word_embeddings/embeddings,
      bert_model/embedding_postprocessor/{type_embeddings,position_embeddings,
      layer_norm/*}, bert_model/encoder/layer_i/{self_attention/{query,key,value},
      self_attention_output, self_attention_layer_norm, intermediate, output,
      output_layer_norm}/*, bert_model/pooler_transform/*   (+ cls/* heads)
    object-based (`tf.train.Checkpoint(model=...)` of that model, e.g. the training
      loop's ctl_step_*.ckpt): <root>/embedding_lookup/embeddings,
      <root>/embedding_postprocessor/{type_embeddings,position_embeddings,
      output_layer_norm/*}, <root>/encoder/layer{i}/{attention_layer/
      {query,key,value}_dense, attention_output_dense, attention_layer_norm,
      intermediate_dense, output_dense, output_layer_norm}/*, <root>/pooler_transform/*

`<root>` is whatever holds the encoder ("model/" in the seeds' colab, "encoder/"
in later releases, "" for `save_weights`, deeper when the encoder sits inside a
classifier or pretrainer); it is found from the names. Tensors outside it are heads
or other models' weights: allowed to stay unused (pretraining heads are not
converted yet), while any tensor inside it that is not used is an error.

What the seeds do not show and was inferred (SEED_NOTES §14: no converter is in
the seeds):
- The `layer_with_weights-K` numbering and the order word / position / type
  embeddings, embedding LayerNorm, blocks, pooler. This follows Keras 2's
  `Network._layer_checkpoint_dependencies` and the seeds' TransformerEncoder layer
  order, and matches the keras_bert->keras-nlp conversion scripts published for
  the later "v3" releases; the attribute names (`_attention_layer`, `_query_dense`,
  `_attention_output_dense`, ...) are read from the seeds' `layers/transformer.py`
  and `layers/attention.py`. The later layout's `_attention_layer/_output_dense` is
  accepted in place of `_attention_output_dense`.
- The tf_20 name-based names: the seeds' layer names under the BertModel's default
  Keras name `bert_model`, as Model Garden's `tf1_bert_checkpoint_converter_lib`
  (BERT_NAME_REPLACEMENTS) writes them.
- The tf_20 object-based paths: the seeds' attribute names (`embedding_lookup`,
  `embedding_postprocessor`, `encoder`, `attention_layer`, `query_dense`, ...).
  `Transformer` keeps its blocks in a list *and* as attributes `layer0`, `layer1`,
  ...; a checkpoint names each object by its first path in breadth-first order,
  which is `encoder/layer{i}`; `encoder/layers/{i}` is accepted as well.
"""

import re

from kerabert.presets.converters import google_bert
from kerabert.presets.tensor_reader import CheckpointMismatchError

KERAS_BERT = "keras_bert"
TF20_OBJECT = "tf_20 object"
TF20_NAMES = "tf_20"

DESCRIPTIONS = {
    KERAS_BERT: "TF Model Garden keras_bert (TransformerEncoder) object checkpoint",
    TF20_OBJECT: "TF Model Garden tf_20 (BertModel) object checkpoint",
    TF20_NAMES: "TF Model Garden tf_20 (BertModel) checkpoint",
}

VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
# Tensors outside the encoder are allowed to stay unused (see the module docstring);
# the tf_20 releases keep Google's pretraining heads under cls/.
HEAD_PREFIXES = ("cls/",)

_KERAS_BERT_BLOCK = re.compile(r"^(.*)layer_with_weights-(\d+)/_attention_layer/_query_dense/kernel"
                               + re.escape(VALUE_SUFFIX) + "$")
_TF20_OBJECT_WORD = re.compile(r"^(.*)embedding_lookup/embeddings" + re.escape(VALUE_SUFFIX) + "$")
_TF20_NAMES_WORD = re.compile(r"^(.*)word_embeddings/embeddings$")

# The config, tokenizer and classes are Google's.
convert_backbone_config = google_bert.convert_backbone_config
convert_tokenizer = google_bert.convert_tokenizer
backbone_cls = google_bert.backbone_cls
tokenizer_cls = google_bert.tokenizer_cls


def layout(names):
    """(layout, root) of a checkpoint's variable names, or (None, None)."""
    found = {}
    for name in names:
        for kind, pattern in ((KERAS_BERT, _KERAS_BERT_BLOCK), (TF20_OBJECT, _TF20_OBJECT_WORD)):
            match = pattern.match(name)
            if match:
                found.setdefault(kind, set()).add(match.group(1))
        match = _TF20_NAMES_WORD.match(name)
        if match and not name.endswith(VALUE_SUFFIX) and (
                match.group(1) + "embedding_postprocessor/type_embeddings") in names:
            found.setdefault(TF20_NAMES, set()).add(match.group(1))
    if not found:
        return None, None
    if len(found) > 1 or len(next(iter(found.values()))) > 1:
        raise ValueError(
            "The checkpoint holds several BERT encoders "
            f"({ {k: sorted(v) for k, v in found.items()} }); kerabert cannot tell "
            "which one to load.")
    kind, roots = next(iter(found.items()))
    return kind, next(iter(roots))


def matches(names):
    return layout(set(names))[0] is not None


def describe(names):
    return DESCRIPTIONS[layout(set(names))[0]]


def _keras_bert_namer(names, root, num_layers, source):
    blocks = sorted(int(m.group(2)) for m in map(_KERAS_BERT_BLOCK.match, names)
                    if m and m.group(1) == root)
    first = blocks[0]
    if blocks != list(range(first, first + len(blocks))) or first < 4:
        raise CheckpointMismatchError(
            f"{source}: the transformer layers are layer_with_weights-{blocks}, not a run "
            "after the four embedding layers; this is not a keras_bert TransformerEncoder.")
    if len(blocks) != num_layers:
        raise CheckpointMismatchError(
            f"{source} holds {len(blocks)} transformer layers but the config says "
            f"num_hidden_layers={num_layers}. Check that the config belongs to these weights.")
    embeddings = first - 4

    def block(i):
        return f"{root}layer_with_weights-{first + i}/"

    def output_projection(i):
        # The seeds' Transformer owns `_attention_output_dense`; later releases moved
        # it into the attention layer as `_attention_layer/_output_dense`.
        later = block(i) + "_attention_layer/_output_dense/kernel" + VALUE_SUFFIX
        return "_attention_layer/_output_dense" if later in names else "_attention_output_dense"

    parts = {
        "word": lambda i: f"{root}layer_with_weights-{embeddings}/embeddings",
        "position": lambda i: f"{root}layer_with_weights-{embeddings + 1}/embeddings",
        "segment": lambda i: f"{root}layer_with_weights-{embeddings + 2}/embeddings",
        "embeddings_norm": lambda i: f"{root}layer_with_weights-{embeddings + 3}",
        "query": lambda i: block(i) + "_attention_layer/_query_dense",
        "key": lambda i: block(i) + "_attention_layer/_key_dense",
        "value": lambda i: block(i) + "_attention_layer/_value_dense",
        "attention_output": lambda i: block(i) + output_projection(i),
        "attention_norm": lambda i: block(i) + "_attention_layer_norm",
        "intermediate": lambda i: block(i) + "_intermediate_dense",
        "output": lambda i: block(i) + "_output_dense",
        "output_norm": lambda i: block(i) + "_output_layer_norm",
        "pooler": lambda i: f"{root}layer_with_weights-{first + len(blocks)}",
    }
    return parts, VALUE_SUFFIX


def _tf20_object_namer(names, root, num_layers, source):
    def block(i):
        # See the module docstring: `layer{i}` is the breadth-first name.
        for candidate in (f"{root}encoder/layer{i}/", f"{root}encoder/layers/{i}/"):
            if candidate + "attention_layer/query_dense/kernel" + VALUE_SUFFIX in names:
                return candidate
        return f"{root}encoder/layer{i}/"

    parts = {
        "word": lambda i: root + "embedding_lookup/embeddings",
        "position": lambda i: root + "embedding_postprocessor/position_embeddings",
        "segment": lambda i: root + "embedding_postprocessor/type_embeddings",
        "embeddings_norm": lambda i: root + "embedding_postprocessor/output_layer_norm",
        "query": lambda i: block(i) + "attention_layer/query_dense",
        "key": lambda i: block(i) + "attention_layer/key_dense",
        "value": lambda i: block(i) + "attention_layer/value_dense",
        "attention_output": lambda i: block(i) + "attention_output_dense",
        "attention_norm": lambda i: block(i) + "attention_layer_norm",
        "intermediate": lambda i: block(i) + "intermediate_dense",
        "output": lambda i: block(i) + "output_dense",
        "output_norm": lambda i: block(i) + "output_layer_norm",
        "pooler": lambda i: root + "pooler_transform",
    }
    return parts, VALUE_SUFFIX


def _tf20_names_namer(names, root, num_layers, source):
    def block(i):
        return f"{root}encoder/layer_{i}/"

    parts = {
        "word": lambda i: root + "word_embeddings/embeddings",
        "position": lambda i: root + "embedding_postprocessor/position_embeddings",
        "segment": lambda i: root + "embedding_postprocessor/type_embeddings",
        "embeddings_norm": lambda i: root + "embedding_postprocessor/layer_norm",
        "query": lambda i: block(i) + "self_attention/query",
        "key": lambda i: block(i) + "self_attention/key",
        "value": lambda i: block(i) + "self_attention/value",
        "attention_output": lambda i: block(i) + "self_attention_output",
        "attention_norm": lambda i: block(i) + "self_attention_layer_norm",
        "intermediate": lambda i: block(i) + "intermediate",
        "output": lambda i: block(i) + "output",
        "output_norm": lambda i: block(i) + "output_layer_norm",
        "pooler": lambda i: root + "pooler_transform",
    }
    return parts, ""


_NAMERS = {KERAS_BERT: _keras_bert_namer, TF20_OBJECT: _tf20_object_namer,
           TF20_NAMES: _tf20_names_namer}


# Dense3D / DenseEinsum kernels -> the (in, out) matrices of kerabert's Dense layers.
def _heads_in(x):  # (H, N, D) or (H, N*D) -> (H, N*D)
    return x.reshape(x.shape[0], -1)


def _heads_out(x):  # (N, D, H) or (N*D, H) -> (N*D, H)
    return x.reshape(-1, x.shape[-1])


def _flat(x):  # (N, D) or (N*D,) -> (N*D,)
    return x.reshape(-1)


def convert_backbone_weights(backbone, reader):
    """Copies the encoder's tensors from `reader` into `backbone`."""
    names = set(reader.keys())
    kind, root = layout(names)
    if kind is None:
        raise CheckpointMismatchError(
            f"{reader.source} is not a Model Garden BERT checkpoint of a known layout.")
    parts, suffix = _NAMERS[kind](names, root, backbone.num_layers, reader.source)

    def name(part, param, i=None):
        return f"{parts[part](i)}/{param}{suffix}"

    def dense(layer, part, i=None, kernel=None, bias=None):
        reader.assign(layer.kernel, name(part, "kernel", i), kernel)
        reader.assign(layer.bias, name(part, "bias", i), bias)

    def norm(layer, part, i=None):
        reader.assign(layer.gamma, name(part, "gamma", i))
        reader.assign(layer.beta, name(part, "beta", i))

    reader.assign(backbone.get_layer("token_embedding").embeddings, parts["word"](None) + suffix)
    reader.assign(backbone.get_layer("position_embedding").position_embeddings,
                  parts["position"](None) + suffix)
    reader.assign(backbone.get_layer("segment_embedding").embeddings,
                  parts["segment"](None) + suffix)
    norm(backbone.get_layer("embeddings_layer_norm"), "embeddings_norm")
    for i in range(backbone.num_layers):
        layer = backbone.get_layer(f"transformer_layer_{i}")
        attention = layer.self_attention
        dense(attention.query, "query", i, _heads_in, _flat)
        dense(attention.key, "key", i, _heads_in, _flat)
        dense(attention.value, "value", i, _heads_in, _flat)
        dense(attention.attention_output, "attention_output", i, _heads_out)
        norm(layer.self_attention_layer_norm, "attention_norm", i)
        dense(layer.intermediate_dense, "intermediate", i)
        dense(layer.output_dense, "output", i)
        norm(layer.output_layer_norm, "output_norm", i)
    dense(backbone.get_layer("pooled_dense"), "pooler")
    reader.allow_unused(n for n in names if not n.startswith(root))


def head_config(config, task_kind, folder=None):
    """Model Garden heads are not converted yet."""
    return None


def convert_head_weights(task, reader):
    raise ValueError(f"No Model Garden head conversion for {task.task_kind!r} yet.")
