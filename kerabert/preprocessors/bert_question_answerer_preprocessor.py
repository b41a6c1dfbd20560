"""Question + context -> BERT windows, with everything span decoding needs."""

import keras
import numpy as np

from kerabert.preprocessors.question_answerer_preprocessor import QuestionAnswererPreprocessor
from kerabert.tokenizers.bert_tokenizer import BertTokenizer


@keras.saving.register_keras_serializable(package="kerabert")
class BertQuestionAnswererPreprocessor(QuestionAnswererPreprocessor):
    """Packs `[CLS] question [SEP] context-window [SEP]` windows.

    The question is truncated to `max_query_length` tokens; the context is cut
    into windows of `sequence_length - len(question) - 3` tokens. Segment ids are
    0 for [CLS], question and the first [SEP], 1 for the context and last [SEP].

    Args:
      tokenizer: a `BertTokenizer`.
      sequence_length: int, window length L (reference 384).
      doc_stride: int, reference meaning: how far each window advances (128).
      max_query_length: int (64).
    """

    tokenizer_cls = BertTokenizer

    def __init__(self, tokenizer, sequence_length=384, **kwargs):
        super().__init__(tokenizer, sequence_length=sequence_length, **kwargs)

    def word_ids(self, token_ids, token_starts, contexts):
        # A word is a token plus the "##" continuations after it. Which ids
        # continue a word is read from the vocabulary once (30k strings).
        continuation = getattr(self, "_continuation", None)
        if continuation is None:
            continuation = self._continuation = np.array(
                [t.startswith(self.tokenizer.suffix_indicator)
                 for t in self.tokenizer.get_vocabulary()])
        word_ids = []
        for ids in token_ids:
            ids = np.asarray(ids, dtype=np.int32)
            word_ids.append(np.cumsum(~continuation[ids]) - 1 if len(ids) else ids)
        return word_ids

    def pack_window(self, query, window, length):
        tok = self.tokenizer
        sequence = [tok.cls_token_id, *query, tok.sep_token_id, *window, tok.sep_token_id]
        offset = len(query) + 2  # [CLS] question [SEP]
        token_ids = np.full(length, tok.pad_token_id, dtype=np.int32)
        token_ids[:len(sequence)] = sequence
        segment_ids = np.zeros(length, dtype=np.int32)
        segment_ids[offset:len(sequence)] = 1
        mask = np.zeros(length, dtype=np.int32)
        mask[:len(sequence)] = 1
        inputs = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}
        return inputs, offset, 0  # [CLS] stands for "no answer"
