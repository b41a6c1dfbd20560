"""The XLNet encoder (Yang et al., 2019): Transformer-XL with two-stream attention."""

import keras
import tensorflow as tf

from kerabert.backbones.backbone import Backbone
from kerabert.layers.xlnet_attention_masks import XLNetAttentionMasks
from kerabert.layers.xlnet_encoder_layer import XLNetEncoderLayer
from kerabert.layers.xlnet_relative_bias import XLNetRelativeBias
from kerabert.layers.xlnet_relative_position_encoding import XLNetRelativePositionEncoding
from kerabert.layers.xlnet_relative_segments import XLNetRelativeSegments


@keras.saving.register_keras_serializable(package="kerabert")
class XLNetBackbone(Backbone):
    """XLNet encoder: word embeddings and `num_layers` relative-attention blocks.

    There are no absolute position or segment embeddings: positions enter as
    relative distances in every layer (`clamp_len`, `bi_data`, `attn_type`)
    and segments as "same segment or not" (the reference `xlnet_modeling.py`). The
    reference code
    is time-major; kerabert's inputs and outputs are batch-major.

    Args:
      vocabulary_size: int (`n_token`).
      num_layers: int (`n_layer`).
      num_heads: int (`n_head`).
      hidden_dim: int (`d_model`).
      intermediate_dim: int (`d_inner`).
      head_dim: int (`d_head`), default `hidden_dim // num_heads`.
      dropout: float, on embeddings, relative encodings, attention and
        feed-forward outputs and the final output.
      attention_dropout: float (`dropout_att`).
      activation: "gelu" (exact erf: what HF's "gelu" computes),
        "gelu_approximate" (tanh: what the original TF checkpoints used), "relu".
      layer_norm_epsilon: float, 1e-12.
      initializer_range: float, stddev of the (untruncated) normal initializer.
      untie_r: bool, one set of relative biases per layer (True) or one shared.
      bi_data: bool, the batch's second half is the reversed text (pretraining).
      clamp_len: int, clip relative distances to this (-1: no clipping).
      attn_type: "bi" (every token sees every token) or "uni" (causal).
      same_length: bool, with "uni": every query sees the same number of keys.
      mem_len: int or None, how many hidden states per layer `call_with_memory`
        keeps as memory for the next segment (None/0: no memory is returned).
      reuse_len: int or None, only the first `reuse_len` positions of the
        current segment enter the memory.
      dtype: a dtype policy name ("float32", "mixed_float16", "mixed_bfloat16").

    Inputs (dict, int32, (B, L)):
      `token_ids`; `segment_ids` (classification: A=0, B=1, CLS=2, PAD=4);
      `padding_mask`: 1 = real token, 0 = padding, as in every kerabert model
      (the reference's `input_mask` means the opposite; it is converted once,
      in the `attention_masks` layer).
    Outputs (dict):
      `sequence_output` (B, L, H) in the policy's compute dtype. XLNet has no
      pooler: classifiers summarise the last token (`<cls>` is last).

    `call_with_memory` adds what pretraining and long documents need: memory,
    `perm_mask`, `target_mapping` and the two-stream output.
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        head_dim=None,
        dropout=0.1,
        attention_dropout=0.1,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        untie_r=True,
        bi_data=False,
        clamp_len=-1,
        attn_type="bi",
        same_length=False,
        mem_len=None,
        reuse_len=None,
        dtype=None,
        **kwargs,
    ):
        head_dim = head_dim or hidden_dim // num_heads

        def init():
            return keras.initializers.RandomNormal(stddev=initializer_range)

        # === Layers ===
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, hidden_dim, embeddings_initializer=init(), dtype=dtype,
            name="token_embedding")
        # The reference's `mask_emb`: the query stream's input (a one-row table).
        self.mask_embedding = keras.layers.Embedding(
            1, hidden_dim, embeddings_initializer=init(), dtype=dtype, name="mask_embedding")
        # Only the query stream uses it, which the functional graph does not.
        self.mask_embedding.build((None, None))
        self.relative_bias = XLNetRelativeBias(
            num_layers, num_heads, head_dim, untie_r=untie_r, initializer=init(), dtype=dtype,
            name="relative_bias")
        self.attention_masks = XLNetAttentionMasks(
            attn_type, same_length, dtype=dtype, name="attention_masks")
        self.relative_segments = XLNetRelativeSegments(dtype=dtype, name="relative_segments")
        self.position_encoding = XLNetRelativePositionEncoding(
            hidden_dim, attn_type=attn_type, bi_data=bi_data, clamp_len=clamp_len, dtype=dtype,
            name="relative_position_encoding")
        # One dropout for word embeddings, the query stream and the relative
        # encodings, as in the reference (it also drops out `pos_emb`).
        self.embeddings_dropout = keras.layers.Dropout(
            dropout, dtype=dtype, name="embeddings_dropout")
        self.transformer_layers = [
            XLNetEncoderLayer(
                num_heads=num_heads, head_dim=head_dim, hidden_dim=hidden_dim,
                intermediate_dim=intermediate_dim, activation=activation, dropout=dropout,
                attention_dropout=attention_dropout, layer_norm_epsilon=layer_norm_epsilon,
                kernel_initializer=init(), dtype=dtype, name=f"transformer_layer_{i}")
            for i in range(num_layers)
        ]
        self.output_dropout = keras.layers.Dropout(dropout, dtype=dtype, name="output_dropout")

        # === Config === (needed by `_encode` below)
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.head_dim = head_dim
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.untie_r = bool(untie_r)
        self.bi_data = bool(bi_data)
        self.clamp_len = clamp_len
        self.attn_type = attn_type
        self.same_length = bool(same_length)
        self.mem_len = mem_len
        self.reuse_len = reuse_len

        # === Functional Model ===
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        segment_ids = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        sequence_output = self._encode(token_ids, segment_ids, padding_mask)["sequence_output"]
        super().__init__(
            inputs={"token_ids": token_ids, "segment_ids": segment_ids,
                    "padding_mask": padding_mask},
            outputs={"sequence_output": sequence_output},
            dtype=dtype,
            **kwargs,
        )
        if dtype is not None:
            self.dtype_policy = dtype

    def _encode(self, token_ids, segment_ids=None, padding_mask=None, memory=None,
                perm_mask=None, target_mapping=None, training=None):
        """The forward pass; builds the functional graph and serves `call_with_memory`."""
        memory = list(memory) if memory is not None else [None] * self.num_layers
        first_memory = memory[0]
        mask_h, mask_g = self.attention_masks(
            token_ids, padding_mask=padding_mask, perm_mask=perm_mask, memory=first_memory)
        seg_mat = (self.relative_segments(segment_ids, memory=first_memory)
                   if segment_ids is not None else None)
        pos_emb = self.position_encoding(token_ids, memory=first_memory)
        pos_emb = self.embeddings_dropout(pos_emb, training=training)
        biases = self.relative_bias(token_ids)
        h = self.embeddings_dropout(self.token_embedding(token_ids), training=training)
        g = None
        if target_mapping is not None:
            slots = tf.zeros(tf.shape(target_mapping)[:2], tf.int32)
            g = self.embeddings_dropout(self.mask_embedding(slots), training=training)
        new_memory = []
        for i, layer in enumerate(self.transformer_layers):
            new_memory.append(self._cache_memory(h, memory[i]))
            out = layer(h, g, pos_emb=pos_emb, biases=self.relative_bias.for_layer(biases, i), seg_mat=seg_mat,
                        mask_h=mask_h, mask_g=mask_g, memory=memory[i],
                        target_mapping=target_mapping, training=training)
            h, g = (out, None) if g is None else out
        outputs = {"sequence_output": self.output_dropout(h, training=training)}
        if g is not None:
            outputs["query_output"] = self.output_dropout(g, training=training)
        if self.mem_len:
            outputs["memory"] = new_memory
        return outputs

    def _cache_memory(self, h, previous):
        """The reference's `_cache_mem`: the last `mem_len` states of
        `concat(previous, h[:, :reuse_len])`, without gradient."""
        if not self.mem_len or not tf.is_tensor(h) or keras.backend.is_keras_tensor(h):
            return None
        if self.reuse_len:
            h = h[:, :self.reuse_len]
        if previous is not None:
            h = tf.concat([tf.cast(previous, h.dtype), h], axis=1)
        return tf.stop_gradient(h[:, -self.mem_len:])

    def call_with_memory(self, inputs, memory=None, perm_mask=None, target_mapping=None,
                         training=False):
        """The full XLNet forward pass (eager, or inside `tf.function` / `train_step`).

        Args:
          inputs: dict with `token_ids` (B, Q) and optionally `segment_ids` and
            `padding_mask` (1 = real token); missing ones are not used (no
            segment term / nothing padded), as in the reference's pretraining.
          memory: None or a list of `num_layers` tensors (B, M, H), the
            `memory` output of the previous segment (batch-major; HF's `mems`
            are (M, B, H)). Memory positions are always visible and count as
            segment 0.
          perm_mask: optional (B, Q, Q), 1.0 = position i may NOT attend to j
            (the reference's and HF's convention).
          target_mapping: optional (B, P, Q) one-hot rows: the P positions to
            predict. Turns on the query stream.
          training: bool, dropout on or off.
        Returns:
          dict: `sequence_output` (B, Q, H) (content stream); `query_output`
          (B, P, H) when `target_mapping` is given; `memory` (a list of
          `num_layers` (B, min(M + Q', mem_len), H) tensors, Q' = reuse_len or
          Q) when `mem_len` is set.
        """
        token_ids = tf.convert_to_tensor(inputs["token_ids"])
        if memory is not None and len(memory) != self.num_layers:
            raise ValueError(f"memory must hold one tensor per layer ({self.num_layers}), "
                             f"got {len(memory)}.")
        if perm_mask is not None:
            perm_mask = tf.cast(perm_mask, tf.float32)
        if target_mapping is not None:
            target_mapping = tf.cast(target_mapping, tf.float32)
        return self._encode(
            token_ids, inputs.get("segment_ids"), inputs.get("padding_mask"),
            memory=memory, perm_mask=perm_mask, target_mapping=target_mapping,
            training=training)

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocabulary_size": self.vocabulary_size,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "intermediate_dim": self.intermediate_dim,
            "head_dim": self.head_dim,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "initializer_range": self.initializer_range,
            "untie_r": self.untie_r,
            "bi_data": self.bi_data,
            "clamp_len": self.clamp_len,
            "attn_type": self.attn_type,
            "same_length": self.same_length,
            "mem_len": self.mem_len,
            "reuse_len": self.reuse_len,
        })
        return config
