"""XLNet extractive question answering with the reference's beam-search head."""

import keras
import numpy as np
import tensorflow as tf

from kerabert import keras_compat
from kerabert.backbones.xlnet_backbone import XLNetBackbone
from kerabert.data import squad
from kerabert.layers.xlnet_span_head import XLNetSpanHead
from kerabert.preprocessors.xlnet_question_answerer_preprocessor import (
    XLNetQuestionAnswererPreprocessor,
)
from kerabert.tasks import span_decoding
from kerabert.tasks.question_answerer import QuestionAnswerer
from kerabert.tasks.xlnet_classifier import XLNET_RECIPE

BACKBONE_INPUTS = ("token_ids", "segment_ids", "padding_mask")


def _sigmoid(x):
    return float(1.0 / (1.0 + np.exp(-x)))


@keras.saving.register_keras_serializable(package="kerabert")
class XLNetQuestionAnswerer(QuestionAnswerer):
    """XLNet SQuAD model: start logits, start-conditioned end logits, and an
    answer-class logit for SQuAD 2.0 (`XLNetSpanHead`, the reference `QALossLayer`).

    Args:
      backbone: an `XLNetBackbone`.
      preprocessor: an `XLNetQuestionAnswererPreprocessor`, or None.
      start_n_top, end_n_top: beam sizes at inference (5, 5).
      dropout: dropout in the answer-class branch.

    Inputs (dict): `token_ids`, `segment_ids`, `padding_mask`, `p_mask` (B, L)
    int32 and `cls_index` (B,) int32; the preprocessor packs
    `paragraph <sep> question <sep> <cls>` padded on the right.
    Outputs (dict): `start_top_log_probs`, `start_top_index` (B, k1);
    `end_top_log_probs`, `end_top_index` (B, k1*k2), entry `i*k2 + j` = j-th end
    for the i-th start; `cls_logits` (B,).
    Training targets (dict): `start_positions`, `end_positions` (B,) token
    positions (`cls_index` when there is no answer in the window) and
    `is_impossible` (B,) float. `fit` computes the reference loss
    `0.5 * (start_ce + end_ce) + 0.5 * bce(is_impossible)` with the end logits
    conditioned on the gold start; `compile(loss=...)` is not used.

    Example:
    ```python
    qa = kerabert.XLNetQuestionAnswerer.from_preset("path/to/xlnet-squad")
    qa.answer(question="Who wrote Hamlet?", context="...", handle_impossible_answer=True)
    qa.fit(kerabert.squad.load("train-v2.0.json"), epochs=2)
    ```
    """

    backbone_cls = XLNetBackbone
    preprocessor_cls = XLNetQuestionAnswererPreprocessor
    recipe = XLNET_RECIPE
    # The query stream's input embedding is only used by pretraining.
    unused_weights = ("mask_embedding",)

    def __init__(self, backbone, preprocessor=None, start_n_top=5, end_n_top=5, dropout=0.1,
                 compile=True, **kwargs):
        # === Layers ===
        self.span_head = XLNetSpanHead(
            backbone.hidden_dim, start_n_top=start_n_top, end_n_top=end_n_top, dropout=dropout,
            layer_norm_epsilon=backbone.layer_norm_epsilon,
            kernel_initializer=keras.initializers.RandomNormal(
                stddev=backbone.initializer_range),
            dtype=backbone.dtype_policy, name="span_head")

        # === Functional Model ===
        inputs = dict(backbone.input)
        inputs["p_mask"] = keras.Input(shape=(None,), dtype="int32", name="p_mask")
        inputs["cls_index"] = keras.Input(shape=(), dtype="int32", name="cls_index")
        hidden = backbone({k: inputs[k] for k in BACKBONE_INPUTS})["sequence_output"]
        outputs = self.span_head(hidden, inputs["p_mask"], inputs["cls_index"])
        super().__init__(backbone, preprocessor, inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.start_n_top = start_n_top
        self.end_n_top = end_n_top
        self.dropout = dropout
        if compile:
            self.compile()

    def _default_loss(self):
        return None  # computed in train_step / test_step (needs the gold start)

    # --- training ------------------------------------------------------------

    def _span_loss(self, x, y, training):
        hidden = self.backbone({k: x[k] for k in BACKBONE_INPUTS},
                               training=training)["sequence_output"]
        loss = self.span_head.loss(hidden, x["p_mask"], x["cls_index"], y["start_positions"],
                                   y["end_positions"], y["is_impossible"], training=training)
        if self.losses:
            loss = loss + tf.add_n([tf.cast(v, loss.dtype) for v in self.losses])
        return loss

    def train_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        loss = self._minimize(lambda: self._span_loss(x, y, training=True))
        keras_compat.loss_tracker(self).update_state(loss, sample_weight=tf.shape(x["token_ids"])[0])
        return self._replica_logs({"loss": keras_compat.loss_tracker(self).result()})

    def test_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        loss = self._span_loss(x, y, training=False)
        keras_compat.loss_tracker(self).update_state(loss, sample_weight=tf.shape(x["token_ids"])[0])
        return self._replica_logs({"loss": keras_compat.loss_tracker(self).result()})

    def _labels(self, features):
        return {"start_positions": features.start_positions,
                "end_positions": features.end_positions,
                "is_impossible": features.is_impossible}

    # --- presets -------------------------------------------------------------

    @classmethod
    def head_config_from(cls, task_config):
        return {"start_n_top": task_config.get("start_n_top", 5),
                "end_n_top": task_config.get("end_n_top", 5)}

    # --- inference -----------------------------------------------------------

    def answer(self, question, context, top_k=1, doc_stride=None, max_answer_len=None,
               max_answer_length=None, max_seq_len=None, max_question_len=64,
               handle_impossible_answer=False, align_to_words=True, batch_size=32):
        """Answers questions; arguments and output keys as
        `BertQuestionAnswerer.answer` (the HF question-answering pipeline's).

        Windows: `max_seq_len` tokens (default: the preprocessor's, at most
        384), consecutive windows sharing `doc_stride` tokens (HF meaning,
        default min(max_seq_len // 2, 128)). Answers come from the beam head;
        an answer's `score` is its probability `exp(start_log_prob +
        end_log_prob)`. With `handle_impossible_answer=True` the empty answer
        competes with score `sigmoid(score_null)`, the answer-class probability
        that the context holds no answer (its least confident window), so it
        wins when that exceeds every answer's probability.

        Returns: for one question a dict `{"answer", "start", "end", "score"}`
        (a list of `top_k` dicts if `top_k > 1`); for lists, a list of those.
        `context[start:end] == answer`.
        """
        settings = self.answer_settings(max_seq_len, doc_stride, max_answer_len or max_answer_length,
                                        max_question_len)
        single, contexts, features = self._pipeline_windows(question, context, top_k, settings)
        max_answer_len = settings["max_answer_len"]
        outputs = self._predict_windows(features, batch_size)
        nbest, null_scores = span_decoding.decode_beam(
            features, outputs, contexts, n_best_size=max(top_k, 1) + 10,
            max_answer_length=max_answer_len, align_to_words=align_to_words)
        results = []
        for i in range(len(contexts)):
            answers = [{"score": float(np.exp(e["score"])), "start": e["start"],
                        "end": e["end"], "answer": e["text"]}
                       for e in nbest[i] if e["text"]]
            if handle_impossible_answer:
                answers.append({"score": _sigmoid(null_scores[i]), "start": 0, "end": 0,
                                "answer": ""})
            answers = sorted(answers, key=lambda a: -a["score"])[:top_k]
            if not answers:
                answers = [{"answer": "", "start": 0, "end": 0, "score": 0.0}]
            results.append(answers if top_k > 1 else answers[0])
        return results[0] if single else results

    def predict_squad(self, data, batch_size=32, n_best_size=5, max_answer_length=64,
                      output_dir=None, callbacks=None):
        """Predicts a SQuAD file with the reference XLNet post-processing, at the
        XLNet SQuAD script's defaults (5 candidates, answers of at most 64
        tokens).

        The prediction is always the best non-empty span; `null_odds` holds each
        question's `score_null` (min answer-class logit), which
        `kerabert.squad.evaluate(data, predictions, null_odds)` thresholds
        (best threshold, as the reference's SQuAD 2.0 evaluation).
        Returns `{qid: answer text}`; `self.last_squad_outputs` has `nbest` and
        `null_odds`. `output_dir`: writes predictions.json,
        nbest_predictions.json and null_odds.json. `callbacks`: Keras callbacks
        called on each batch of windows.
        """
        preprocessor = self._require_preprocessor()
        if not isinstance(data, squad.SquadData):
            data = squad.load(data)
        contexts = [e.context for e in data]
        features = preprocessor.featurize([e.question for e in data], contexts)
        outputs = self._predict_windows(features, batch_size, callbacks)
        nbest, null_scores = span_decoding.decode_beam(
            features, outputs, contexts, n_best_size=n_best_size,
            max_answer_length=max_answer_length)
        qids = [e.qid for e in data]
        predictions, nbest_out, null_odds = {}, {}, {}
        for i, entries in nbest.items():
            total = np.logaddexp.reduce([e["score"] for e in entries])
            predictions[qids[i]] = entries[0]["text"]
            nbest_out[qids[i]] = [
                {"text": e["text"], "probability": float(np.exp(e["score"] - total)),
                 "start_log_prob": e["start_log_prob"], "end_log_prob": e["end_log_prob"]}
                for e in entries]
            null_odds[qids[i]] = null_scores[i]
        self.last_squad_outputs = {"nbest": nbest_out, "null_odds": null_odds}
        if output_dir is not None:
            squad.write_predictions(output_dir, predictions, nbest_out, null_odds)
        return predictions

    def get_config(self):
        config = super().get_config()
        config.update({"start_n_top": self.start_n_top, "end_n_top": self.end_n_top,
                       "dropout": self.dropout})
        return config
