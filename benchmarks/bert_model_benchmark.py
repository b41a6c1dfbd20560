"""BERT forward and train-step throughput: kerabert vs keras-hub vs HF PyTorch (CPU).

All competitors run in ONE process on the same random inputs and the same
model size (BERT-base by default: 12 layers, hidden 768, 12 heads,
intermediate 3072, vocabulary 30522, sequence length 128, float32):

  kerabert   `kerabert.BertBackbone` (forward) / `kerabert.BertClassifier` (train),
             TensorFlow backend, with and without XLA
  keras-hub  `keras_hub.models.BertBackbone` / `keras_hub.models.BertTextClassifier`,
             same config, with and without XLA
  HF         `transformers.BertModel` / `BertForSequenceClassification`, PyTorch CPU
             eager, `torch.set_num_threads(<cores>)`

Forward = `tf.function(lambda x: model(x, training=False), jit_compile=...)`
for Keras, `model.eval()` under `torch.inference_mode()` for HF.
Train step = `model.compile(optimizer=Adam(1e-5), loss=sparse CE from logits,
jit_compile=...)` then `model.train_on_batch` for Keras; `zero_grad`,
forward with labels, `backward`, `torch.optim.Adam(lr=1e-5).step()` for HF.
Dropout 0.1 is active in the train step for all (inactive in forward).
Inputs: token ids uniform over the vocabulary, two segments, and a padding
mask with random lengths in [L/2, L], so masking costs the same everywhere.

Each measurement: --warmup untimed steps (the first includes tracing / XLA
compilation, reported as "1st call s"), then --steps individually timed steps;
throughput is batch / median step time (robust to other load on the machine).

Usage:
  USE_TF=0 python benchmarks/bert_model_benchmark.py            # BERT-base, batch 8
  USE_TF=0 python benchmarks/bert_model_benchmark.py --quick    # 4 layers, hidden 256
  USE_TF=0 python benchmarks/bert_model_benchmark.py --batch-size 16 --steps 5 \\
      --only kerabert,hf --no-xla

A competitor that fails (e.g. XLA not supported) is printed as "failed: ...".
"""

import argparse
import gc
import os
import platform
import statistics
import sys
import time
import traceback

os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

COMPETITORS = ("kerabert", "keras-hub", "hf")


def cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def print_environment(args):
    import keras
    import keras_hub
    import numpy as np
    import tensorflow as tf
    import torch
    import transformers

    import kerabert

    print("== Environment ==")
    print(f"python {platform.python_version()} on {platform.platform()}")
    print(f"CPU cores available: {cpu_count()} (os.cpu_count()={os.cpu_count()})")
    try:
        print(f"load average (1/5/15 min): {tuple(round(x, 2) for x in os.getloadavg())}")
    except OSError:
        pass
    print(f"kerabert {kerabert.__version__} | tensorflow {tf.__version__} | keras "
          f"{keras.__version__} (backend {keras.backend.backend()}) | keras-hub "
          f"{keras_hub.__version__}")
    print(f"torch {torch.__version__} (threads {torch.get_num_threads()}) | transformers "
          f"{transformers.__version__} | numpy {np.__version__}")
    print(f"TF intra/inter-op threads: {tf.config.threading.get_intra_op_parallelism_threads()}"
          f"/{tf.config.threading.get_inter_op_parallelism_threads()} (0 = all cores); "
          f"GPUs visible to TF: {len(tf.config.list_physical_devices('GPU'))}")
    print()


def make_inputs(batch, length, vocab, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = rng.integers(length // 2, length + 1, size=batch)
    positions = np.arange(length)[None, :]
    mask = (positions < lengths[:, None]).astype("int32")
    token_ids = rng.integers(1000, vocab, size=(batch, length)).astype("int32") * mask
    split = rng.integers(1, np.maximum(lengths, 2))[:, None]
    segment_ids = ((positions >= split) * mask).astype("int32")
    labels = rng.integers(0, 2, size=batch).astype("int32")
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}, labels


class Timer:
    """Runs `step` `warmup` times (first timed apart), then `steps` timed steps."""

    def __init__(self, warmup, steps):
        self.warmup, self.steps = max(1, warmup), max(1, steps)

    def __call__(self, step):
        start = time.perf_counter()
        step()
        first = time.perf_counter() - start
        for _ in range(self.warmup - 1):
            step()
        times = []
        for _ in range(self.steps):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        return {"first": first, "median": statistics.median(times), "min": min(times),
                "mean": statistics.fmean(times)}


def count_params(weights):
    import numpy as np

    return int(sum(np.prod(w.shape) for w in weights))


# --- Keras competitors ---------------------------------------------------------------


def keras_models(name, cfg):
    import keras_hub

    import kerabert

    if name == "kerabert":
        backbone = kerabert.BertBackbone(
            vocabulary_size=cfg["vocab"], num_layers=cfg["layers"], num_heads=cfg["heads"],
            hidden_dim=cfg["hidden"], intermediate_dim=cfg["intermediate"], dropout=0.1,
            attention_dropout=0.1, max_sequence_length=512, num_segments=2,
            hidden_act="gelu")
        make_classifier = lambda: kerabert.BertClassifier(backbone, num_classes=2)  # noqa: E731
    else:
        backbone = keras_hub.models.BertBackbone(
            vocabulary_size=cfg["vocab"], num_layers=cfg["layers"], num_heads=cfg["heads"],
            hidden_dim=cfg["hidden"], intermediate_dim=cfg["intermediate"], dropout=0.1,
            max_sequence_length=512, num_segments=2)
        make_classifier = lambda: keras_hub.models.BertTextClassifier(  # noqa: E731
            backbone, num_classes=2, preprocessor=None)
    return backbone, make_classifier


def run_keras(name, cfg, inputs, labels, timer, xla_modes, modes, record):
    import keras
    import tensorflow as tf

    x = {k: tf.constant(v) for k, v in inputs.items()}
    y = tf.constant(labels)
    try:
        backbone, make_classifier = keras_models(name, cfg)
    except Exception as e:
        for mode in modes:
            for jit in xla_modes:
                record(mode, name, jit, error=e)
        return
    params = count_params(backbone.weights)

    if "forward" in modes:
        for jit in xla_modes:
            print(f"  {name} forward, XLA {'on' if jit else 'off'} ...", flush=True)
            try:
                fn = tf.function(lambda inp: backbone(inp, training=False), jit_compile=jit)

                def step():
                    fn(x)["pooled_output"].numpy()

                record("forward", name, jit, stats=timer(step), params=params)
            except Exception as e:
                record("forward", name, jit, error=e)
            gc.collect()

    if "train" in modes:
        try:
            classifier = make_classifier()
        except Exception as e:
            for jit in xla_modes:
                record("train", name, jit, error=e)
            classifier = None
        for jit in xla_modes if classifier is not None else ():
            print(f"  {name} train step, XLA {'on' if jit else 'off'} ...", flush=True)
            try:
                classifier.compile(
                    optimizer=keras.optimizers.Adam(1e-5),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    metrics=None, jit_compile=jit)

                def step():
                    classifier.train_on_batch(x, y)

                record("train", name, jit, stats=timer(step),
                       params=count_params(classifier.trainable_weights))
            except Exception as e:
                record("train", name, jit, error=e)
            gc.collect()
        del classifier
    del backbone, make_classifier
    keras.backend.clear_session()
    gc.collect()


# --- Hugging Face PyTorch ------------------------------------------------------------


def run_hf(cfg, inputs, labels, timer, modes, record):
    os.environ["USE_TF"] = "0"
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=cfg["vocab"], hidden_size=cfg["hidden"], num_hidden_layers=cfg["layers"],
        num_attention_heads=cfg["heads"], intermediate_size=cfg["intermediate"],
        hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
        max_position_embeddings=512, type_vocab_size=2, num_labels=2)
    t = {
        "input_ids": torch.from_numpy(inputs["token_ids"]).long(),
        "token_type_ids": torch.from_numpy(inputs["segment_ids"]).long(),
        "attention_mask": torch.from_numpy(inputs["padding_mask"]).long(),
    }
    y = torch.from_numpy(labels).long()

    if "forward" in modes:
        print("  hf forward ...", flush=True)
        try:
            model = BertModel(config).eval()
            attn = getattr(model.config, "_attn_implementation", "?")

            def step():
                with torch.inference_mode():
                    model(**t).pooler_output.numpy()

            record("forward", "hf", None, stats=timer(step),
                   params=count_params(list(model.parameters())), note=f"attn={attn}")
            del model
        except Exception as e:
            record("forward", "hf", None, error=e)
        gc.collect()

    if "train" in modes:
        print("  hf train step ...", flush=True)
        try:
            model = BertForSequenceClassification(config).train()
            attn = getattr(model.config, "_attn_implementation", "?")
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)

            def step():
                optimizer.zero_grad(set_to_none=True)
                loss = model(**t, labels=y).loss
                loss.backward()
                optimizer.step()
                loss.item()

            record("train", "hf", None, stats=timer(step),
                   params=count_params(list(model.parameters())), note=f"attn={attn}")
            del model, optimizer
        except Exception as e:
            record("train", "hf", None, error=e)
        gc.collect()


# --- report --------------------------------------------------------------------------

LABELS = {"kerabert": "kerabert", "keras-hub": "keras-hub", "hf": "HF torch"}


def print_tables(results, batch, modes, xla_modes):
    def xla_label(jit):
        return "-" if jit is None else ("on" if jit else "off")

    def throughput(mode, name, jit):
        r = results.get((mode, name, jit))
        if r is None or r.get("stats") is None:
            return None
        return batch / r["stats"]["median"]

    titles = {"forward": "Forward (inference, training=False)",
              "train": "Train step (forward + backward + Adam update, dropout on)"}
    for mode in modes:
        print(f"== {titles[mode]}: batch {batch} ==")
        header = (f"{'model':<11}{'XLA':<5}{'ex/s':>9}{'ms/step':>10}{'min ms':>9}"
                  f"{'1st call s':>12}{'vs keras-hub':>14}{'vs HF':>8}  notes")
        print(header)
        print("-" * len(header))
        hf = throughput(mode, "hf", None)
        order = [(n, j) for n in ("kerabert", "keras-hub") for j in xla_modes] + [("hf", None)]
        for name, jit in order:
            r = results.get((mode, name, jit))
            if r is None:
                continue
            prefix = f"{LABELS[name]:<11}{xla_label(jit):<5}"
            if r.get("error") is not None:
                print(f"{prefix}failed: {r['error']}")
                continue
            s = r["stats"]
            ex = batch / s["median"]
            hub = throughput(mode, "keras-hub", jit) if name == "kerabert" else None
            vs_hub = f"{ex / hub:.2f}x" if hub else "-"
            vs_hf = f"{ex / hf:.2f}x" if hf and name != "hf" else "-"
            notes = f"{r['params'] / 1e6:.1f}M params"
            if r.get("note"):
                notes += f", {r['note']}"
            print(f"{prefix}{ex:>9.2f}{s['median'] * 1e3:>10.1f}{s['min'] * 1e3:>9.1f}"
                  f"{s['first']:>12.2f}{vs_hub:>14}{vs_hf:>8}  {notes}")
        print()
    print("ex/s = batch / median step time. 'vs keras-hub' compares kerabert with keras-hub "
          "at the same XLA setting; 'vs HF' compares with HF PyTorch eager (>1 = faster). "
          "'1st call s' includes tracing and, with XLA, compilation.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=768)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--intermediate", type=int, default=3072)
    parser.add_argument("--vocab", type=int, default=30522)
    parser.add_argument("--warmup", type=int, default=2,
                        help="untimed steps per measurement (>= 1; the first is reported)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per measurement")
    parser.add_argument("--only", default=",".join(COMPETITORS),
                        help=f"comma-separated subset of {','.join(COMPETITORS)}")
    parser.add_argument("--modes", default="forward,train", help="forward,train or one")
    parser.add_argument("--no-xla", action="store_true", help="skip the XLA runs")
    parser.add_argument("--xla-only", action="store_true", help="skip the non-XLA Keras runs")
    parser.add_argument("--quick", action="store_true",
                        help="4 layers, hidden 256, 4 heads, intermediate 1024; 1+3 steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.layers, args.hidden, args.heads, args.intermediate = 4, 256, 4, 1024
        args.warmup, args.steps = 1, 3
    only = [c.strip() for c in args.only.split(",") if c.strip()]
    bad = [c for c in only if c not in COMPETITORS]
    if bad:
        parser.error(f"unknown competitor(s) {bad}; choose from {COMPETITORS}")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if any(m not in ("forward", "train") for m in modes):
        parser.error("--modes takes forward and/or train")
    xla_modes = [False, True]
    if args.no_xla:
        xla_modes = [False]
    if args.xla_only:
        xla_modes = [True]

    import torch

    torch.set_num_threads(cpu_count())
    import keras

    keras.utils.set_random_seed(0)
    print_environment(args)

    cfg = {"layers": args.layers, "hidden": args.hidden, "heads": args.heads,
           "intermediate": args.intermediate, "vocab": args.vocab}
    print("== Setup ==")
    print(f"model: {args.layers} layers, hidden {args.hidden}, {args.heads} heads, "
          f"intermediate {args.intermediate}, vocab {args.vocab}, float32, gelu (erf)")
    print(f"batch {args.batch_size} x seq len {args.seq_len}; {args.warmup} warm-up + "
          f"{args.steps} timed steps per measurement; competitors: {', '.join(only)}; "
          f"modes: {', '.join(modes)}; Keras XLA settings: "
          f"{', '.join('on' if j else 'off' for j in xla_modes)}")
    print()

    inputs, labels = make_inputs(args.batch_size, args.seq_len, args.vocab)
    timer = Timer(args.warmup, args.steps)
    results = {}

    def record(mode, name, jit, stats=None, params=None, error=None, note=None):
        if error is not None:
            lines = f"{type(error).__name__}: {error}".strip().splitlines()
            message = lines[0][:200] if lines else type(error).__name__
            if os.environ.get("BENCH_TRACEBACK"):
                traceback.print_exception(error)
            print(f"    failed: {message}", flush=True)
            results[(mode, name, jit)] = {"error": message}
            return
        print(f"    {args.batch_size / stats['median']:.2f} ex/s "
              f"(median {stats['median'] * 1e3:.1f} ms, 1st call {stats['first']:.1f} s)",
              flush=True)
        results[(mode, name, jit)] = {"stats": stats, "params": params, "note": note}

    start = time.perf_counter()
    print("== Running ==")
    for name in only:
        t0 = time.perf_counter()
        if name == "hf":
            run_hf(cfg, inputs, labels, timer, modes, record)
        else:
            run_keras(name, cfg, inputs, labels, timer, xla_modes, modes, record)
        print(f"  ({name} took {time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"total {time.perf_counter() - start:.0f} s")
    print()
    print_tables(results, args.batch_size, modes, xla_modes)
    print(f"Note: measured on a shared {cpu_count()}-core CPU machine; other processes "
          "(e.g. test runs) may have competed for the cores, so absolute figures are "
          "noisy; the ratios come from one process and one run.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
