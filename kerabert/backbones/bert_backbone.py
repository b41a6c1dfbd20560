"""The BERT encoder (Devlin et al., 2018) as a functional Keras model."""

import warnings

import keras
import keras_hub

from kerabert.backbones.backbone import Backbone
from kerabert.layers.bert_encoder_layer import BertEncoderLayer


@keras.saving.register_keras_serializable(package="kerabert")
class BertBackbone(Backbone):
    """BERT encoder: embeddings, `num_layers` post-LayerNorm blocks and a pooler.

    Argument names follow keras-hub's `BertBackbone`; the extra ones cover every
    field of the reference `BertConfig`.

    Args:
      vocabulary_size: int (`vocab_size`).
      num_layers: int (`num_hidden_layers`).
      num_heads: int (`num_attention_heads`).
      hidden_dim: int (`hidden_size`).
      intermediate_dim: int (`intermediate_size`).
      dropout: float, hidden dropout (`hidden_dropout_prob`).
      attention_dropout: float (`attention_probs_dropout_prob`).
      max_sequence_length: int (`max_position_embeddings`).
      num_segments: int (`type_vocab_size`).
      activation: "gelu" (exact erf, HF's "gelu") or "gelu_approximate" (tanh
        form, what Google's original checkpoints were trained with), "relu", ...
      layer_norm_epsilon: float, 1e-12 in BERT.
      initializer_range: float, stddev of the TruncatedNormal initializer.
      dtype: a dtype policy name: "float32", "mixed_float16", "mixed_bfloat16".

    Inputs (dict, int32):
      `token_ids` (B, L), `segment_ids` (B, L), `padding_mask` (B, L) with
      1 = real token, 0 = padding. L <= max_sequence_length.
    Outputs (dict):
      `sequence_output` (B, L, H), `pooled_output` (B, H): tanh dense over the
      first (`[CLS]`) token. In the compute dtype of the policy.
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.1,
        attention_dropout=0.1,
        max_sequence_length=512,
        num_segments=2,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        dtype=None,
        **kwargs,
    ):
        if "hidden_act" in kwargs:  # the argument's name before kerabert 0.2
            warnings.warn("BertBackbone's hidden_act argument is now called activation.",
                          DeprecationWarning, stacklevel=2)
            activation = kwargs.pop("hidden_act")

        def init():
            return keras.initializers.TruncatedNormal(stddev=initializer_range)

        # === Layers ===
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, hidden_dim, embeddings_initializer=init(),
            dtype=dtype, name="token_embedding")
        self.position_embedding = keras_hub.layers.PositionEmbedding(
            sequence_length=max_sequence_length, initializer=init(),
            dtype=dtype, name="position_embedding")
        self.segment_embedding = keras.layers.Embedding(
            num_segments, hidden_dim, embeddings_initializer=init(),
            dtype=dtype, name="segment_embedding")
        self.embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="embeddings_layer_norm")
        self.embeddings_dropout = keras.layers.Dropout(
            dropout, dtype=dtype, name="embeddings_dropout")
        self.transformer_layers = [
            BertEncoderLayer(
                num_heads=num_heads, hidden_dim=hidden_dim,
                intermediate_dim=intermediate_dim, activation=activation,
                dropout=dropout, attention_dropout=attention_dropout,
                layer_norm_epsilon=layer_norm_epsilon, kernel_initializer=init(),
                dtype=dtype, name=f"transformer_layer_{i}")
            for i in range(num_layers)
        ]
        self.pooled_dense = keras.layers.Dense(
            hidden_dim, activation="tanh", kernel_initializer=init(),
            dtype=dtype, name="pooled_dense")

        # === Functional Model ===
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        segment_ids = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        tokens = self.token_embedding(token_ids)
        x = (tokens + self.position_embedding(tokens)
             + self.segment_embedding(segment_ids))
        x = self.embeddings_dropout(self.embeddings_layer_norm(x))
        for layer in self.transformer_layers:
            x = layer(x, padding_mask=padding_mask)
        sequence_output = x
        pooled_output = self.pooled_dense(x[:, 0, :])
        super().__init__(
            inputs={"token_ids": token_ids, "segment_ids": segment_ids,
                    "padding_mask": padding_mask},
            outputs={"sequence_output": sequence_output, "pooled_output": pooled_output},
            dtype=dtype,
            **kwargs,
        )
        # The functional constructor ignores `dtype`; without this the model
        # reports (and saves) float32 under a mixed policy.
        if dtype is not None:
            self.dtype_policy = dtype

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "hidden_act" in config:  # presets saved before kerabert 0.2
            config["activation"] = config.pop("hidden_act")
        return super().from_config(config)

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocabulary_size": self.vocabulary_size,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "max_sequence_length": self.max_sequence_length,
            "num_segments": self.num_segments,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "initializer_range": self.initializer_range,
        })
        return config
