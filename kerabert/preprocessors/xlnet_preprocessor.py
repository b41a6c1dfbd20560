"""Packs one or two text segments as XLNet inputs (classification layout)."""

import keras
import tensorflow as tf

from kerabert.preprocessors.segment_preprocessor import SegmentPreprocessor
from kerabert.tokenizers.xlnet_tokenizer import XLNetTokenizer

# Segment ids of the reference classification data (classifier_utils.py).
SEGMENT_A = 0
SEGMENT_B = 1
SEGMENT_CLS = 2
SEGMENT_PAD = 4


def require_special_tokens(tokenizer, who):
    """XLNet packing needs <cls>, <sep> and <pad> in the SentencePiece model."""
    tokenizer.check_vocabulary()
    missing = [name for name in ("cls", "sep", "pad")
               if getattr(tokenizer, f"{name}_token_id") is None]
    if missing:
        raise ValueError(
            f"{who} needs the tokens {['<%s>' % m for m in missing]} in the "
            "SentencePiece model; this model lacks them (XLNet's spiece.model has "
            "them as user-defined symbols).")


@keras.saving.register_keras_serializable(package="kerabert")
class XLNetPreprocessor(SegmentPreprocessor):
    """Tokenizes and packs `A <sep> <cls>` or `A <sep> B <sep> <cls>`.

    The layout of the reference `convert_single_example`
    (official/nlp/xlnet/classifier_utils.py): <cls> comes LAST and padding goes
    on the LEFT, so the <cls> summary token is always at position L - 1.

    Differences from the reference, on purpose:
    - Padding ids are the tokenizer's `pad_token_id` (5 in XLNet's vocabulary),
      as HF `XLNetTokenizer` pads; the reference pads with id 0 (<unk>). The
      model never attends to padding, so this only changes the padded ids.
    - `padding_mask` is 1 for real tokens and 0 for padding (kerabert's
      convention; the reference `input_mask` is the opposite, and the XLNet
      backbone converts).
    - Padding segment id is the reference's 4 (SEG_ID_PAD); HF uses 3
      (`pad_token_type_id`). Real tokens get the same segment ids in all three.

    Truncation: as `SegmentPreprocessor`'s.

    Args:
      tokenizer: an `XLNetTokenizer` whose model has <cls>, <sep> and <pad>.
      sequence_length: int, output length L (>= 3).
      truncate: "round_robin" or "waterfall".

    Call arguments:
      x: a string or batch of strings, or a tuple `(a, b)` of those for pairs.
      y, sample_weight: passed through.
      sequence_length: optional override of L for this call.
    Returns:
      dict of int32 `token_ids`, `segment_ids` (A and its <sep> 0, B and its
      <sep> 1, <cls> 2, padding 4) and `padding_mask` (1 = real token), each
      (B, L) (or (L,) for one unbatched example), plus y and sample_weight when
      given.
    """

    tokenizer_cls = XLNetTokenizer

    def check_tokenizer(self):
        require_special_tokens(self.tokenizer, type(self).__name__)

    def pack_inputs(self, tokens, sequence_length):
        """Trims, adds <sep>/<cls> and left-pads ragged (B, None) segments."""
        tok = self.tokenizer
        tokens = [tf.cast(t, tf.int32) for t in self.trim(tokens, sequence_length)]
        batch = tokens[0].nrows()

        def column(value):
            return tf.RaggedTensor.from_tensor(tf.fill(tf.stack([batch, 1]), value))

        pieces, segments = [], []
        for index, segment in enumerate(tokens):
            segment = tf.concat([segment, column(tok.sep_token_id)], axis=1)
            pieces.append(segment)
            segments.append(tf.ones_like(segment) * index)
        pieces.append(column(tok.cls_token_id))
        segments.append(column(SEGMENT_CLS))
        token_ids = tf.concat(pieces, axis=1)
        segment_ids = tf.concat(segments, axis=1)
        shape = [None, sequence_length]
        dense = [token_ids.to_tensor(default_value=tok.pad_token_id, shape=shape),
                 segment_ids.to_tensor(default_value=SEGMENT_PAD, shape=shape),
                 tf.ones_like(token_ids).to_tensor(default_value=0, shape=shape)]
        # Right padding -> left padding: rotate each row right by its padding.
        shift = sequence_length - tf.cast(token_ids.row_lengths(), tf.int32)
        source = tf.math.floormod(tf.range(sequence_length)[None, :] - shift[:, None],
                                  sequence_length)
        names = ("token_ids", "segment_ids", "padding_mask")
        return {name: tf.gather(d, source, batch_dims=1) for name, d in zip(names, dense)}
