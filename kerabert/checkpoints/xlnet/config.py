"""The config keys of XLNet's formats: `(XLNetBackbone argument, key,
default)` rows, one table a format (read through `kerabert.presets.config_map`;
`HF_CONFIG` is also what the transformers export writes). Run flags the
original release keeps out of its config are `TF_FIXED`.
"""

from kerabert.layers import activations
from kerabert.presets import config_map

# The reference `XLNetConfig` and transformers' share these names.
CONFIG = (
    ("num_layers", "n_layer", config_map.REQUIRED),
    ("num_heads", "n_head", config_map.REQUIRED),
    ("hidden_dim", "d_model", config_map.REQUIRED),
    ("intermediate_dim", "d_inner", config_map.REQUIRED),
    ("head_dim", "d_head", None),  # None: hidden_dim // num_heads
)
# transformers keeps one dropout rate for hidden states and attention, and the
# run settings the reference passes as flags.
HF_CONFIG = CONFIG + (
    ("vocabulary_size", "vocab_size", config_map.REQUIRED),
    ("dropout", "dropout", 0.1),
    ("attention_dropout", "dropout", 0.1),
    ("layer_norm_epsilon", "layer_norm_eps", 1e-12),
    ("initializer_range", "initializer_range", 0.02),
    ("bi_data", "bi_data", False),
    ("clamp_len", "clamp_len", -1),
    ("attn_type", "attn_type", "bi"),
    ("same_length", "same_length", False),
    ("mem_len", "mem_len", None),
    ("reuse_len", "reuse_len", None),
)
TF_CONFIG = CONFIG + (("vocabulary_size", "n_token", config_map.REQUIRED),
                      ("untie_r", "untie_r", False))
# Run flags and fixed constants of the reference: dropout 0.1, and
# tf.contrib.layers.layer_norm's fixed epsilon.
TF_FIXED = {"dropout": 0.1, "attention_dropout": 0.1, "layer_norm_epsilon": 1e-12,
            "initializer_range": 0.02}

# keras-hub's `XLNetBackbone`: kerabert's names, one dropout rate, per-layer
# biases, head_dim = hidden_dim // num_heads, LayerNorm epsilon 1e-12.
KERAS_HUB_CONFIG = (
    ("vocabulary_size", "vocabulary_size", config_map.REQUIRED),
    ("num_layers", "num_layers", config_map.REQUIRED),
    ("num_heads", "num_heads", config_map.REQUIRED),
    ("hidden_dim", "hidden_dim", config_map.REQUIRED),
    ("intermediate_dim", "intermediate_dim", config_map.REQUIRED),
    ("dropout", "dropout", 0.0),
    ("attention_dropout", "dropout", 0.0),
    ("initializer_range", "kernel_initializer_range", 0.02),
)
# keras-hub stores a Keras activation name: "gelu" is the exact (erf) form.
KERAS_HUB_ACTIVATIONS = {"gelu": activations.GELU, "relu": "relu", "tanh": "tanh",
                         "silu": "silu"}

TF_CONFIG_FILE = "xlnet_config.json"
PROTO_FILE = "spiece.model"
