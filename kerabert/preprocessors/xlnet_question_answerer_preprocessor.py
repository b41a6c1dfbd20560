"""Question + context -> XLNet windows (paragraph first, <cls> last)."""

import keras
import numpy as np

from kerabert.preprocessors.bert_question_answerer_preprocessor import QAFeatures
from kerabert.preprocessors.bert_question_answerer_preprocessor import max_context_flags
from kerabert.preprocessors.bert_question_answerer_preprocessor import window_starts
from kerabert.preprocessors.preprocessor import Preprocessor
from kerabert.preprocessors.xlnet_preprocessor import require_special_tokens
from kerabert.tokenizers.tokenizer import convert_to_string_tensor
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
class XLNetQuestionAnswererPreprocessor(Preprocessor):
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

    def __init__(self, tokenizer, sequence_length=512, doc_stride=128, max_query_length=64,
                 **kwargs):
        super().__init__(tokenizer, **kwargs)
        self.sequence_length = int(sequence_length)
        self.doc_stride = int(doc_stride)
        self.max_query_length = int(max_query_length)

    def call(self, x, y=None, sample_weight=None):
        raise TypeError(
            "XLNetQuestionAnswererPreprocessor turns one example into several windows, "
            "so it cannot be mapped over a dataset element by element. Use "
            "preprocessor.featurize(questions, contexts) (or the question-answering "
            "task's fit/answer, which call it).")

    def featurize(self, questions, contexts, answer_starts=None, answer_texts=None,
                  sequence_length=None, doc_stride=None, max_query_length=None,
                  stride_mode="step"):
        """Builds the windows of a batch of examples.

        Args:
          questions, contexts: lists of str (same length).
          answer_starts, answer_texts: optional training targets, character
            offset into the context and text per example (offset -1 or None, or
            text "", for unanswerable).
          stride_mode: "step" (reference) or "overlap" (HF pipeline), see
            `window_starts`.
        Returns: a `QAFeatures`; with targets, `start_positions` /
        `end_positions` are token positions in the window (the answer's first
        and last token), or `cls_index` with `is_impossible` 1.0 when the
        example is unanswerable or its answer is not fully inside the window.
        """
        length = int(sequence_length or self.sequence_length)
        stride = int(self.doc_stride if doc_stride is None else doc_stride)
        max_query = int(max_query_length or self.max_query_length)
        questions, contexts = list(questions), list(contexts)
        if len(questions) != len(contexts):
            raise ValueError(f"Got {len(questions)} questions but {len(contexts)} contexts.")
        for i, (q, c) in enumerate(zip(questions, contexts)):
            if not isinstance(q, str) or not q.strip():
                raise ValueError(f"Question {i} is empty; a question is needed to find an answer.")
            if not isinstance(c, str) or not c.strip():
                raise ValueError(f"Context {i} is empty; there is nothing to answer from.")
        tok = self.tokenizer
        require_special_tokens(tok, "XLNetQuestionAnswererPreprocessor")
        who = "XLNetQuestionAnswererPreprocessor"
        q_ids = tok.tokenize(convert_to_string_tensor(questions, who)).to_list()
        c_ids, c_starts, c_ends = (
            t.to_list() for t in tok.tokenize_with_offsets(convert_to_string_tensor(contexts, who)))
        vocabulary = tok.get_vocabulary()

        rows = {"token_ids": [], "segment_ids": [], "padding_mask": [], "p_mask": []}
        cls_indices, example_index, context_index, max_context = [], [], [], []
        starts_out, ends_out, impossible_out = [], [], []
        word_ids_all = []
        training = answer_starts is not None
        for i, (query, ids) in enumerate(zip(q_ids, c_ids)):
            query = query[:max_query]
            budget = length - len(query) - 3
            if budget < 1:
                raise ValueError(
                    f"sequence_length={length} leaves no room for context after a "
                    f"{len(query)}-token question; raise sequence_length or lower "
                    "max_query_length.")
            token_starts = np.asarray(c_starts[i], dtype=np.int64)
            token_ends = np.asarray(c_ends[i], dtype=np.int64)
            word_ids_all.append(context_word_ids(
                [vocabulary[t] for t in ids], c_starts[i], contexts[i]))
            windows = [(s, min(budget, len(ids) - s))
                       for s in window_starts(len(ids), budget, stride, stride_mode)]
            best = max_context_flags(windows, len(ids))
            answer_tokens = None
            if training and answer_starts[i] is not None and answer_starts[i] >= 0 \
                    and answer_texts[i]:
                a_start = answer_starts[i]
                a_end = a_start + len(answer_texts[i])
                # Empty spans (a bare "▁") never belong to an answer.
                inside = np.nonzero((token_ends > a_start) & (token_starts < a_end)
                                    & (token_ends > token_starts))[0]
                if len(inside):
                    answer_tokens = (inside[0], inside[-1])
            for w, (start, count) in enumerate(windows):
                sequence = [*ids[start:start + count], tok.sep_token_id,
                            *query, tok.sep_token_id, tok.cls_token_id]
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
                index = np.full(length, -1, dtype=np.int64)
                index[:count] = np.arange(start, start + count)
                flags = np.zeros(length, dtype=bool)
                flags[:count] = best[start:start + count] == w
                rows["token_ids"].append(token_ids)
                rows["segment_ids"].append(segment_ids)
                rows["padding_mask"].append(mask)
                rows["p_mask"].append(p_mask)
                cls_indices.append(cls_index)
                example_index.append(i)
                context_index.append(index)
                max_context.append(flags)
                if training:
                    if (answer_tokens and start <= answer_tokens[0]
                            and answer_tokens[1] < start + count):
                        starts_out.append(answer_tokens[0] - start)
                        ends_out.append(answer_tokens[1] - start)
                        impossible_out.append(0.0)
                    else:
                        starts_out.append(cls_index)
                        ends_out.append(cls_index)
                        impossible_out.append(1.0)
        inputs = {k: np.stack(v) for k, v in rows.items()}
        inputs["cls_index"] = np.asarray(cls_indices, dtype=np.int32)
        return QAFeatures(
            inputs=inputs,
            example_index=np.asarray(example_index),
            context_index=np.stack(context_index),
            max_context=np.stack(max_context),
            token_starts=[np.asarray(s, dtype=np.int64) for s in c_starts],
            token_ends=[np.asarray(e, dtype=np.int64) for e in c_ends],
            word_ids=word_ids_all,
            start_positions=np.asarray(starts_out, dtype=np.int32) if training else None,
            end_positions=np.asarray(ends_out, dtype=np.int32) if training else None,
            is_impossible=np.asarray(impossible_out, dtype=np.float32) if training else None,
        )

    def count_windows(self, questions, contexts):
        """How many windows `featurize` (reference striding) makes, from token
        counts alone; lets a streamed dataset know its length up front."""
        tok = self.tokenizer
        who = "XLNetQuestionAnswererPreprocessor"
        q_lengths = tok.tokenize(convert_to_string_tensor(list(questions), who))
        c_lengths = tok.tokenize(convert_to_string_tensor(list(contexts), who))
        total = 0
        for q, c in zip(q_lengths.row_lengths().numpy(), c_lengths.row_lengths().numpy()):
            budget = self.sequence_length - min(int(q), self.max_query_length) - 3
            total += len(window_starts(int(c), max(budget, 1), self.doc_stride, "step"))
        return total

    def get_config(self):
        config = super().get_config()
        config.update({"sequence_length": self.sequence_length, "doc_stride": self.doc_stride,
                       "max_query_length": self.max_query_length})
        return config
