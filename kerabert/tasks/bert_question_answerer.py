"""BERT extractive question answering (SQuAD v1.1 / v2.0)."""

import keras

from kerabert.backbones.bert_backbone import BertBackbone
from kerabert.data import squad
from kerabert.preprocessors.bert_question_answerer_preprocessor import (
    BertQuestionAnswererPreprocessor,
)
from kerabert.tasks import span_decoding
from kerabert.tasks.question_answerer import QuestionAnswerer


@keras.saving.register_keras_serializable(package="kerabert")
class BertQuestionAnswerer(QuestionAnswerer):
    """Start and end logits over BERT's sequence output.

    A dense layer (`span_logits`, H -> 2) on every token, split into start and
    end logits; the default loss is the reference's mean of the start and end
    cross-entropies.

    Args:
      backbone: a `BertBackbone`.
      preprocessor: a `BertQuestionAnswererPreprocessor`, or None.

    Inputs: dict `token_ids`, `segment_ids`, `padding_mask`, (B, L) int32.
    Outputs: dict `start_logits`, `end_logits`, (B, L) float32. Training
    targets are token positions under the same keys (0 = [CLS] = no answer).

    Example:
    ```python
    qa = kerabert.BertQuestionAnswerer.from_preset("path/to/bert-squad")
    qa.answer(question="Who wrote Hamlet?", context="Hamlet is a tragedy written by ...")
    # {"answer": "William Shakespeare", "start": 31, "end": 50, "score": 0.97}
    qa.fit(kerabert.squad.load("train-v1.1.json"), epochs=2)
    predictions = qa.predict_squad("dev-v1.1.json")
    kerabert.squad.evaluate("dev-v1.1.json", predictions)
    ```
    """

    backbone_cls = BertBackbone
    preprocessor_cls = BertQuestionAnswererPreprocessor
    # The pooler is not part of the span head, so it gets no gradient.
    unused_weights = ("pooled_dense",)

    def __init__(self, backbone, preprocessor=None, compile=True, **kwargs):
        # === Layers ===
        # Logits in float32 under mixed precision (stable softmax and loss).
        self.span_logits = keras.layers.Dense(
            2, kernel_initializer=keras.initializers.TruncatedNormal(
                stddev=backbone.initializer_range),
            dtype="float32", name="span_logits")

        # === Functional Model ===
        inputs = backbone.input
        logits = self.span_logits(backbone(inputs)["sequence_output"])
        outputs = {"start_logits": logits[..., 0], "end_logits": logits[..., 1]}
        super().__init__(backbone, preprocessor, inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        if compile:
            self.compile()

    def _default_loss(self):
        return {name: keras.losses.SparseCategoricalCrossentropy(from_logits=True)
                for name in ("start_logits", "end_logits")}

    def _default_loss_weights(self):
        # (start_ce + end_ce) / 2, the reference's SQuAD loss.
        return {"start_logits": 0.5, "end_logits": 0.5}

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Loads a question answerer; a HF `BertForQuestionAnswering` folder or a
        saved BertQuestionAnswerer preset keeps its span head, any other BERT
        checkpoint gets a new one. `sequence_length`, `doc_stride`,
        `max_query_length` configure the preprocessor."""
        return super().from_preset(preset, load_weights=load_weights, **kwargs)

    @classmethod
    def head_config_from(cls, task_config):
        return {}

    def _logits(self, features, batch_size, callbacks=None):
        outputs = self._predict_windows(features, batch_size, callbacks)
        return outputs["start_logits"], outputs["end_logits"]

    # --- inference ---------------------------------------------------------------

    def answer(self, question, context, top_k=1, doc_stride=None, max_answer_len=None,
               max_answer_length=None, max_seq_len=None, max_question_len=64,
               handle_impossible_answer=False, align_to_words=True, batch_size=32):
        """Answers questions the way the HF question-answering pipeline does.

        Arguments and output keys follow `transformers.pipeline("question-answering")`
        (4.57): `max_seq_len` (default: the preprocessor's, at most 384),
        `doc_stride` (HF meaning: tokens shared by consecutive windows; default
        min(max_seq_len // 2, 128)), `max_answer_len` (15; `max_answer_length`
        is accepted too), `max_question_len` (64), `top_k`,
        `handle_impossible_answer`, `align_to_words`.

        Args:
          question, context: a str each, or lists of str of the same length.
        Returns:
          For one question, a dict `{"answer", "start", "end", "score"}` (a list
          of `top_k` dicts if `top_k > 1`); for lists, a list of those.
          `context[start:end] == answer`: character offsets into the context.
        """
        settings = self.answer_settings(max_seq_len, doc_stride, max_answer_len or max_answer_length,
                                        max_question_len)
        single, contexts, features = self._pipeline_windows(question, context, top_k, settings)
        features = features.trimmed()
        max_answer_len = settings["max_answer_len"]
        start_logits, end_logits = self._logits(features, batch_size)
        decoded = span_decoding.decode_pipeline(
            features, start_logits, end_logits, contexts, top_k=top_k,
            max_answer_len=max_answer_len, handle_impossible_answer=handle_impossible_answer,
            align_to_words=align_to_words)
        results = [decoded[i] if top_k > 1 else decoded[i][0] if decoded[i] else
                   {"answer": "", "start": 0, "end": 0, "score": 0.0}
                   for i in range(len(contexts))]
        return results[0] if single else results

    def predict_squad(self, data, batch_size=32, n_best_size=20, max_answer_length=30,
                      null_score_diff_threshold=0.0, version_2_with_negative=None,
                      output_dir=None, callbacks=None):
        """Predicts a SQuAD file with the reference's post-processing.

        Args:
          data: a path, a parsed SQuAD dict or a `kerabert.squad.SquadData`.
          version_2_with_negative: allow "" answers (default: True for v2.0 data).
          output_dir: if given, writes `predictions.json`,
            `nbest_predictions.json` and (v2.0) `null_odds.json` there.
          callbacks: Keras callbacks called on each batch of windows (e.g.
            `kerabert.callbacks.RichProgress`).
        Returns:
          `{qid: answer text}`; the n-best lists and null odds are in
          `self.last_squad_outputs`.
        """
        preprocessor = self._require_preprocessor()
        if not isinstance(data, squad.SquadData):
            data = squad.load(data)
        if version_2_with_negative is None:
            version_2_with_negative = data.version.startswith("2")
        contexts = [e.context for e in data]
        features = preprocessor.featurize([e.question for e in data], contexts).trimmed()
        start_logits, end_logits = self._logits(features, batch_size, callbacks)
        predictions, nbest, null_odds = span_decoding.decode_reference(
            features, start_logits, end_logits, contexts, n_best_size=n_best_size,
            max_answer_length=max_answer_length,
            version_2_with_negative=version_2_with_negative,
            null_score_diff_threshold=null_score_diff_threshold)
        qids = [e.qid for e in data]
        predictions = {qids[i]: t for i, t in predictions.items()}
        nbest = {qids[i]: [{k: v for k, v in n.items() if k not in ("start", "end")}
                           for n in entries] for i, entries in nbest.items()}
        null_odds = {qids[i]: v for i, v in null_odds.items()} if version_2_with_negative else None
        self.last_squad_outputs = {"nbest": nbest, "null_odds": null_odds}
        if output_dir is not None:
            squad.write_predictions(output_dir, predictions, nbest, null_odds)
        return predictions
