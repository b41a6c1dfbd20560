"""Writes tiny BERT checkpoints in the TensorFlow layouts kerabert reads, from the
weights of a `transformers` model, so every converted model has a PyTorch oracle.

- `write_tf1_folder`: Google's original TF1 layout (name-based, `bert/...`,
  `cls/...`, `global_step`), written with the same SaveV2 op `tf.compat.v1.train.Saver`
  uses.
- `write_keras_bert_folder`: Model Garden keras_bert, an object-based checkpoint of
  a graph shaped like Model Garden's TransformerEncoder (a Keras 2 functional network).
- `write_tf20_folder`: Model Garden tf_20, the 2019 BertModel with 2-D Dense3D
  kernels, object-based (`object_based=True`) or name-based (`bert_model/...`).

The object graphs are built from `tf.Module`s whose attributes mirror the Keras 2
objects (attribute names from Model Garden; a functional network adds
`layer_with_weights-K` then `layer-N` for each of its layers), and the names are
whatever `tf.train.Checkpoint` makes of them.
"""

import json
import os

import numpy as np
import tensorflow as tf

from tests.conftest import TINY_VOCAB


def encoder_arrays(model):
    """A transformers BERT's encoder weights, Keras layout: kernels (in, out).

    Returns {"word", "position", "segment": (rows, H), "embeddings_norm": (gamma, beta),
    "layers": [{"query"|"key"|"value"|"attention_output"|"intermediate"|"output":
    (kernel, bias), "attention_norm"|"output_norm": (gamma, beta)}], "pooler": (kernel, bias)}.
    """
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    p = "bert." if "bert.embeddings.word_embeddings.weight" in sd else ""

    def dense(name):
        return sd[name + ".weight"].T.copy(), sd[name + ".bias"]

    def norm(name):
        return sd[name + ".weight"], sd[name + ".bias"]

    layers = []
    for i in range(model.config.num_hidden_layers):
        hf = f"{p}encoder.layer.{i}."
        layers.append({
            "query": dense(hf + "attention.self.query"),
            "key": dense(hf + "attention.self.key"),
            "value": dense(hf + "attention.self.value"),
            "attention_output": dense(hf + "attention.output.dense"),
            "attention_norm": norm(hf + "attention.output.LayerNorm"),
            "intermediate": dense(hf + "intermediate.dense"),
            "output": dense(hf + "output.dense"),
            "output_norm": norm(hf + "output.LayerNorm"),
        })
    return {
        "word": sd[p + "embeddings.word_embeddings.weight"],
        "position": sd[p + "embeddings.position_embeddings.weight"],
        "segment": sd[p + "embeddings.token_type_embeddings.weight"],
        "embeddings_norm": norm(p + "embeddings.LayerNorm"),
        "layers": layers,
        "pooler": dense(p + "pooler.dense"),
        "state_dict": sd,
    }


def write_bert_config(folder, hf_config, hidden_act="gelu"):
    """The reference `bert_config.json` (Model Garden's `BertConfig`) for a transformers config."""
    os.makedirs(folder, exist_ok=True)
    config = {
        "attention_probs_dropout_prob": hf_config.attention_probs_dropout_prob,
        "hidden_act": hidden_act,
        "hidden_dropout_prob": hf_config.hidden_dropout_prob,
        "hidden_size": hf_config.hidden_size,
        "initializer_range": hf_config.initializer_range,
        "intermediate_size": hf_config.intermediate_size,
        "max_position_embeddings": hf_config.max_position_embeddings,
        "num_attention_heads": hf_config.num_attention_heads,
        "num_hidden_layers": hf_config.num_hidden_layers,
        "type_vocab_size": hf_config.type_vocab_size,
        "vocab_size": hf_config.vocab_size,
    }
    with open(os.path.join(folder, "bert_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(TINY_VOCAB) + "\n")


def save_v2(prefix, tensors):
    """Writes a name-based checkpoint, as `tf.compat.v1.train.Saver.save` does."""
    names = sorted(tensors)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tensors[n] for n in names])


# ---- Google TF1 --------------------------------------------------------------------

TF1_DENSE = {"query": "attention/self/query", "key": "attention/self/key",
             "value": "attention/self/value", "attention_output": "attention/output/dense",
             "intermediate": "intermediate/dense", "output": "output/dense"}
TF1_NORM = {"attention_norm": "attention/output/LayerNorm", "output_norm": "output/LayerNorm"}


def tf1_tensors(model):
    """Google's original variable names -> arrays, for a `BertForPreTraining`."""
    a = encoder_arrays(model)
    sd = a["state_dict"]
    t = {
        "bert/embeddings/word_embeddings": a["word"],
        "bert/embeddings/position_embeddings": a["position"],
        "bert/embeddings/token_type_embeddings": a["segment"],
        "bert/embeddings/LayerNorm/gamma": a["embeddings_norm"][0],
        "bert/embeddings/LayerNorm/beta": a["embeddings_norm"][1],
        "bert/pooler/dense/kernel": a["pooler"][0],
        "bert/pooler/dense/bias": a["pooler"][1],
    }
    for i, layer in enumerate(a["layers"]):
        scope = f"bert/encoder/layer_{i}/"
        for slot, name in TF1_DENSE.items():
            t[f"{scope}{name}/kernel"], t[f"{scope}{name}/bias"] = layer[slot]
        for slot, name in TF1_NORM.items():
            t[f"{scope}{name}/gamma"], t[f"{scope}{name}/beta"] = layer[slot]
    if "cls.predictions.bias" in sd:
        t.update({
            "cls/predictions/transform/dense/kernel":
                sd["cls.predictions.transform.dense.weight"].T.copy(),
            "cls/predictions/transform/dense/bias": sd["cls.predictions.transform.dense.bias"],
            "cls/predictions/transform/LayerNorm/gamma":
                sd["cls.predictions.transform.LayerNorm.weight"],
            "cls/predictions/transform/LayerNorm/beta":
                sd["cls.predictions.transform.LayerNorm.bias"],
            "cls/predictions/output_bias": sd["cls.predictions.bias"],
            # TF1 multiplies with transpose_b=True: (2, H), as torch stores it.
            "cls/seq_relationship/output_weights": sd["cls.seq_relationship.weight"],
            "cls/seq_relationship/output_bias": sd["cls.seq_relationship.bias"],
        })
    return t


def write_tf1_folder(folder, model, extra=None):
    """A Google release folder: bert_config.json, vocab.txt, bert_model.ckpt.*."""
    write_bert_config(folder, model.config)
    tensors = {**tf1_tensors(model), "global_step": np.int64(1000), **(extra or {})}
    save_v2(os.path.join(folder, "bert_model.ckpt"), tensors)
    return tensors


# ---- Model Garden ------------------------------------------------------------------

def module(**children):
    """A tf.Module whose attributes are `children`, in order (arrays -> variables)."""
    m = tf.Module()
    for name, value in children.items():
        if isinstance(value, np.ndarray):
            value = tf.Variable(value)
        setattr(m, name, value)
    return m


def dense_einsum(kernel, bias):
    # Keras 2 `add_weight("kernel")` tracks the variable as "kernel" first; the layer's
    # own attribute (`self._kernel`) then adds a second edge to the same variable.
    m = module(kernel=kernel, bias=bias)
    m._kernel, m._bias = m.kernel, m.bias
    return m


def position_embedding(table):
    # `self._position_embeddings = self.add_weight("embeddings", ...)` (Model Garden's Keras BERT).
    m = module(embeddings=table)
    m._position_embeddings = m.embeddings
    return m


def layer_norm(gamma, beta):
    return module(gamma=gamma, beta=beta)


def functional(layers):
    """Edges of a Keras 2 functional network: per layer, `layer_with_weights-K`
    (when it has weights) then `layer-N`."""
    net, k = tf.Module(), 0
    for n, (layer, has_weights) in enumerate(layers):
        if has_weights:
            setattr(net, f"layer_with_weights-{k}", layer)
            k += 1
        setattr(net, f"layer-{n}", layer)
    return net


def keras_bert_encoder(model):
    """An object graph shaped like Model Garden's Keras `TransformerEncoder` (Nov 2019)."""
    a = encoder_arrays(model)
    heads = model.config.num_attention_heads
    hidden = model.config.hidden_size
    size = hidden // heads
    blocks = []
    for layer in a["layers"]:
        def projection(slot):
            kernel, bias = layer[slot]
            return dense_einsum(kernel.reshape(hidden, heads, size), bias.reshape(heads, size))

        attention = module(_query_dense=projection("query"), _key_dense=projection("key"),
                           _value_dense=projection("value"), _masked_softmax=tf.Module(),
                           _dropout=tf.Module())
        kernel, bias = layer["attention_output"]
        blocks.append(module(
            _attention_layer=attention,
            _attention_output_dense=dense_einsum(kernel.reshape(heads, size, hidden), bias),
            _attention_dropout=tf.Module(),
            _attention_layer_norm=layer_norm(*layer["attention_norm"]),
            _intermediate_dense=dense_einsum(*layer["intermediate"]),
            _output_dense=dense_einsum(*layer["output"]),
            _output_dropout=tf.Module(),
            _output_layer_norm=layer_norm(*layer["output_norm"])))
    pooler = dense_einsum(*a["pooler"])
    # Model Garden's layer order: inputs, embeddings, Add, LayerNorm, Dropout, mask, blocks,
    # Lambda (first token), pooler.
    return functional(
        [(tf.Module(), False)] * 3
        + [(module(embeddings=a["word"]), True),
           (position_embedding(a["position"]), True),
           (module(embeddings=a["segment"]), True), (tf.Module(), False),
           (layer_norm(*a["embeddings_norm"]), True), (tf.Module(), False), (tf.Module(), False)]
        + [(block, True) for block in blocks]
        + [(tf.Module(), False), (pooler, True)])


def tf20_bert_model(model):
    """An object graph shaped like the 2019 BertModel (official/bert), backward_compatible=True."""
    a = encoder_arrays(model)
    blocks = []
    for layer in a["layers"]:
        # Dense3D / Dense2DProjection: `self.kernel = self.add_weight("kernel", ...)`;
        # backward_compatible Dense3D kernels are 2-D, as the (in, out) arrays here.
        def dense(slot):
            return module(kernel=layer[slot][0], bias=layer[slot][1])

        attention = module(query_dense=dense("query"), key_dense=dense("key"),
                           value_dense=dense("value"), attention_probs_dropout=tf.Module())
        blocks.append(module(
            attention_layer=attention,
            attention_output_dense=dense("attention_output"),
            attention_dropout=tf.Module(),
            attention_layer_norm=layer_norm(*layer["attention_norm"]),
            intermediate_dense=dense("intermediate"),
            output_dense=dense("output"),
            output_dropout=tf.Module(),
            output_layer_norm=layer_norm(*layer["output_norm"])))
    encoder = tf.Module()
    encoder.layers = []  # `Transformer.build`: a list, then `layer%d` attributes
    for block in blocks:
        encoder.layers.append(block)
    for i, block in enumerate(blocks):
        setattr(encoder, f"layer{i}", block)
    bert_model = module(
        embedding_lookup=module(embeddings=a["word"]),
        embedding_postprocessor=module(type_embeddings=a["segment"],
                                       position_embeddings=a["position"],
                                       output_layer_norm=layer_norm(*a["embeddings_norm"]),
                                       output_dropout=tf.Module()),
        encoder=encoder,
        pooler_transform=module(kernel=a["pooler"][0], bias=a["pooler"][1]))
    # `get_bert_model`: a functional model over three inputs and the BertModel layer.
    return functional([(tf.Module(), False)] * 3 + [(bert_model, True)])


def tf20_names(model):
    """The released tf_20 names: the TF1 names as Model Garden's converter renamed them."""
    a = encoder_arrays(model)
    t = {
        "bert_model/word_embeddings/embeddings": a["word"],
        "bert_model/embedding_postprocessor/type_embeddings": a["segment"],
        "bert_model/embedding_postprocessor/position_embeddings": a["position"],
        "bert_model/embedding_postprocessor/layer_norm/gamma": a["embeddings_norm"][0],
        "bert_model/embedding_postprocessor/layer_norm/beta": a["embeddings_norm"][1],
        "bert_model/pooler_transform/kernel": a["pooler"][0],
        "bert_model/pooler_transform/bias": a["pooler"][1],
    }
    names = {"query": "self_attention/query", "key": "self_attention/key",
             "value": "self_attention/value", "attention_output": "self_attention_output",
             "intermediate": "intermediate", "output": "output"}
    for i, layer in enumerate(a["layers"]):
        scope = f"bert_model/encoder/layer_{i}/"
        for slot, name in names.items():
            t[f"{scope}{name}/kernel"], t[f"{scope}{name}/bias"] = layer[slot]
        for slot, name in (("attention_norm", "self_attention_layer_norm"),
                           ("output_norm", "output_layer_norm")):
            t[f"{scope}{name}/gamma"], t[f"{scope}{name}/beta"] = layer[slot]
    # The converter leaves Google's head names as they were.
    t.update({k: v for k, v in tf1_tensors(model).items() if k.startswith("cls/")})
    return t


def write_object_checkpoint(folder, model_object, **extra_children):
    """`tf.train.Checkpoint(model=...).write(<folder>/bert_model.ckpt)`, as Model Garden's
    fine-tuning colab restores it."""
    checkpoint = tf.train.Checkpoint(model=model_object, **extra_children)
    return checkpoint.write(os.path.join(folder, "bert_model.ckpt"))


def write_keras_bert_folder(folder, model):
    write_bert_config(folder, model.config)
    write_object_checkpoint(folder, keras_bert_encoder(model))


def write_tf20_folder(folder, model, object_based=True):
    write_bert_config(folder, model.config)
    if object_based:
        write_object_checkpoint(folder, tf20_bert_model(model))
    else:
        save_v2(os.path.join(folder, "bert_model.ckpt"),
                {**tf20_names(model), "global_step": np.int64(1000)})


# ---- Original TF1 XLNet ------------------------------------------------------------

def xlnet_tf1_tensors(model, untie_r=True, mask_emb=True):
    """The original XLNet names (zihangdai/xlnet modeling.py) -> arrays, for a
    transformers XLNet model (XLNetModel or XLNetFor*, whose heads are added
    under the reference fine-tuning scripts' names).

    With `untie_r=False` the biases are written shared ((N, D)), taken from layer
    0; the model's layers must then all hold the same biases (`tie_xlnet_biases`).
    Pretraining graphs create `mask_emb`; fine-tuning graphs do not (`mask_emb`).
    """
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    p = "transformer." if "transformer.word_embedding.weight" in sd else ""
    n_layer = model.config.n_layer
    t = {"model/transformer/word_embedding/lookup_table": sd[p + "word_embedding.weight"]}
    if mask_emb:
        t["model/transformer/mask_emb/mask_emb"] = sd[p + "mask_emb"]
    for name in ("r_w_bias", "r_r_bias", "r_s_bias"):
        stacked = np.stack([sd[f"{p}layer.{i}.rel_attn.{name}"] for i in range(n_layer)])
        if not untie_r:
            assert (stacked == stacked[:1]).all(), "untie_r=False needs equal biases"
        t[f"model/transformer/{name}"] = stacked if untie_r else stacked[0]
    t["model/transformer/seg_embed"] = np.stack(
        [sd[f"{p}layer.{i}.rel_attn.seg_embed"] for i in range(n_layer)])
    for i in range(n_layer):
        hf, tf1 = f"{p}layer.{i}.", f"model/transformer/layer_{i}/"
        for name in ("q", "k", "v", "r", "o"):
            t[f"{tf1}rel_attn/{name}/kernel"] = sd[f"{hf}rel_attn.{name}"]
        for ours, theirs in (("rel_attn/LayerNorm", "rel_attn.layer_norm"),
                             ("ff/LayerNorm", "ff.layer_norm")):
            t[f"{tf1}{ours}/gamma"] = sd[f"{hf}{theirs}.weight"]
            t[f"{tf1}{ours}/beta"] = sd[f"{hf}{theirs}.bias"]
        for name in ("layer_1", "layer_2"):
            t[f"{tf1}ff/{name}/kernel"] = sd[f"{hf}ff.{name}.weight"].T.copy()
            t[f"{tf1}ff/{name}/bias"] = sd[f"{hf}ff.{name}.bias"]

    def dense(scope, name, bias=True):
        t[scope + "/kernel"] = sd[name + ".weight"].T.copy()
        if bias:
            t[scope + "/bias"] = sd[name + ".bias"]

    if "lm_loss.bias" in sd:
        t["model/lm_loss/bias"] = sd["lm_loss.bias"]
    if "logits_proj.weight" in sd:
        dense("model/sequnece_summary/summary", "sequence_summary.summary")
        dense("model/classification_imdb/logit", "logits_proj")
    if "start_logits.dense.weight" in sd:
        dense("start_logits/dense", "start_logits.dense")
        dense("end_logits/dense_0", "end_logits.dense_0")
        t["end_logits/LayerNorm/gamma"] = sd["end_logits.LayerNorm.weight"]
        t["end_logits/LayerNorm/beta"] = sd["end_logits.LayerNorm.bias"]
        dense("end_logits/dense_1", "end_logits.dense_1")
        dense("answer_class/dense_0", "answer_class.dense_0")
        dense("answer_class/dense_1", "answer_class.dense_1", bias=False)
    return t


def tie_xlnet_biases(model):
    """Gives every layer of a transformers XLNet layer 0's r_*_bias, so that the
    model computes what a shared-bias (untie_r=False) checkpoint does."""
    import torch

    layers = (model.transformer if hasattr(model, "transformer") else model).layer
    with torch.no_grad():
        for name in ("r_w_bias", "r_r_bias", "r_s_bias"):
            for layer in layers[1:]:
                getattr(layer.rel_attn, name).copy_(getattr(layers[0].rel_attn, name))
    return model


def write_xlnet_config(folder, hf_config, untie_r=True, ff_activation="gelu"):
    """The reference `xlnet_config.json` (XLNetConfig.to_json) and `spiece.model`."""
    import shutil

    from tests.conftest import XLNET_SPIECE

    os.makedirs(folder, exist_ok=True)
    config = {"d_head": hf_config.d_head, "d_inner": hf_config.d_inner,
              "d_model": hf_config.d_model, "ff_activation": ff_activation,
              "n_head": hf_config.n_head, "n_layer": hf_config.n_layer,
              "n_token": hf_config.vocab_size, "untie_r": untie_r}
    with open(os.path.join(folder, "xlnet_config.json"), "w") as f:
        json.dump(config, f, indent=4, sort_keys=True)
    shutil.copy(XLNET_SPIECE, os.path.join(folder, "spiece.model"))


def write_tf1_xlnet_folder(folder, model, untie_r=True, mask_emb=True, extra=None):
    """An XLNet release folder: xlnet_config.json, spiece.model, xlnet_model.ckpt.*."""
    write_xlnet_config(folder, model.config, untie_r=untie_r)
    tensors = {**xlnet_tf1_tensors(model, untie_r=untie_r, mask_emb=mask_emb),
               "global_step": np.int64(1000), **(extra or {})}
    save_v2(os.path.join(folder, "xlnet_model.ckpt"), tensors)
    return tensors
