"""Question + context -> XLNet windows (paragraph first, <cls> last)."""

import keras
import numpy as np

from kerabert.preprocessors.question_answerer_preprocessor import QuestionAnswererPreprocessor
from kerabert.preprocessors.xlnet_preprocessor import require_special_tokens
from kerabert.tokenizers.xlnet_tokenizer import SPIECE_UNDERLINE
from kerabert.tokenizers.xlnet_tokenizer import XLNetTokenizer

# Segment ids of the reference SQuAD data (squad_utils.py); PAD differs from
# classification's 4.
SEGMENT_P = 0
SEGMENT_Q = 1
SEGMENT_CLS = 2
SEGMENT_PAD = 3


def context_word_ids(pieces, starts, context):
    """The word of each context piece, int64 (T,), starting at 0.

    A piece starting with "▁" starts a word, and so does a piece right after
    whitespace in the original context (SentencePiece does not always mark
    those, e.g. after characters it turned into spaces). A bare "▁" (an empty
    span before, say, an unknown character) belongs to the piece after it, so
    "▁" + "<unk>" is one word, as in HF's pre-tokenisation on spaces.
    """
    if not pieces:
        return np.zeros(0, np.int64)
    new_word = np.array([
        p.startswith(SPIECE_UNDERLINE) or (s > 0 and context[s - 1].isspace())
        for p, s in zip(pieces, starts)])
    bare = np.array([p == SPIECE_UNDERLINE for p in pieces])
    new_word[1:] &= ~bare[:-1]
    new_word[0] = True
    return np.cumsum(new_word) - 1


@keras.saving.register_keras_serializable(package="kerabert")
class XLNetQuestionAnswererPreprocessor(QuestionAnswererPreprocessor):
    """Packs `context-window <sep> question <sep> <cls>` windows.

    The layout of the reference `convert_examples_to_features`
    (official/nlp/xlnet/squad_utils.py): the paragraph comes first (pretraining
    put the shorter segment second), <cls> last, padding on the RIGHT.

    Per window (L = sequence length), in `QAFeatures.inputs`, int32:
      `token_ids` (N, L): padding is the tokenizer's `pad_token_id` (HF's
        choice; the reference pads with 0).
      `segment_ids` (N, L): 0 for the window and its <sep>, 1 for the question
        and its <sep>, 2 for <cls>, 3 for padding.
      `padding_mask` (N, L): 1 = real token (the reference `input_mask` is the
        opposite).
      `p_mask` (N, L): 1 where an answer cannot be (both <sep>s, question,
        padding), 0 for context tokens and <cls> (the null answer).
      `cls_index` (N,): position of <cls>.
    Context offsets come from `XLNetTokenizer.tokenize_with_offsets`, so
    answers are exact slices of the caller's context (the reference aligns
    pieces to characters with an approximate LCS instead).

    Args:
      tokenizer: an `XLNetTokenizer` with <cls>, <sep> and <pad>.
      sequence_length: int, window length L (512).
      doc_stride: int, reference meaning: how far each window advances (128).
      max_query_length: int, question tokens kept (64).
    """

    tokenizer_cls = XLNetTokenizer
    targets_is_impossible = True

    def __init__(self, tokenizer, sequence_length=512, **kwargs):
        super().__init__(tokenizer, sequence_length=sequence_length, **kwargs)

    def check_tokenizer(self):
        require_special_tokens(self.tokenizer, type(self).__name__)

    def word_ids(self, token_ids, token_starts, contexts):
        vocabulary = self.tokenizer.get_vocabulary()
        return [context_word_ids([vocabulary[t] for t in ids], starts, context)
                for ids, starts, context in zip(token_ids, token_starts, contexts)]

    def pack_window(self, query, window, length):
        tok = self.tokenizer
        count = len(window)
        sequence = [*window, tok.sep_token_id, *query, tok.sep_token_id, tok.cls_token_id]
        cls_index = len(sequence) - 1
        token_ids = np.full(length, tok.pad_token_id, dtype=np.int32)
        token_ids[:len(sequence)] = sequence
        segment_ids = np.full(length, SEGMENT_PAD, dtype=np.int32)
        segment_ids[:count + 1] = SEGMENT_P
        segment_ids[count + 1:cls_index] = SEGMENT_Q
        segment_ids[cls_index] = SEGMENT_CLS
        mask = np.zeros(length, dtype=np.int32)
        mask[:len(sequence)] = 1
        p_mask = np.ones(length, dtype=np.int32)
        p_mask[:count] = 0
        p_mask[cls_index] = 0
        inputs = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask,
                  "p_mask": p_mask, "cls_index": np.int32(cls_index)}
        return inputs, 0, cls_index  # <cls> stands for "no answer"
