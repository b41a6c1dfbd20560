"""Shared data plumbing of the extractive question-answering tasks."""

import keras
import numpy as np
import tensorflow as tf

from kerabert.data import squad
from kerabert.tasks.task import Task


def _check_answer_argument(name, value):
    """`answer()`'s question and context: a string, or a list of strings."""
    if isinstance(value, str):
        return
    if isinstance(value, (list, tuple, np.ndarray)) and len(value):
        bad = next((i for i, s in enumerate(value) if not isinstance(s, str)), None)
        if bad is None:
            return
        got = f"a list whose item {bad} is {type(value[bad]).__name__}"
    elif isinstance(value, (list, tuple, np.ndarray)):
        got = "an empty list"
    else:
        got = "None" if value is None else f"a {type(value).__name__}"
    raise TypeError(f"answer() got {name}={got}: {name} takes a string, or a non-empty list "
                    "of strings (as many questions as contexts).")


class QuestionAnswerer(Task):
    """A task trained on SQuAD windows: `fit` / `evaluate` take a
    `kerabert.squad.SquadData` (or a `tf.data.Dataset` of packed windows).
    Subclasses say which training targets a window carries (`_labels`)."""

    task_kind = "question_answerer"

    def _labels(self, features):
        """The training targets of a `QAFeatures`, keyed like the loss."""
        return features.labels

    # --- data --------------------------------------------------------------

    def _require_preprocessor(self):
        if self.preprocessor is None:
            raise ValueError(
                f"This {type(self).__name__} has no preprocessor, so it cannot read raw "
                f"text. Build it with preprocessor={self.preprocessor_cls.__name__}(...) "
                "or load it with from_preset().")
        return self.preprocessor

    def uses_pipeline(self, x):
        """SQuAD examples (windowed by `preprocess_dataset`) and datasets go
        through the pipeline; dicts of packed windows go to Keras as they are."""
        return isinstance(x, (squad.SquadData, tf.data.Dataset))

    def check_data(self, x, y, sample_weight, method):
        if isinstance(x, squad.SquadData):
            return x, y, sample_weight  # examples, each with its answer, not texts
        return super().check_data(x, y, sample_weight, method)

    def input_description(self):
        return ("a kerabert.squad.SquadData (kerabert.squad.read_squad(path)), a dict of packed "
                "windows, or a tf.data.Dataset of them")

    def preprocess_dataset(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False,
                           drop_remainder=False, seeded=False):
        """A `SquadData` -> batches of `(windows, labels)` (`_squad_dataset`);
        a dataset of packed windows is taken as it is (its own batching)."""
        if isinstance(x, squad.SquadData):
            return self._squad_dataset(x, batch_size or 32, shuffle, drop_remainder)
        if isinstance(x, tf.data.Dataset):
            if y is not None or sample_weight is not None:
                raise ValueError("Pass y inside the tf.data.Dataset.")
            return x.prefetch(tf.data.AUTOTUNE)
        # Packed arrays: only `fit` / `predict(static_shapes=True)` come here.
        return super().preprocess_dataset(x, y, sample_weight, batch_size, shuffle,
                                          drop_remainder, seeded)

    def count_rows(self, x):
        # A SQuAD example makes as many windows as its context needs.
        return None if isinstance(x, squad.SquadData) else super().count_rows(x)

    # Examples featurized at a time when streaming a SQuAD file into training.
    stream_chunk_size = 2000

    def _squad_dataset(self, data, batch_size, shuffle, drop_remainder=False):
        """SQuAD examples -> a batched dataset of (inputs, labels) windows.

        Windows keep the preprocessor's full `sequence_length` (training never
        trims them), so with `drop_remainder=True` every batch has one static
        shape (what `fit(static_shapes=True)` asks for).

        Small sets are featurized at once. Larger ones stream: windows are built
        `stream_chunk_size` examples at a time inside a generator, so memory stays
        bounded on the full SQuAD train set, and the dataset still knows its
        length (counted from token lengths) to size the learning-rate schedule.
        """
        preprocessor = self._require_preprocessor()

        def featurize(examples):
            features = preprocessor.featurize(
                [e.question for e in examples], [e.context for e in examples],
                answer_starts=[e.answer_start for e in examples],
                answer_texts=[e.answer_text for e in examples])
            return features.inputs, self._labels(features)

        if len(data) <= self.stream_chunk_size:
            dataset = tf.data.Dataset.from_tensor_slices(featurize(data))
            buffer = len(dataset)
        else:
            # The element signature, from one featurized example.
            signature = tf.nest.map_structure(
                lambda a: tf.TensorSpec(a.shape[1:], tf.as_dtype(a.dtype)), featurize(data[:1]))
            order = np.arange(len(data))

            def windows():
                if shuffle:
                    np.random.shuffle(order)
                for i in range(0, len(data), self.stream_chunk_size):
                    inputs, labels = featurize([data[j] for j in order[i:i + self.stream_chunk_size]])
                    for row in range(len(next(iter(inputs.values())))):
                        yield ({k: v[row] for k, v in inputs.items()},
                               {k: v[row] for k, v in labels.items()})

            total = preprocessor.count_windows([e.question for e in data],
                                               [e.context for e in data])
            dataset = tf.data.Dataset.from_generator(windows, output_signature=signature)
            dataset = dataset.apply(tf.data.experimental.assert_cardinality(total))
            buffer = 4 * self.stream_chunk_size
        if shuffle:
            dataset = dataset.shuffle(buffer, reshuffle_each_iteration=True)
        return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(
            tf.data.AUTOTUNE)

    # --- inference -----------------------------------------------------------

    def answer_settings(self, max_seq_len=None, doc_stride=None, max_answer_len=None,
                        max_question_len=None):
        """`answer()`'s window and span settings, with the defaults of the HF
        question-answering pipeline, checked. The SavedModel export
        (`export`) fixes the same settings in its signature.

        Returns a dict of ints: `max_seq_len` (default: the preprocessor's
        length, at most 384), `doc_stride` (tokens consecutive windows share;
        default min(max_seq_len // 2, 128)), `max_answer_len` (15),
        `max_question_len` (64).
        """
        preprocessor = self._require_preprocessor()
        max_seq_len = int(max_seq_len or min(preprocessor.sequence_length, 384))
        # XLNet's relative positions have no limit.
        limit = getattr(self.backbone, "max_sequence_length", None)
        if limit and max_seq_len > limit:
            raise ValueError(f"max_seq_len={max_seq_len} exceeds the model's {limit} positions.")
        if doc_stride is None:
            doc_stride = min(max_seq_len // 2, 128)
        if doc_stride > max_seq_len:
            raise ValueError(f"doc_stride ({doc_stride}) is larger than max_seq_len ({max_seq_len}).")
        return {"max_seq_len": max_seq_len, "doc_stride": int(doc_stride),
                "max_answer_len": int(max_answer_len or 15),
                "max_question_len": int(64 if max_question_len is None else max_question_len)}

    def _pipeline_windows(self, question, context, top_k, settings):
        """`answer`'s questions and contexts cut into windows with `settings`
        (`answer_settings`).

        Returns `(single, contexts, features)`: whether one question (not a
        list) was asked, the contexts as a list, and their `QAFeatures`.
        """
        preprocessor = self._require_preprocessor()
        _check_answer_argument("question", question)
        _check_answer_argument("context", context)
        single = isinstance(question, str)
        questions = [question] if single else list(question)
        contexts = [context] if isinstance(context, str) else list(context)
        if single != isinstance(context, str) or len(questions) != len(contexts):
            raise ValueError("Pass one question with one context, or two lists of equal length.")
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}.")
        features = preprocessor.featurize(
            questions, contexts, sequence_length=settings["max_seq_len"],
            doc_stride=settings["doc_stride"], max_query_length=settings["max_question_len"],
            stride_mode="overlap")
        return single, contexts, features

    def _predict_windows(self, features, batch_size, callbacks=None):
        """Model outputs for every window of a `QAFeatures`, as numpy arrays.

        `callbacks`: Keras callbacks, called as `predict` calls them (e.g.
        `kerabert.callbacks.RichProgress`)."""
        # predict_on_batch per chunk: `predict` sets up an epoch iterator and
        # callbacks, ~80 ms of overhead that dominates answering one question.
        total = len(features.example_index)
        starts = range(0, total, batch_size)
        callbacks = keras.callbacks.CallbackList(callbacks, model=self, epochs=1,
                                                 steps=len(starts), verbose=0)
        callbacks.on_predict_begin()
        chunks = []
        for step, i in enumerate(starts):
            callbacks.on_predict_batch_begin(step)
            chunks.append(self.predict_on_batch(
                {k: v[i:i + batch_size] for k, v in features.inputs.items()}))
            callbacks.on_predict_batch_end(step)
        callbacks.on_predict_end()
        return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
