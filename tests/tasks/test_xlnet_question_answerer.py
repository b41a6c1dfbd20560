"""XLNetQuestionAnswerer against transformers' XLNetForQuestionAnswering.

HF's head computes what the reference's does at inference, with two
differences of presentation the tests undo: its `*_log_probs` are softmax
*probabilities* (not logs), and it flattens the end beam end-major
(`j * start_n_top + i`) where the reference (and kerabert) use `i * end_n_top
+ j`. In training HF's answer-class branch reads the gold start's hidden state;
the reference (and kerabert) read the softmax-weighted start state, so that
term is checked against a numpy transcription of the reference.
"""

import keras
import numpy as np
import pytest
import torch

import kerabert
from tests import harness
from tests.conftest import save_tiny_hf_xlnet
from tests.tasks.test_bert_question_answerer import _synthetic_squad

K1, K2 = 3, 4
QUESTIONS = ["Who paid the yen?", "When did he pay?"]
CONTEXTS = ["In 1990, the boy paid 3,500 yen to the old man in Botchan's town.",
            "The quick brown fox jumps over the lazy dog, and in 1990 he paid."]


@pytest.fixture(scope="module")
def hf_qa(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("hf_xlnet_qa"))
    hf = save_tiny_hf_xlnet(folder, "XLNetForQuestionAnswering", seed=2, start_n_top=K1,
                            end_n_top=K2)
    qa = kerabert.XLNetQuestionAnswerer.from_preset(folder, sequence_length=32)
    return folder, hf, qa


def _torch(inputs):
    long = {k: torch.tensor(np.asarray(inputs[k]), dtype=torch.long)
            for k in ("token_ids", "segment_ids", "cls_index")}
    return {"input_ids": long["token_ids"], "token_type_ids": long["segment_ids"],
            "attention_mask": torch.tensor(inputs["padding_mask"], dtype=torch.float32),
            "p_mask": torch.tensor(inputs["p_mask"], dtype=torch.float32),
            "cls_index": long["cls_index"]}


def _to_reference_order(x):
    """HF's (B, k2 * k1) end-major beam -> the reference's start-major (B, k1 * k2)."""
    return x.reshape(len(x), K2, K1).transpose(0, 2, 1).reshape(len(x), -1)


def _assert_same_ranking(ours_index, theirs_index, probs, k):
    """Top-k indices agree except where two candidates tie (probabilities within
    1e-6: a tiny random model gives near-uniform distributions, and float
    rounding then decides the order)."""
    rows, width = probs.shape[0], probs.shape[1] // k
    groups = probs.reshape(rows, width, k)
    tied = np.zeros_like(groups, dtype=bool)
    tied[..., 1:] |= np.abs(np.diff(groups, axis=-1)) < 1e-6
    tied[..., :-1] |= np.abs(np.diff(groups, axis=-1)) < 1e-6
    tied = tied.reshape(probs.shape)
    np.testing.assert_array_equal(ours_index[~tied], theirs_index[~tied])
    assert tied.mean() < 0.2


def test_beam_outputs_match_transformers(hf_qa):
    _, hf, qa = hf_qa
    assert (qa.start_n_top, qa.end_n_top) == (K1, K2)
    features = qa.preprocessor.featurize(QUESTIONS, CONTEXTS, doc_stride=8)
    assert len(features.example_index) > 2  # several windows
    ours = qa.predict_on_batch(features.inputs)
    with torch.no_grad():
        theirs = hf(**_torch(features.inputs))
    start_probs = theirs.start_top_log_probs.numpy()
    np.testing.assert_allclose(np.exp(ours["start_top_log_probs"]), start_probs, atol=1e-5)
    _assert_same_ranking(ours["start_top_index"], theirs.start_top_index.numpy(), start_probs, K1)
    end_probs = _to_reference_order(theirs.end_top_log_probs.numpy())
    np.testing.assert_allclose(np.exp(ours["end_top_log_probs"]), end_probs, atol=1e-5)
    _assert_same_ranking(ours["end_top_index"], _to_reference_order(theirs.end_top_index.numpy()),
                         end_probs, K2)
    np.testing.assert_allclose(ours["cls_logits"], theirs.cls_logits.numpy(), atol=1e-5)


def test_training_loss_terms(hf_qa):
    _, hf, qa = hf_qa
    features = qa.preprocessor.featurize(
        QUESTIONS, CONTEXTS, answer_starts=[22, -1], answer_texts=["paid", ""])
    x, y = features.inputs, qa._labels(features)
    assert y["is_impossible"][features.example_index == 1].all()
    hidden = qa.backbone({k: x[k] for k in ("token_ids", "segment_ids", "padding_mask")})
    hidden = hidden["sequence_output"]
    terms = qa.span_head.loss_terms(hidden, x["p_mask"], x["cls_index"], y["start_positions"],
                                    y["end_positions"], y["is_impossible"])
    with torch.no_grad():
        hf_span = hf(**_torch(x), start_positions=torch.tensor(y["start_positions"]).long(),
                     end_positions=torch.tensor(y["end_positions"]).long()).loss.item()
    np.testing.assert_allclose(0.5 * float(terms["start"] + terms["end"]), hf_span, rtol=1e-5)

    # The reference's answer-class loss, transcribed in numpy.
    head = qa.span_head
    h = hidden.numpy()
    p = x["p_mask"].astype("float64")
    start_logits = (h @ head.start_logits.kernel.numpy())[..., 0] + head.start_logits.bias.numpy()
    start_logits = start_logits * (1 - p) - 1e30 * p
    weights = np.exp(start_logits - start_logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    start_state = np.einsum("bl,blh->bh", weights, h)
    cls_state = h[np.arange(len(h)), x["cls_index"]]
    z = np.tanh(np.concatenate([start_state, cls_state], -1)
                @ head.answer_class_dense_0.kernel.numpy() + head.answer_class_dense_0.bias.numpy())
    logit = (z @ head.answer_class_dense_1.kernel.numpy())[:, 0]
    label = y["is_impossible"]
    bce = np.maximum(logit, 0) - logit * label + np.log1p(np.exp(-np.abs(logit)))
    np.testing.assert_allclose(float(terms["answer_class"]), bce.mean(), rtol=1e-5)


def test_answer_returns_context_slices(hf_qa):
    _, _, qa = hf_qa
    results = qa.answer(question=QUESTIONS, context=CONTEXTS, top_k=3, max_seq_len=24,
                        doc_stride=6)
    for context, answers in zip(CONTEXTS, results):
        assert 1 <= len(answers) <= 3
        scores = [a["score"] for a in answers]
        assert scores == sorted(scores, reverse=True)
        for a in answers:
            assert set(a) == {"answer", "start", "end", "score"}
            assert a["answer"] and context[a["start"]:a["end"]] == a["answer"]
            assert 0.0 < a["score"] <= 1.0
    single = qa.answer(question=QUESTIONS[0], context=CONTEXTS[0], max_seq_len=24, doc_stride=6)
    assert single == results[0][0]
    with_null = qa.answer(question=QUESTIONS[0], context=CONTEXTS[0], top_k=5,
                          handle_impossible_answer=True, max_seq_len=24, doc_stride=6)
    assert "" in [a["answer"] for a in with_null]
    with pytest.raises(ValueError, match="empty"):
        qa.answer(question="", context=CONTEXTS[0])


def test_fine_tuning_learns_synthetic_squad(hf_xlnet_dir, tmp_path):
    folder, _ = hf_xlnet_dir
    keras.utils.set_random_seed(0)
    qa = kerabert.XLNetQuestionAnswerer.from_preset(folder, sequence_length=32)
    train = _synthetic_squad(64, seed=0)
    before = kerabert.squad.evaluate(train, qa.predict_squad(train))["exact_match"]
    qa.compile(learning_rate=1e-2)
    history = qa.fit(train, epochs=12, batch_size=16, verbose=0)
    losses = history.history["loss"]
    predictions = qa.predict_squad(train, output_dir=str(tmp_path))
    after = kerabert.squad.evaluate(train, predictions, qa.last_squad_outputs["null_odds"])
    assert losses[-1] < 0.5 * losses[0], losses
    assert after["exact_match"] >= before + 40, (before, after)
    assert (tmp_path / "null_odds.json").is_file()
    qa.save_to_preset(str(tmp_path / "preset"))
    reloaded = kerabert.XLNetQuestionAnswerer.from_preset(str(tmp_path / "preset"))
    assert reloaded.predict_squad(train) == predictions


# --- the shared harness ----------------------------------------------------------

class TestHarness(harness.TaskRoundTrips):
    task_cls = kerabert.XLNetQuestionAnswerer
