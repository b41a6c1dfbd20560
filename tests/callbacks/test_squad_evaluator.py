"""SquadEvaluator: the official SQuAD scores of BERT and XLNet question
answerers during fit equal `kerabert.squad.evaluate` on `predict_squad`."""

import keras
import numpy as np
import pytest

import kerabert
from kerabert.callbacks import SquadEvaluator
from tests.callbacks.test_training_logs import BatchLogs

ANIMALS, COLORS = ["fox", "dog", "cat"], ["good", "bad", "lazy", "quick", "brown"]


def synthetic_squad(n, seed, version="2.0"):
    """`n` questions "what is the <animal> ?" about one-sentence contexts; in
    version 2.0 every third asks about an animal the context does not name
    (unanswerable)."""
    rng = np.random.default_rng(seed)
    paragraphs = []
    for i in range(n):
        animal, color = rng.choice(ANIMALS), rng.choice(COLORS)
        filler = " ".join(rng.choice(["the", "a", "on", "mat", "sat"], size=rng.integers(0, 4)))
        context = f"{filler} the {animal} is {color} . {filler}".strip()
        if version == "2.0" and i % 3 == 2:
            other = next(a for a in ANIMALS if a != animal)
            qa = {"id": f"s{i}", "question": f"what is the {other} ?", "answers": [],
                  "is_impossible": True}
        else:
            qa = {"id": f"s{i}", "question": f"what is the {animal} ?",
                  "answers": [{"text": color, "answer_start": context.index(f" is {color}") + 4}]}
        paragraphs.append({"context": context, "qas": [qa]})
    return kerabert.squad.load({"version": f"v{version}", "data": [{"paragraphs": paragraphs}]})


def _official_scores(qa, dev):
    predictions = qa.predict_squad(dev)
    return kerabert.squad.evaluate(dev, predictions, qa.last_squad_outputs["null_odds"])


def _fit_with_evaluator(qa, evaluator, epochs=2):
    qa.compile(learning_rate=1e-2)
    batch_logs = BatchLogs("val_f1")
    history = qa.fit(synthetic_squad(32, seed=0), epochs=epochs, batch_size=16, verbose=0,
                     callbacks=[evaluator, batch_logs])
    return history.history, batch_logs.seen


def test_bert_scores_each_epoch_and_every_n_steps(hf_bert_dir):
    keras.utils.set_random_seed(0)
    qa = kerabert.BertQuestionAnswerer.from_preset(hf_bert_dir[0], sequence_length=24)
    dev = synthetic_squad(12, seed=1)
    evaluator = SquadEvaluator(dev, every_n_steps=3, batch_size=8)
    history, seen = _fit_with_evaluator(qa, evaluator)
    expected = _official_scores(qa, dev)
    for name in ("exact_match", "f1", "HasAns_exact", "NoAns_f1", "best_exact", "best_f1",
                 "best_f1_thresh"):
        assert len(history[f"val_{name}"]) == 2
        assert history[f"val_{name}"][-1] == expected[name], name
    # 32 questions, one window each, batches of 16: 2 steps an epoch, 4 in all.
    # Evaluated at step 3 (batch logs) and at each epoch end (2 and 4).
    assert [step for step, _ in evaluator.evaluations] == [2, 3, 4]
    assert [step for step, _ in seen] == [3]
    assert seen[0][1] == evaluator.evaluations[1][1]["f1"]


def test_xlnet_question_answerer(hf_xlnet_dir):
    keras.utils.set_random_seed(0)
    qa = kerabert.XLNetQuestionAnswerer.from_preset(hf_xlnet_dir[0], sequence_length=32)
    dev = synthetic_squad(12, seed=1)
    history, _ = _fit_with_evaluator(qa, SquadEvaluator(dev, batch_size=8), epochs=1)
    expected = _official_scores(qa, dev)
    for name in ("exact_match", "f1", "best_exact", "best_f1"):
        assert history[f"val_{name}"] == [expected[name]], name
    # A logit from another batch layout (the evaluator's batches of 8): float
    # round-off apart.
    assert history["val_best_exact_thresh"] == [pytest.approx(expected["best_exact_thresh"],
                                                               rel=1e-5, abs=1e-6)]
    # XLNet's predict_squad has no BERT null-score rule to pass a threshold to.
    with pytest.raises(ValueError, match="null_score_diff_threshold"):
        qa.fit(synthetic_squad(16, seed=0), epochs=1, verbose=0,
               callbacks=[SquadEvaluator(dev, null_score_diff_threshold=1.0)])


def test_squad_v1_has_no_null_odds_scores(hf_bert_dir):
    qa = kerabert.BertQuestionAnswerer.from_preset(hf_bert_dir[0], sequence_length=24)
    dev = synthetic_squad(6, seed=2, version="1.1")
    evaluator = SquadEvaluator(dev, prefix="dev_")
    evaluator.set_model(qa)
    scores = evaluator.evaluate()
    assert set(scores) == {"exact_match", "f1"}
    expected = kerabert.squad.evaluate(dev, qa.predict_squad(dev))
    assert scores == {"exact_match": expected["exact_match"], "f1": expected["f1"]}


def test_needs_a_question_answerer():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match="predict_squad"):
        model.fit(np.ones((2, 2)), np.ones((2, 1)), verbose=0,
                  callbacks=[SquadEvaluator(synthetic_squad(3, seed=0))])
