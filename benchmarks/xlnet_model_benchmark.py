"""XLNet forward (and train-step) throughput: kerabert vs HF PyTorch vs keras-hub (CPU).

All competitors run in ONE process on the same random inputs and the same
model size (XLNet-base by default: 12 layers, d_model 768, 12 heads, d_inner
3072, vocabulary 32000; batch 8 x sequence length 128, float32):

  kerabert   `kerabert.XLNetBackbone.from_preset(folder)` (forward) /
             `kerabert.XLNetClassifier.from_preset(folder, num_classes=2)`
             (train), TensorFlow backend; with `--xla` also jit-compiled
  HF         `transformers.XLNetForSequenceClassification` (forward: its
             `.transformer`, an `XLNetModel`), PyTorch CPU eager
  keras-hub  `keras_hub.models.XLNetBackbone`, same size, RANDOM weights (it
             has no HF XLNet converter); forward only. Like kerabert it runs the
             content stream only (no query stream without `target_mapping`).

kerabert and HF compute the SAME function: a random HF model is saved with
`save_pretrained` (mem_len=None, so neither side caches memory) and kerabert
loads that folder. The tables report the max abs difference of their outputs
(forward: sequence output on real tokens, from the first warm-up call; train:
classifier logits with dropout off, before the first step) so that the
timings are seen to compare equal computations.

Forward = `tf.function(lambda x: model(x, training=False), jit_compile=...)`
for Keras, `model.eval()` under `torch.no_grad()` for HF.
Train step (--train) = `compile(optimizer=keras.optimizers.AdamW(1e-5,
weight_decay=0.01), loss=sparse CE from logits)` + `train_on_batch` for
kerabert; `zero_grad`, forward with labels, `backward`,
`torch.optim.AdamW(lr=1e-5, weight_decay=0.01).step()` for HF. Dropout 0.1 on.

Inputs: XLNet's classification layout (`A <sep> B <sep> <cls>`, padded on the
LEFT, segment ids A=0, B=1, <cls>=2, pad=4), random lengths in [L/2, L], token
ids uniform over 7.. of the vocabulary.

Each competitor runs --warmup untimed steps (the first includes tracing / XLA
compilation: "1st call s"), then --steps rounds, each timing ONE step of
EVERY competitor (round-robin, so outside load hits all alike). Throughput =
batch / median step time, and batch / fastest step ("best").
Threads: TF intra-op threads and `torch.set_num_threads` are both set to
--threads (default: the cores available); PyTorch's OpenMP pool runs with
OMP_WAIT_POLICY=PASSIVE (see bert_model_benchmark.py: spinning libgomp threads
made HF several times slower on a shared 2-core machine).

Usage:
  python benchmarks/xlnet_model_benchmark.py                    # XLNet-base forward
  python benchmarks/xlnet_model_benchmark.py --quick            # 2 layers, 256, smoke test
  python benchmarks/xlnet_model_benchmark.py --steps 3 --xla --train
"""

import gc
import os
import sys
import tempfile
import time

if __package__:  # python -m benchmarks.xlnet_model_benchmark
    from . import common
else:  # python benchmarks/xlnet_model_benchmark.py
    import common  # also sets USE_TF=0, KERAS_BACKEND, TF_CPP_MIN_LOG_LEVEL

COMPETITORS = ("kerabert", "hf", "keras-hub")


def make_inputs(batch, length, vocab, seed=0):
    """XLNet classification layout: A <sep> B <sep> <cls>, left padding."""
    import numpy as np

    rng = np.random.default_rng(seed)
    token_ids = np.full((batch, length), 5, "int32")      # <pad>
    segment_ids = np.full((batch, length), 4, "int32")    # SEG_ID_PAD
    mask = np.zeros((batch, length), "int32")
    for i, n in enumerate(rng.integers(length // 2, length + 1, size=batch)):
        start = length - n
        ids = rng.integers(7, vocab, size=n).astype("int32")
        len_a = int(rng.integers(1, n - 3))               # A, <sep>, B, <sep>, <cls>
        ids[len_a], ids[-2], ids[-1] = 4, 4, 3
        seg = np.ones(n, "int32")
        seg[:len_a + 1] = 0
        seg[-1] = 2
        token_ids[i, start:], segment_ids[i, start:], mask[i, start:] = ids, seg, 1
    labels = rng.integers(0, 2, size=batch).astype("int32")
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}, labels


def save_hf_xlnet(folder, cfg):
    """A random HF XLNetForSequenceClassification, saved; returns the model."""
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.XLNetConfig(
        vocab_size=cfg["vocab"], d_model=cfg["hidden"], n_layer=cfg["layers"],
        n_head=cfg["heads"], d_inner=cfg["intermediate"], ff_activation="gelu",
        dropout=0.1, mem_len=None, num_labels=2)
    model = transformers.XLNetForSequenceClassification(config).eval()
    model.save_pretrained(folder)
    return model


def torch_inputs(inputs):
    import torch

    return {"input_ids": torch.from_numpy(inputs["token_ids"]).long(),
            "token_type_ids": torch.from_numpy(inputs["segment_ids"]).long(),
            "attention_mask": torch.from_numpy(inputs["padding_mask"]).float()}


# --- competitors: each builder returns {(name, xla): (step, params, note)} --------
# A step returns its output as numpy (forward: sequence output; train: loss).


def build_forward(name, folder, cfg, inputs, hf_model, xla_modes):
    import tensorflow as tf

    x = {k: tf.constant(v) for k, v in inputs.items()}
    if name == "hf":
        import torch

        t = torch_inputs(inputs)
        body = hf_model.transformer

        def step():
            body.eval()
            with torch.no_grad():
                return body(**t).last_hidden_state.numpy()

        note = f"attn={getattr(body.config, '_attn_implementation', '?')}"
        return {("hf", None): (step, common.count_params(list(body.parameters())), note, None)}
    if name == "kerabert":
        import kerabert

        model = kerabert.XLNetBackbone.from_preset(folder)
        note = "HF weights"
    else:
        import keras_hub

        if not hasattr(keras_hub.models, "XLNetBackbone"):
            raise RuntimeError(f"keras_hub {keras_hub.__version__} has no XLNetBackbone")
        model = keras_hub.models.XLNetBackbone(
            vocabulary_size=cfg["vocab"], num_layers=cfg["layers"], num_heads=cfg["heads"],
            hidden_dim=cfg["hidden"], intermediate_dim=cfg["intermediate"], dropout=0.1,
            activation="gelu")
        note = "random weights"
    runners = {}
    for jit in xla_modes:
        fn = tf.function(lambda inp: model(inp, training=False), jit_compile=jit)

        def step(fn=fn):
            out = fn(x)
            return (out["sequence_output"] if isinstance(out, dict) else out).numpy()

        runners[(name, jit)] = (step, common.count_params(model.weights), note, None)
    return runners


def build_train(name, folder, cfg, inputs, labels, hf_model, xla_modes):
    if name == "hf":
        import torch

        t = torch_inputs(inputs)
        y = torch.from_numpy(labels).long()
        optimizer = torch.optim.AdamW(hf_model.parameters(), lr=1e-5, weight_decay=0.01)
        step = common.torch_train_step(hf_model, optimizer, {**t, "labels": y})

        def probe():  # logits before training, dropout off
            hf_model.eval()
            with torch.no_grad():
                return hf_model(**t).logits.numpy()

        return {("hf", None): (step, common.count_params(list(hf_model.parameters())), "AdamW",
                               probe)}
    if name != "kerabert":
        return {}  # keras-hub has no XLNet classifier: forward only
    import keras
    import numpy as np
    import tensorflow as tf

    import kerabert

    x = {k: tf.constant(v) for k, v in inputs.items()}
    y = tf.constant(labels)
    runners = {}
    for jit in xla_modes:
        classifier = kerabert.XLNetClassifier.from_preset(folder, num_classes=2,
                                                          preprocessor=None)
        # The query stream's `mask_emb` gets no gradient in classification (HF's
        # AdamW skips it too); frozen so Keras does not warn at every trace.
        classifier.backbone.mask_embedding.trainable = False
        classifier.compile(optimizer=keras.optimizers.AdamW(1e-5, weight_decay=0.01),
                           loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                           metrics=None, jit_compile=jit)

        def step(classifier=classifier):
            return float(classifier.train_on_batch(x, y, return_dict=True)["loss"])

        def probe(classifier=classifier):
            return np.asarray(classifier(x, training=False))

        runners[("kerabert", jit)] = (step, common.count_params(classifier.trainable_weights),
                                      "AdamW, HF weights", None if jit else probe)
    return runners


def first_output_or_probe(result):
    probe = result.get("probe")
    return result.get("first_output") if probe is None else probe


def agreement(results, mode, inputs):
    """Max abs diff of kerabert (XLA off) and HF outputs on the same weights, taken
    from the first warm-up call (forward) or a probe before the first step (train)."""
    import numpy as np

    ours, theirs = (first_output_or_probe(results.get(k, {}))
                    for k in (("kerabert", False), ("hf", None)))
    if ours is None or theirs is None:
        return None
    if mode == "forward":  # padded positions are not compared
        mask = inputs["padding_mask"].astype(bool)
        ours, theirs = ours[mask], theirs[mask]
    return float(np.max(np.abs(ours - theirs))), float(np.max(np.abs(theirs)))


def print_table(title, results, batch, diff):
    print(f"== {title}: batch {batch} ==")
    common.print_header("ex/s", [("params", 9)])
    for key, r in results.items():
        prefix = common.row_prefix(*key)
        if "error" in r:
            print(f"{prefix}failed: {r['error']}")
            continue
        print(f"{prefix}{common.timing_cells(batch, r, 'ex/s')}{r['params'] / 1e6:>8.1f}M  "
              f"{r['note'] or ''}")
    ok = {k: r for k, r in results.items() if r.get("times")}
    hf = ok.get(("hf", None))
    lines = []
    for key, r in ok.items():
        if key[0] != "kerabert":
            continue
        for other_key, label in ((("hf", None), "HF"), (("keras-hub", key[1]), "keras-hub")):
            other = ok.get(other_key)
            if other is None:
                continue
            lines.append(common.ratio_line(f"kerabert{' XLA' if key[1] else ''}", r,
                                           f"{label}{' XLA' if other_key[1] else ''}", other))
    if lines:
        print("throughput ratios (>1 = kerabert faster):")
        print("\n".join(lines))
    what = "sequence output, real tokens" if "Forward" in title else "logits before training"
    if diff is not None:
        print(f"kerabert vs HF (same weights, {what}): max |diff| = {diff[0]:.2e} "
              f"(max |HF value| {diff[1]:.2f})")
    elif hf is not None:
        print("kerabert vs HF outputs: not compared")
    print()


def main(argv=None):
    parser = common.make_parser(__doc__, COMPETITORS, sizes={"vocab": 32000})
    parser.add_argument("--xla", action="store_true",
                        help="also time kerabert (and keras-hub) with jit_compile=True")
    parser.add_argument("--train", action="store_true",
                        help="also time one optimizer step (kerabert XLNetClassifier "
                             "train_on_batch vs HF XLNetForSequenceClassification + AdamW)")
    parser.add_argument("--no-forward", action="store_true", help="skip the forward phase")
    args, only = common.parse_args(
        parser, argv, COMPETITORS,
        quick=dict(layers=2, hidden=256, heads=4, intermediate=1024, vocab=1000, batch=4,
                   seq_len=64, steps=2),
        quick_help="smoke test: 2 layers, hidden 256, 4 heads, intermediate 1024, "
                   "vocab 1000, batch 4, seq len 64, 2 steps")
    cfg = common.setup(args, args.threads)
    import keras
    print(f"model: {args.layers} layers, d_model {args.hidden}, {args.heads} heads, d_inner "
          f"{args.intermediate}, vocab {args.vocab}, float32, gelu; batch {args.batch} x "
          f"seq len {args.seq_len}; {args.warmup} warm-up + {args.steps} timed rounds")
    print()

    xla_modes = [False, True] if args.xla else [False]
    inputs, labels = make_inputs(args.batch, args.seq_len, args.vocab)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="xlnet_bench_") as folder:
        t0 = time.perf_counter()
        hf_model = save_hf_xlnet(folder, cfg)
        print(f"saved a random HF XLNetForSequenceClassification in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        tables = []
        phases = ([] if args.no_forward else ["forward"]) + (["train"] if args.train else [])
        for mode in phases:
            print(f"== Phase: {mode} ==", flush=True)
            results, runners = {}, {}
            fail = common.make_fail(results)
            for name in only:
                if mode == "train" and name == "keras-hub":
                    print("  keras-hub: skipped in train mode (no XLNet classifier task)")
                    continue
                print(f"  building {name} ...", flush=True)
                try:
                    if mode == "forward":
                        built = build_forward(name, folder, cfg, inputs, hf_model, xla_modes)
                    else:
                        built = build_train(name, folder, cfg, inputs, labels, hf_model,
                                            xla_modes)
                    runners.update(built)
                except Exception as e:
                    if name == "keras-hub":
                        print(f"  keras-hub skipped: {type(e).__name__}: "
                              f"{str(e).splitlines()[0][:200] if str(e) else ''}")
                    else:
                        for jit in ([None] if name == "hf" else xla_modes):
                            fail((name, jit), e)
            common.run_phase(runners, args.warmup, args.steps, results, fail)
            diff = agreement(results, mode, inputs)
            tables.append((mode, results, diff))
            keras.backend.clear_session()
            gc.collect()
    print(f"total {time.perf_counter() - start:.0f} s; load average at the end "
          f"{os.getloadavg()}")
    print()
    titles = {"forward": "Forward (training=False / no_grad)",
              "train": "Train step (forward + backward + AdamW, dropout on)"}
    for mode, results, diff in tables:
        print_table(titles[mode], results, args.batch, diff)
    print("ex/s med|best = batch / median|fastest timed step; '1st call s' includes "
          "tracing (and XLA compilation). Ratios are throughput ratios from one process, "
          "measured round-robin; keras-hub runs random weights of the same size.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
