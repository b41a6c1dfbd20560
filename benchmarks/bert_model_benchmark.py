"""BERT forward and train-step throughput: kerabert vs keras-hub vs HF PyTorch (CPU).

All competitors run in ONE process on the same random inputs and the same
model size (BERT-base by default: 12 layers, hidden 768, 12 heads,
intermediate 3072, vocabulary 30522, sequence length 128, float32):

  kerabert   `kerabert.BertBackbone` (forward) / `kerabert.BertClassifier` (train),
             TensorFlow backend, with and without XLA
  keras-hub  `keras_hub.models.BertBackbone` / `keras_hub.models.BertTextClassifier`,
             same config, with and without XLA
  HF         `transformers.BertForSequenceClassification` (forward: its `.bert`, a
             `BertModel`), PyTorch CPU eager, `torch.set_num_threads(<cores>)`

Forward = `tf.function(lambda x: model(x, training=False), jit_compile=...)`
for Keras, `model.eval()` under `torch.inference_mode()` for HF.
Train step = `model.compile(optimizer=Adam(1e-5), loss=sparse CE from logits,
jit_compile=...)` then `model.train_on_batch` for Keras; `zero_grad`,
forward with labels, `backward`, `torch.optim.Adam(lr=1e-5).step()` for HF.
Dropout 0.1 is active in the train step for all (inactive in forward).
Inputs: token ids uniform over ids 1000.. of the vocabulary, two segments, and a padding
mask with random lengths in [L/2, L], so masking costs the same everywhere.

Competitors are timed side by side in phases: (1) forward of all of them,
(2) train step without XLA (kerabert, keras-hub, HF), (3) train step with XLA
(kerabert, keras-hub, HF again). In a phase all its models are built first and
stay alive; each runs --warmup untimed steps (the first includes tracing / XLA
compilation, reported as "1st call s"), then --steps rounds each time ONE step
of EVERY competitor, round-robin, so that load from other processes hits all
of them alike (timed one after another, the same model measured up to 2x
apart on the shared machine). Models are freed between phases (peak memory
for BERT-base, batch 8: ~10 GB). Throughput is batch / median step time
and batch / fastest step ("best", the least disturbed by outside load).

Usage:
  USE_TF=0 python benchmarks/bert_model_benchmark.py            # BERT-base, batch 8
  USE_TF=0 python benchmarks/bert_model_benchmark.py --quick    # 4 layers, hidden 256
  USE_TF=0 python benchmarks/bert_model_benchmark.py --batch-size 16 --steps 5 \\
      --only kerabert,hf --no-xla

PyTorch's OpenMP pool is run with OMP_WAIT_POLICY=PASSIVE by default
(--omp-wait-policy): on a 2-core machine shared with other processes, libgomp's
default spin-waiting made HF 4-7x slower than with PASSIVE, which would say more
about the machine's load than about HF. TF's own thread pool is not affected.

A competitor that fails (e.g. XLA not supported) is printed as "failed: ...".
"""

import os
import sys
import time

if __package__:  # python -m benchmarks.bert_model_benchmark
    from . import common
else:  # python benchmarks/bert_model_benchmark.py
    import common  # also sets USE_TF=0, KERAS_BACKEND, TF_CPP_MIN_LOG_LEVEL

COMPETITORS = ("kerabert", "keras-hub", "hf")


def make_inputs(batch, length, vocab, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = rng.integers(length // 2, length + 1, size=batch)
    positions = np.arange(length)[None, :]
    mask = (positions < lengths[:, None]).astype("int32")
    token_ids = rng.integers(min(1000, vocab - 1), vocab, size=(batch, length)).astype("int32") * mask
    split = rng.integers(1, np.maximum(lengths, 2))[:, None]
    segment_ids = ((positions >= split) * mask).astype("int32")
    labels = rng.integers(0, 2, size=batch).astype("int32")
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}, labels


# --- competitors ---------------------------------------------------------------------
#
# Each builder returns {(mode, name, jit): (step_fn, params, note)} or an exception
# per key. Keras: the forward pass uses the backbone; each XLA setting gets its own
# classifier around that backbone (its own optimizer state, shared weights).


def build_keras(name, cfg, inputs, labels, xla_modes, modes):
    import keras
    import keras_hub
    import tensorflow as tf

    import kerabert

    x = {k: tf.constant(v) for k, v in inputs.items()}
    y = tf.constant(labels)
    if name == "kerabert":
        backbone = kerabert.BertBackbone(
            vocabulary_size=cfg["vocab"], num_layers=cfg["layers"], num_heads=cfg["heads"],
            hidden_dim=cfg["hidden"], intermediate_dim=cfg["intermediate"], dropout=0.1,
            attention_dropout=0.1, max_sequence_length=512, num_segments=2,
            activation="gelu")

        def make_classifier():
            return kerabert.BertClassifier(backbone, num_classes=2)
    else:
        backbone = keras_hub.models.BertBackbone(
            vocabulary_size=cfg["vocab"], num_layers=cfg["layers"], num_heads=cfg["heads"],
            hidden_dim=cfg["hidden"], intermediate_dim=cfg["intermediate"], dropout=0.1,
            max_sequence_length=512, num_segments=2)

        def make_classifier():
            return keras_hub.models.BertTextClassifier(backbone, num_classes=2,
                                                       preprocessor=None)

    runners = {}
    if "forward" in modes:
        params = common.count_params(backbone.weights)
        for jit in xla_modes:
            fn = tf.function(lambda inp: backbone(inp, training=False), jit_compile=jit)

            def step(fn=fn):
                fn(x)["pooled_output"].numpy()

            runners[("forward", name, jit)] = (step, params, None)
    if "train" in modes:
        for jit in xla_modes:
            try:
                classifier = make_classifier()
                classifier.compile(
                    optimizer=keras.optimizers.Adam(1e-5),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    metrics=None, jit_compile=jit)
            except Exception as e:
                runners[("train", name, jit)] = e
                continue

            def step(classifier=classifier):
                classifier.train_on_batch(x, y)

            runners[("train", name, jit)] = (
                step, common.count_params(classifier.trainable_weights), None)
    return runners


def build_hf(cfg, inputs, labels, modes, tag=None):
    os.environ["USE_TF"] = "0"
    import torch
    from transformers import BertConfig, BertForSequenceClassification

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
    model = BertForSequenceClassification(config)
    note = f"attn={getattr(model.config, '_attn_implementation', '?')}"
    runners = {}
    if "forward" in modes:
        def forward():
            model.eval()  # dropout off; toggling is a cheap walk over the modules
            with torch.inference_mode():
                model.bert(**t).pooler_output.numpy()

        runners[("forward", "hf", tag)] = (
            forward, common.count_params(list(model.bert.parameters())), note)
    if "train" in modes:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)
        train = common.torch_train_step(model, optimizer, {**t, "labels": y})
        runners[("train", "hf", tag)] = (
            train, common.count_params(list(model.parameters())), note)
    return runners


# --- report --------------------------------------------------------------------------


def print_tables(results, batch, phases):
    def timed(key):
        r = results.get(key)
        return r if r and r.get("times") else None

    def pair(r, other):
        if not r or not other:
            return "-"
        med, best = common.speedup(r, other)
        return f"{med:.2f}/{best:.2f}"

    titles = {"forward": "Forward (inference, training=False)",
              "train": "Train step (forward + backward + Adam update, dropout on)"}
    for mode in ("forward", "train"):
        mode_phases = [ph for ph in phases if ph[0] == mode]
        if not mode_phases:
            continue
        print(f"== {titles[mode]}: batch {batch} ==")
        common.print_header("ex/s", [("vs keras-hub", 14), ("vs HF", 11)])
        for _, xla_modes, tag in mode_phases:
            hf = timed((mode, "hf", tag))
            order = [(n, j) for n in ("kerabert", "keras-hub") for j in xla_modes]
            order.append(("hf", tag))
            for name, jit in order:
                r = results.get((mode, name, jit))
                if r is None:
                    continue
                prefix = common.row_prefix(name, None if name == "hf" else jit)
                if r.get("error") is not None:
                    print(f"{prefix}failed: {r['error']}")
                    continue
                vs_hub = pair(r, timed((mode, "keras-hub", jit))) if name == "kerabert" else "-"
                vs_hf = pair(r, hf) if name != "hf" else "-"
                notes = f"{r['params'] / 1e6:.1f}M params"
                if r.get("note"):
                    notes += f", {r['note']}"
                if len(mode_phases) > 1 and name == "hf":
                    notes += f", timed beside the XLA-{'on' if tag else 'off'} rows"
                print(f"{prefix}{common.timing_cells(batch, r, 'ex/s')}"
                      f"{vs_hub:>14}{vs_hf:>11}  {notes}")
        print()
    print("ex/s med|best = batch / median|fastest timed step. Ratios are throughput ratios "
          "(>1 = kerabert or the Keras row is faster), given as median/best: 'vs keras-hub' "
          "is kerabert / keras-hub at the same XLA setting; 'vs HF' is the row / HF PyTorch "
          "eager timed in the same phase. Under outside load the 'best' figures are the "
          "less disturbed ones. '1st call s' includes tracing and, with XLA, compilation.")


def main(argv=None):
    parser = common.make_parser(
        __doc__, COMPETITORS, batch_flag="--batch-size",
        warmup_help="untimed steps per measurement (>= 1; the first is reported)",
        steps_help="timed round-robin rounds (one step of every competitor each)")
    parser.add_argument("--modes", default="forward,train", help="forward,train or one")
    parser.add_argument("--no-xla", action="store_true", help="skip the XLA runs")
    parser.add_argument("--xla-only", action="store_true", help="skip the non-XLA Keras runs")
    parser.add_argument("--torch-threads", type=int, default=common.cpu_count(),
                        help="torch.set_num_threads (default: the core count)")
    parser.add_argument("--omp-wait-policy", default=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
                        choices=("PASSIVE", "ACTIVE", "unset"),
                        help="OMP_WAIT_POLICY for PyTorch's OpenMP pool (default PASSIVE, or "
                             "the environment's). With other load on the cores, libgomp's "
                             "default spinning made HF several times slower here.")
    args, only = common.parse_args(
        parser, argv, COMPETITORS, threads=False,
        quick=dict(layers=4, hidden=256, heads=4, intermediate=1024, warmup=1, steps=5),
        quick_help="4 layers, hidden 256, 4 heads, intermediate 1024; 1 warm-up + 5 steps")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if any(m not in ("forward", "train") for m in modes):
        parser.error("--modes takes forward and/or train")
    xla_modes = [False, True]
    if args.no_xla:
        xla_modes = [False]
    if args.xla_only:
        xla_modes = [True]

    # Sets OMP_WAIT_POLICY before torch is first imported (libgomp reads it then);
    # TF's thread pool is left at its default.
    cfg = common.setup(args, args.torch_threads, tf_threads=False,
                       omp_wait_policy=args.omp_wait_policy, detailed=True)
    print("== Setup ==")
    print(f"model: {args.layers} layers, hidden {args.hidden}, {args.heads} heads, "
          f"intermediate {args.intermediate}, vocab {args.vocab}, float32, gelu (erf)")
    print(f"batch {args.batch_size} x seq len {args.seq_len}; {args.warmup} warm-up + "
          f"{args.steps} timed round-robin rounds per competitor; competitors: {', '.join(only)}; "
          f"modes: {', '.join(modes)}; Keras XLA settings: "
          f"{', '.join('on' if j else 'off' for j in xla_modes)}")
    print()

    inputs, labels = make_inputs(args.batch_size, args.seq_len, args.vocab)
    results = {}
    fail = common.make_fail(results, label=None)

    def describe(key):
        mode, name, jit = key
        xla = "" if name == "hf" else f", XLA {'on' if jit else 'off'}"
        return f"{name} {mode}{xla}"

    def run_phase(mode, phase_xla, tag):
        """Builds, warms up and times one group of competitors, then frees them."""
        runners = {}
        for name in only:
            print(f"  building {name} ...", flush=True)
            t0 = time.perf_counter()
            try:
                if name == "hf":
                    built = build_hf(cfg, inputs, labels, [mode], tag=tag)
                else:
                    built = build_keras(name, cfg, inputs, labels, phase_xla, [mode])
            except Exception as e:
                keys = [(mode, name, tag)] if name == "hf" else [(mode, name, j)
                                                                 for j in phase_xla]
                built = {key: e for key in keys}
            for key, value in built.items():
                if isinstance(value, Exception):
                    fail(key, value)
                else:
                    runners[key] = value
            print(f"    built in {time.perf_counter() - t0:.1f} s "
                  f"(RSS now {common.rss_gb():.1f} GB)", flush=True)

        print(f"  warm-up: {args.warmup} step(s) each; the first is reported as '1st call s'")
        common.warm_up(runners, args.warmup, results, fail,
                       announce=lambda key: f"  {describe(key)} ...",
                       report=lambda key, r: f"    1st call {r['first']:.1f} s "
                                             f"(RSS now {common.rss_gb():.1f} GB)")
        print(f"  timed: {args.steps} round(s), each timing one step of every competitor")
        common.timed_rounds(runners, args.steps, results, fail)
        runners.clear()

    # Phases: the forward pass of everything together (small memory); the train
    # step in one phase per XLA setting (keeps peak memory ~half of all at once;
    # HF runs in each so that every 'vs HF' ratio is measured side by side).
    phases = []
    if "forward" in modes:
        phases.append(("forward", xla_modes, None))
    if "train" in modes:
        phases.extend(("train", [jit], jit) for jit in xla_modes)

    start = time.perf_counter()
    for mode, phase_xla, tag in phases:
        label = "" if mode == "forward" else f", XLA {'on' if tag else 'off'} (+ HF)"
        print(f"== Phase: {mode}{label} ==")
        run_phase(mode, phase_xla, tag)
        # Free the phase's models (its frames are gone now) before the next one.
        common.release_memory()
        print(f"  (RSS after freeing the phase: {common.rss_gb():.1f} GB)", flush=True)
    for r in results.values():
        if not r.get("times") and "error" not in r:
            r["error"] = "no timed step completed"

    print(f"total {time.perf_counter() - start:.0f} s; peak RSS {common.peak_rss_gb():.1f} GB")
    load = common.load_average()
    if load is not None:
        print(f"load average at the end (1/5/15 min): {load}")
    print()
    print_tables(results, args.batch_size, phases)
    print(f"Note: measured on a shared {common.cpu_count()}-core CPU machine; other processes "
          "(e.g. test runs) may have competed for the cores, so absolute figures are "
          "noisy; the ratios come from one process and one run.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
