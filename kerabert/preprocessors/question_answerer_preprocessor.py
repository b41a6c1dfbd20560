"""Question + context -> windows, with everything span decoding needs.

The striding, max-context bookkeeping and training targets of the reference
`convert_examples_to_features`, shared by BERT and XLNet; each model's
subclass only says how one window is laid out.
"""

import dataclasses

import numpy as np

from kerabert.preprocessors.preprocessor import Preprocessor
from kerabert.tokenizers.tokenizer import convert_to_string_tensor


@dataclasses.dataclass
class QAFeatures:
    """Windows of one or more (question, context) examples.

    Arrays have one row per window (N windows, L = sequence length):
      `inputs`: dict of int32 `token_ids`, `segment_ids`, `padding_mask`, (N, L).
      `example_index`: (N,) which example a window belongs to.
      `context_index`: (N, L) index of the context token at each position, -1
        for [CLS], question, [SEP] and padding.
      `max_context`: (N, L) bool, True where this window gives the token its
        best context (the reference's `_check_is_max_context`).
      `start_positions`, `end_positions`: (N,) training targets (0 = [CLS] when
        the answer is not inside the window or the question is unanswerable;
        XLNet: the position of <cls>, `inputs["cls_index"]`); None at inference.
      `is_impossible`: (N,) float32, 1.0 where the target is the null answer
        (unanswerable, or the answer is not fully inside the window); set by
        XLNet's preprocessor (the reference's `is_impossible` feature), None for
        BERT and at inference.
    XLNet windows also put `p_mask` (N, L) and `cls_index` (N,) in `inputs`.
    Per example: `token_starts` / `token_ends`, character offsets of its context
    tokens in the original context, and `word_ids`, the pre-tokenization word of
    each context token (for aligning answers to whole words as HF does).
    """

    inputs: dict
    example_index: np.ndarray
    context_index: np.ndarray
    max_context: np.ndarray
    token_starts: list
    token_ends: list
    word_ids: list
    start_positions: np.ndarray = None
    end_positions: np.ndarray = None
    is_impossible: np.ndarray = None

    def trimmed(self, multiple=8):
        """The same windows without padding columns beyond the longest window,
        rounded up to `multiple`. Keras' predict function relaxes its input
        shapes after a second length, so fine rounding costs no retracing, and
        a one-question `answer()` computes little more than its own tokens."""
        longest = int(self.inputs["padding_mask"].sum(axis=1).max()) if len(self.example_index) else 0
        width = min(self.inputs["token_ids"].shape[1], -(-max(longest, 1) // multiple) * multiple)
        # Per-window inputs such as XLNet's `cls_index` (N,) are kept whole.
        return dataclasses.replace(
            self, inputs={k: v[:, :width] if v.ndim == 2 else v for k, v in self.inputs.items()},
            context_index=self.context_index[:, :width], max_context=self.max_context[:, :width])

    @property
    def labels(self):
        return {"start_logits": self.start_positions, "end_logits": self.end_positions}


def window_starts(num_tokens, budget, doc_stride, stride_mode):
    """Where each window of `budget` context tokens starts.

    "step" (the reference `convert_examples_to_features`): the next window starts
    `doc_stride` tokens after the previous one. "overlap" (HF tokenizers'
    `stride`, used by the question-answering pipeline): consecutive windows
    share `doc_stride` tokens.
    """
    if stride_mode == "step":
        step = doc_stride
    elif stride_mode == "overlap":
        step = budget - doc_stride
    else:
        raise ValueError(f"stride_mode must be 'step' or 'overlap', got {stride_mode!r}.")
    if step <= 0:
        raise ValueError(
            f"doc_stride={doc_stride} leaves no room to advance: with {budget} context "
            "tokens per window it must be " +
            ("positive." if stride_mode == "step" else f"smaller than {budget}."))
    starts = [0]
    while starts[-1] + budget < num_tokens:
        starts.append(starts[-1] + min(step, budget))
    return starts


def max_context_flags(windows, num_tokens):
    """For each window, whether it is the best one for each of its tokens:
    score = min(tokens to the left, tokens to the right) + 0.01 * window length,
    ties to the earlier window (the reference's `_check_is_max_context`)."""
    best_score = np.full(num_tokens, -1.0)
    best_window = np.zeros(num_tokens, dtype=np.int64)
    for w, (start, length) in enumerate(windows):
        position = np.arange(start, start + length)
        score = np.minimum(position - start, start + length - 1 - position) + 0.01 * length
        better = score > best_score[position]
        best_score[position[better]] = score[better]
        best_window[position[better]] = w
    return best_window


class QuestionAnswererPreprocessor(Preprocessor):
    """Cuts each (question, context) example into windows of the context, each
    packed with the question truncated to `max_query_length` tokens.

    A window holds `sequence_length - len(question) - 3` context tokens (three
    special tokens in both layouts). Subclasses give the layout
    (`pack_window`) and the word of each context token (`word_ids`),
    and set `tokenizer_cls` and the default `sequence_length`.

    Args:
      tokenizer: the model's tokenizer.
      sequence_length: int, window length L.
      doc_stride: int, reference meaning: how far each window advances (128).
      max_query_length: int, question tokens kept (64).
    """

    # Whether windows carry the reference XLNet `is_impossible` target.
    targets_is_impossible = False

    def __init__(self, tokenizer, sequence_length, doc_stride=128, max_query_length=64,
                 **kwargs):
        super().__init__(tokenizer, **kwargs)
        self.sequence_length = int(sequence_length)
        self.doc_stride = int(doc_stride)
        self.max_query_length = int(max_query_length)

    def call(self, x, y=None, sample_weight=None):
        """In-graph windows of a batch of `(questions, contexts)` ((B,) strings
        each), for inference pipelines: the model inputs of every window, (N, L)
        with N >= B (a long context gives several windows, a blank question or
        context none), in example order. In `tf.data`:
        `dataset.batch(8).map(preprocessor).unbatch().batch(32)`. The windows
        equal `featurize(..., stride_mode="step")`'s; to know which example a
        window came from, or to train, use `featurize` (or the task's
        `fit(kerabert.squad.load(...))` / `answer(...)`, which call it).
        """
        if y is not None or sample_weight is not None:
            raise ValueError(
                f"{type(self).__name__} computes training targets (answer positions) in "
                "Python: train with task.fit(kerabert.squad.load(...)) or "
                "preprocessor.featurize(..., answer_starts=..., answer_texts=...).")
        if not (isinstance(x, tuple) and len(x) == 2):
            raise TypeError(
                f"{type(self).__name__} takes a tuple (questions, contexts) of string batches. "
                "For training windows, or to know which example each window came from, use "
                "preprocessor.featurize(questions, contexts).")
        from kerabert.preprocessors.question_answerer_windows import question_answerer_windows

        questions, contexts = (convert_to_string_tensor(t, type(self).__name__) for t in x)
        windows = question_answerer_windows(
            self.tokenizer, questions, contexts, sequence_length=self.sequence_length,
            doc_stride=self.doc_stride, max_query_length=self.max_query_length,
            stride_mode="step")
        return windows["inputs"]

    # --- what a model's layout supplies --------------------------------------

    def word_ids(self, token_ids, token_starts, contexts):
        """Per example, the pre-tokenization word of each context token."""
        raise NotImplementedError

    def pack_window(self, query, window, length):
        """Lays out one window of `length` positions.

        Args:
          query: list of the (truncated) question's token ids.
          window: list of the window's context token ids.
        Returns: `(inputs, offset, null_position)`: the window's row of each
        input (in `QAFeatures.inputs` order), where its first context token
        is, and the position that stands for "no answer".
        """
        raise NotImplementedError

    # -------------------------------------------------------------------------

    def _tokenize(self, texts):
        return self.tokenizer.tokenize(convert_to_string_tensor(list(texts), type(self).__name__))

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
        and last token), or the layout's null position when the example is
        unanswerable or its answer is not fully inside the window.
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
        self.check_tokenizer()
        q_ids = self._tokenize(questions).to_list()
        c_ids, c_starts, c_ends = (t.to_list() for t in self.tokenizer.tokenize_with_offsets(
            convert_to_string_tensor(contexts, type(self).__name__)))
        # Text of only characters the tokenizer drops (controls, zero-width and
        # format characters) passes the strip() checks above but has no tokens.
        for i, (query, ids) in enumerate(zip(q_ids, c_ids)):
            for name, tokens in (("Question", query), ("Context", ids)):
                if not tokens:
                    raise ValueError(
                        f"{name} {i} has no tokens: it holds only characters the tokenizer "
                        "drops (control, zero-width or format characters), so it is empty "
                        "to the model; give it some text.")
        token_starts = [np.asarray(s, dtype=np.int64) for s in c_starts]
        token_ends = [np.asarray(e, dtype=np.int64) for e in c_ends]

        rows = {}
        example_index, context_index, max_context = [], [], []
        starts_out, ends_out, impossible_out = [], [], []
        training = answer_starts is not None
        for i, (query, ids) in enumerate(zip(q_ids, c_ids)):
            query = query[:max_query]
            budget = length - len(query) - 3
            if budget < 1:
                raise ValueError(
                    f"sequence_length={length} leaves no room for context after a "
                    f"{len(query)}-token question; raise sequence_length or lower "
                    "max_query_length.")
            windows = [(s, min(budget, len(ids) - s))
                       for s in window_starts(len(ids), budget, stride, stride_mode)]
            best = max_context_flags(windows, len(ids))
            answer_tokens = None
            if training:
                answer_tokens = _answer_tokens(
                    token_starts[i], token_ends[i], answer_starts[i], answer_texts[i])
            for w, (start, count) in enumerate(windows):
                inputs, offset, null_position = self.pack_window(
                    query, ids[start:start + count], length)
                for key, value in inputs.items():
                    rows.setdefault(key, []).append(value)
                index = np.full(length, -1, dtype=np.int64)
                index[offset:offset + count] = np.arange(start, start + count)
                flags = np.zeros(length, dtype=bool)
                flags[offset:offset + count] = best[start:start + count] == w
                example_index.append(i)
                context_index.append(index)
                max_context.append(flags)
                if training:
                    if (answer_tokens and start <= answer_tokens[0]
                            and answer_tokens[1] < start + count):
                        starts_out.append(answer_tokens[0] - start + offset)
                        ends_out.append(answer_tokens[1] - start + offset)
                        impossible_out.append(0.0)
                    else:
                        starts_out.append(null_position)
                        ends_out.append(null_position)
                        impossible_out.append(1.0)
        impossible = training and self.targets_is_impossible
        return QAFeatures(
            inputs={k: np.stack(v) for k, v in rows.items()},
            example_index=np.asarray(example_index),
            context_index=np.stack(context_index),
            max_context=np.stack(max_context),
            token_starts=token_starts,
            token_ends=token_ends,
            word_ids=self.word_ids(c_ids, c_starts, contexts),
            start_positions=np.asarray(starts_out, dtype=np.int32) if training else None,
            end_positions=np.asarray(ends_out, dtype=np.int32) if training else None,
            is_impossible=np.asarray(impossible_out, dtype=np.float32) if impossible else None,
        )

    def count_windows(self, questions, contexts):
        """How many windows `featurize` (reference striding) makes, from token
        counts alone; lets a streamed dataset know its length up front."""
        q_lengths = self._tokenize(questions).row_lengths().numpy()
        c_lengths = self._tokenize(contexts).row_lengths().numpy()
        total = 0
        for q, c in zip(q_lengths, c_lengths):
            budget = self.sequence_length - min(int(q), self.max_query_length) - 3
            total += len(window_starts(int(c), max(budget, 1), self.doc_stride, "step"))
        return total

    def get_config(self):
        config = super().get_config()
        config.update({"sequence_length": self.sequence_length, "doc_stride": self.doc_stride,
                       "max_query_length": self.max_query_length})
        return config


def _answer_tokens(token_starts, token_ends, answer_start, answer_text):
    """First and last context token overlapping the answer's characters, or
    None for an unanswerable example. Empty spans (XLNet's bare "▁") never
    belong to an answer."""
    if answer_start is None or answer_start < 0 or not answer_text:
        return None
    answer_end = answer_start + len(answer_text)
    inside = np.nonzero((token_ends > answer_start) & (token_starts < answer_end)
                        & (token_ends > token_starts))[0]
    return (inside[0], inside[-1]) if len(inside) else None
