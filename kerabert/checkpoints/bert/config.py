"""Every config key of the BERT checkpoints kerabert reads and writes.

Each table maps a `BertBackbone` argument to the config key of one format and
its default (`kerabert.presets.config_map`); the format modules read them,
and the transformers export writes `HF_CONFIG`.
"""

from kerabert.layers import activations
from kerabert.presets import config_map

# The reference `BertConfig` and transformers' share these names.
CONFIG = (
    ("vocabulary_size", "vocab_size", config_map.REQUIRED),
    ("num_layers", "num_hidden_layers", config_map.REQUIRED),
    ("num_heads", "num_attention_heads", config_map.REQUIRED),
    ("hidden_dim", "hidden_size", config_map.REQUIRED),
    ("intermediate_dim", "intermediate_size", config_map.REQUIRED),
    ("dropout", "hidden_dropout_prob", 0.1),
    ("attention_dropout", "attention_probs_dropout_prob", 0.1),
    ("max_sequence_length", "max_position_embeddings", 512),
    ("initializer_range", "initializer_range", 0.02),
)
# Where the two formats differ: transformers stores the epsilon and defaults to 2
# segments; the reference fixes the epsilon at 1e-12 and defaults to 16 segments.
HF_CONFIG = CONFIG + (("num_segments", "type_vocab_size", 2),
                      ("layer_norm_epsilon", "layer_norm_eps", 1e-12))
TF_CONFIG = CONFIG + (("num_segments", "type_vocab_size", 16),)
REQUIRED_FIELDS = tuple(key for _, key, default in CONFIG if default is config_map.REQUIRED)

# keras-hub's `BertBackbone` uses kerabert's argument names; it has one dropout
# rate, and fixes the rest: the tanh GELU, epsilon 1e-12, initializer stddev 0.02.
KERAS_HUB_CONFIG = (
    ("vocabulary_size", "vocabulary_size", config_map.REQUIRED),
    ("num_layers", "num_layers", config_map.REQUIRED),
    ("num_heads", "num_heads", config_map.REQUIRED),
    ("hidden_dim", "hidden_dim", config_map.REQUIRED),
    ("intermediate_dim", "intermediate_dim", config_map.REQUIRED),
    ("dropout", "dropout", 0.1),
    ("attention_dropout", "dropout", 0.1),
    ("max_sequence_length", "max_sequence_length", 512),
    ("num_segments", "num_segments", 2),
)
KERAS_HUB_FIXED = {"activation": activations.GELU_APPROXIMATE, "layer_norm_epsilon": 1e-12,
                   "initializer_range": 0.02}
# keras-hub's MaskedLM head (exact GELU, epsilon 1e-5), which `BertPretrainer`
# takes as settings.
KERAS_HUB_MLM_HEAD = {"mlm_activation": activations.GELU, "mlm_layer_norm_epsilon": 1e-5}

# kerabert tokenizer argument -> transformers tokenizer argument.
SPECIAL_TOKENS = {"unknown_token": "unk_token", "cls_token": "cls_token",
                  "sep_token": "sep_token", "pad_token": "pad_token", "mask_token": "mask_token"}

VOCABULARY_FILE = "vocab.txt"
TF_CONFIG_FILE = "bert_config.json"
