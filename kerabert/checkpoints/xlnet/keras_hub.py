"""XLNet in keras-hub preset folders: keras-hub has an `XLNetBackbone` only
(no XLNet task and no XLNet tokenizer), read and written.

keras-hub's XLNet is bidirectional without clamping or `bi_data`, with
per-layer relative biases, LayerNorm epsilon 1e-12 and a Keras activation name
("gelu" is the exact form). It gives XLNet's outputs only for a batch of one:
it reshapes its relative position encodings from (positions, batch, dim) to
(batch, positions, dim) where a transpose is needed.
"""


from kerabert.checkpoints.xlnet import config as keys
from kerabert.checkpoints.xlnet import weights
from kerabert.layers import activations
from kerabert.presets import config_map
from kerabert.presets import keras_hub_export
from kerabert.presets.formats import family_format
from kerabert.presets.formats import KERAS_HUB


layout = family_format.layout_of_format


describe = family_format.folder_description


def backbone_config(checkpoint):
    """`XLNetBackbone` keyword arguments from keras-hub's backbone config."""
    config = checkpoint.config
    kwargs = config_map.read(keys.KERAS_HUB_CONFIG, config, f"{checkpoint.folder}/config.json")
    kwargs.update(head_dim=kwargs["hidden_dim"] // kwargs["num_heads"], untie_r=True,
                  layer_norm_epsilon=1e-12, activation=activations.from_spelling(
                      config.get("activation", "gelu"), keys.KERAS_HUB_ACTIVATIONS,
                      "activation"))
    return kwargs


def head_config(checkpoint, task_kind):
    return None  # keras-hub has no XLNet task


preprocessor_config = family_format.no_preprocessor


def tokenizer(checkpoint, tokenizer_cls, **overrides):
    raise FileNotFoundError(
        f"{checkpoint.folder} is a keras-hub XLNetBackbone preset, and keras-hub has no XLNet "
        "tokenizer: build kerabert.XLNetTokenizer(proto=<the model's spiece.model>), or "
        "load the task with preprocessor=None.")


def load_weights(checkpoint, reader, backbone, task=None):
    weights.check_per_layer_biases(checkpoint, backbone)
    weights.load(KERAS_HUB, reader, backbone, task)


backbone_weights = weights.weights_of_backbone


head_weights = weights.weights_of_head


# --- the export ----------------------------------------------------------------------

export = keras_hub_export.exporter(__name__)


def keras_hub_model(backbone, task=None, tokenizer=None):
    """keras-hub's `XLNetBackbone` of `backbone`'s size, its weights still
    fresh; keras-hub has no XLNet task or tokenizer.

    Returns `(model, None, differences, left_out)` (see the BERT family's
    `keras_hub_model`). keras-hub's
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
    spellings = {meaning: spelled for spelled, meaning in keys.KERAS_HUB_ACTIVATIONS.items()}
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
