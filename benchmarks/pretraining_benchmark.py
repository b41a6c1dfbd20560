"""BERT pretraining train-step throughput: kerabert vs keras-hub vs HF PyTorch (CPU).

One optimizer step of masked-LM pretraining, all competitors in ONE process on
the same random batch and the same model size (BERT-base by default: 12
layers, hidden 768, 12 heads, intermediate 3072, vocabulary 30522, float32,
gelu; batch 8 x sequence length 128 with 20 masked positions per sequence):

  kerabert   `kerabert.BertPretrainer.from_preset(hf_folder, preprocessor=None)`
             (masked LM + next sentence, its own `train_step` with the reference
             loss), `compile(optimizer=keras.optimizers.AdamW(1e-4,
             weight_decay=0.01), jit_compile=...)` + `train_on_batch(x, y)`,
             TensorFlow backend, with and without XLA
  keras-hub  `keras_hub.models.BertMaskedLM(BertBackbone(...), preprocessor=None)`,
             same size, RANDOM weights; its own loss (sparse CE from logits
             weighted by the mask weights) and weighted accuracy metric, same
             AdamW, `train_on_batch(x, mask_ids, sample_weight=mask_weights)`,
             with and without XLA. It has NO next-sentence head (a Dense(2) on
             the pooled output: a negligible share of the step); its pooler,
             which then gets no gradient, is frozen (its forward still runs)
  HF         `transformers.BertForPreTraining` (MLM + NSP), PyTorch CPU eager:
             `zero_grad`, forward with `labels` (-100 outside the masked
             positions) and `next_sentence_label`, `backward`,
             `torch.optim.AdamW(lr=1e-4, weight_decay=0.01).step()`

kerabert and HF run the SAME weights: a random `BertForPreTraining` is saved
with `save_pretrained` and kerabert loads that folder (both heads, tied MLM
output weights). Before timing, both compute the pretraining loss of the
batch with dropout off (kerabert: `compute_pretraining_loss`, i.e.
`sum(w * nll) / (sum(w) + 1e-5) + mean NSP nll`; HF: `.loss`) and the table
prints the two values, so the timings compare equal computations. keras-hub
cannot load the HF pretraining heads here, so it runs random weights of the
same size (its loss is printed but not comparable).
Dropout 0.1 is active in every timed step. Each model computes its usual
training metrics (kerabert: loss terms and MLM / NSP accuracy; keras-hub:
weighted accuracy; HF: none).

Inputs: token ids uniform over ids 1000.. of the vocabulary, [CLS] ... [SEP]
... [SEP] with random lengths in [L/2, L] (padding masked), two segments,
P distinct masked positions per sequence (all real: weight 1) whose tokens
are replaced by [MASK] (id 103), random next-sentence labels.

Phases, as benchmarks/bert_model_benchmark.py: (1) XLA off: kerabert,
keras-hub, HF; (2) XLA on: kerabert, keras-hub and HF again (so that every
ratio is measured side by side). In a phase each competitor runs --warmup
untimed steps (the first includes tracing / XLA compilation: "1st call s"),
then --steps rounds, each timing ONE step of EVERY competitor (round-robin,
so outside load hits all alike). Throughput = batch / median step time
(sequences/s), and batch / fastest step ("best"). Threads: TF intra-op
threads and `torch.set_num_threads` are both --threads (default: the cores
available); PyTorch's OpenMP pool runs with OMP_WAIT_POLICY=PASSIVE (spinning
libgomp threads made HF several times slower on a shared 2-core machine).

Usage:
  python benchmarks/pretraining_benchmark.py                 # BERT-base, batch 8 x 128
  python benchmarks/pretraining_benchmark.py --quick         # smoke: 2 layers, hidden 256
  python benchmarks/pretraining_benchmark.py --steps 3 --no-xla --only kerabert,hf
  python benchmarks/pretraining_benchmark.py --batch 16 --seq-len 256 --predictions 40

A competitor that fails (e.g. XLA not supported) is printed as "failed: ...";
BENCH_TRACEBACK=1 prints its traceback.
"""

import os
import statistics
import sys
import tempfile
import time

if __package__:  # python -m benchmarks.pretraining_benchmark
    from . import common
else:  # python benchmarks/pretraining_benchmark.py
    import common  # also sets USE_TF=0, KERAS_BACKEND, TF_CPP_MIN_LOG_LEVEL

COMPETITORS = ("kerabert", "keras-hub", "hf")
LABELS = common.LABELS
LEARNING_RATE, WEIGHT_DECAY = 1e-4, 0.01


def make_batch(batch, length, predictions, vocab, seed=0):
    """A packed, masked pretraining batch as numpy arrays: `(x, y)` in kerabert's
    layout (see kerabert.BertPretrainer)."""
    import numpy as np

    if predictions > length // 2 - 3:
        raise ValueError(f"--predictions ({predictions}) must be at most seq_len / 2 - 3 "
                         f"({length // 2 - 3}): the shortest sequence has L/2 tokens.")
    rng = np.random.default_rng(seed)
    cls_id, sep_id, mask_id = (101, 102, 103) if vocab > 1000 else (2, 3, 4)
    low = min(1000, vocab // 2)
    token_ids = np.zeros((batch, length), "int32")
    segment_ids = np.zeros((batch, length), "int32")
    padding_mask = np.zeros((batch, length), "int32")
    masked_positions = np.zeros((batch, predictions), "int32")
    masked_ids = np.zeros((batch, predictions), "int32")
    for i, n in enumerate(rng.integers(length // 2, length + 1, size=batch)):
        ids = rng.integers(low, vocab, size=n).astype("int32")
        split = int(rng.integers(2, n - 2))  # [CLS] A [SEP] | B [SEP]
        ids[0], ids[split], ids[n - 1] = cls_id, sep_id, sep_id
        candidates = np.setdiff1d(np.arange(1, n - 1), [split])
        positions = np.sort(rng.choice(candidates, size=predictions, replace=False))
        masked_positions[i], masked_ids[i] = positions, ids[positions]
        ids[positions] = mask_id
        token_ids[i, :n], padding_mask[i, :n] = ids, 1
        segment_ids[i, split + 1:n] = 1
    x = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask,
         "masked_positions": masked_positions}
    y = {"masked_ids": masked_ids, "masked_weights": np.ones((batch, predictions), "float32"),
         "next_sentence_labels": rng.integers(0, 2, size=batch).astype("int32")}
    return x, y


def save_hf_pretraining(folder, cfg):
    """A random HF BertForPreTraining, saved; returns the model."""
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=cfg["vocab"], hidden_size=cfg["hidden"], num_hidden_layers=cfg["layers"],
        num_attention_heads=cfg["heads"], intermediate_size=cfg["intermediate"],
        hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
        max_position_embeddings=512, type_vocab_size=2)
    model = transformers.BertForPreTraining(config).eval()
    model.save_pretrained(folder)
    return model


def torch_batch(x, y):
    import numpy as np
    import torch

    labels = np.full(x["token_ids"].shape, -100, "int64")
    rows = np.arange(labels.shape[0])[:, None]
    labels[rows, x["masked_positions"]] = y["masked_ids"]
    return {"input_ids": torch.from_numpy(x["token_ids"]).long(),
            "token_type_ids": torch.from_numpy(x["segment_ids"]).long(),
            "attention_mask": torch.from_numpy(x["padding_mask"]).long(),
            "labels": torch.from_numpy(labels),
            "next_sentence_label": torch.from_numpy(y["next_sentence_labels"]).long()}


# --- competitors: each builder returns {(name, xla): (step, params, note, probe)} ------
# A step returns the loss; a probe (before the first step, dropout off) returns the
# loss of the batch on the initial weights.


def build_hf(hf_model, x, y, with_probe=True):
    import torch

    t = torch_batch(x, y)
    optimizer = torch.optim.AdamW(hf_model.parameters(), lr=LEARNING_RATE,
                                  weight_decay=WEIGHT_DECAY)

    step = common.torch_train_step(hf_model, optimizer, t)

    def probe():
        hf_model.eval()
        with torch.no_grad():
            return float(hf_model(**t).loss)

    note = f"MLM+NSP, AdamW, attn={getattr(hf_model.config, '_attn_implementation', '?')}"
    return {("hf", None): (step, common.count_params(list(hf_model.parameters())), note,
                           probe if with_probe else None)}


def build_keras(name, folder, cfg, x, y, xla_modes):
    import keras
    import tensorflow as tf

    tx = {k: tf.constant(v) for k, v in x.items()}
    ty = {k: tf.constant(v) for k, v in y.items()}
    runners = {}
    for jit in xla_modes:
        optimizer = keras.optimizers.AdamW(LEARNING_RATE, weight_decay=WEIGHT_DECAY)
        if name == "kerabert":
            import kerabert

            model = kerabert.BertPretrainer.from_preset(folder, preprocessor=None)
            model.compile(optimizer=optimizer, jit_compile=jit)

            def step(model=model):
                return float(model.train_on_batch(tx, ty, return_dict=True)["loss"])

            def probe(model=model):
                outputs = model(tx, training=False)
                return float(model.compute_pretraining_loss(ty, outputs)[0])

            note = "MLM+NSP, AdamW, HF weights"
        else:
            import keras_hub

            backbone = keras_hub.models.BertBackbone(
                vocabulary_size=cfg["vocab"], num_layers=cfg["layers"], num_heads=cfg["heads"],
                hidden_dim=cfg["hidden"], intermediate_dim=cfg["intermediate"], dropout=0.1,
                max_sequence_length=512, num_segments=2)
            model = keras_hub.models.BertMaskedLM(backbone, preprocessor=None)
            # The pooler feeds nothing in masked LM (no gradient); frozen so Keras
            # does not warn at every trace. Its forward still runs.
            backbone.pooled_dense.trainable = False
            model.compile(optimizer=optimizer, jit_compile=jit)
            hub_x = {"token_ids": tx["token_ids"], "segment_ids": tx["segment_ids"],
                     "padding_mask": tx["padding_mask"], "mask_positions": tx["masked_positions"]}

            def step(model=model, hub_x=hub_x):
                logs = model.train_on_batch(hub_x, ty["masked_ids"],
                                            sample_weight=ty["masked_weights"], return_dict=True)
                return float(logs["loss"])

            def probe(model=model, hub_x=hub_x):
                logits = model(hub_x, training=False)
                return float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
                    ty["masked_ids"], logits, sample_weight=ty["masked_weights"]))

            note = "MLM only (no NSP head), AdamW, random weights"
        runners[(name, jit)] = (step, common.count_params(model.trainable_weights), note, probe)
    return runners


# --- timing ------------------------------------------------------------------------


def first_step_line(key, result):
    """The line after a warm-up; the probe is the batch's loss on the initial weights."""
    loss = "" if result["probe"] is None else f"initial loss {result['probe']:.5f}; "
    return f"    {loss}1st step {result['first']:.1f} s (RSS {common.rss_gb():.1f} GB)"


def print_table(results, batch, phases):
    print(f"== Pretraining train step (forward + backward + AdamW, dropout on): "
          f"batch {batch} ==")
    common.print_header("seq/s", [("params", 9)])
    for tag in phases:
        for key, r in results[tag].items():
            prefix = common.row_prefix(*key)
            if "error" in r:
                print(f"{prefix}failed: {r['error']}")
                continue
            note = r["note"]
            if key[0] == "hf" and len(phases) > 1:
                note += f"; timed beside the XLA-{'on' if tag else 'off'} rows"
            print(f"{prefix}{common.timing_cells(batch, r, 'seq/s')}"
                  f"{r['params'] / 1e6:>8.1f}M  {note}")
    print()
    lines = []
    for tag in phases:
        ok = {k: r for k, r in results[tag].items() if r.get("times")}
        for key, r in ok.items():
            if key[0] == "hf":
                continue
            for other_key, label in ((("keras-hub", key[1]), "keras-hub"),
                                     (("hf", None), "HF torch")):
                other = ok.get(other_key)
                if other is None or other_key == key:
                    continue
                xla, other_xla = (" XLA" if k[1] else "" for k in (key, other_key))
                lines.append(common.ratio_line(f"{LABELS[key[0]]}{xla}", r,
                                               f"{label}{other_xla}", other))
    if lines:
        print("throughput ratios (>1 = the first is faster; same phase, round-robin):")
        print("\n".join(lines))
    off, on = results.get(False, {}), results.get(True, {})
    for name in ("kerabert", "keras-hub"):
        a, b = off.get((name, False), {}), on.get((name, True), {})
        if a.get("times") and b.get("times"):
            print(f"  {name} XLA on / off: "
                  f"{statistics.median(a['times']) / statistics.median(b['times']):.2f}x "
                  f"(median, different phases)")
    print()
    for tag in phases:
        ours = results[tag].get(("kerabert", tag), {}).get("probe")
        theirs = results[tag].get(("hf", None), {}).get("probe")
        hub = results[tag].get(("keras-hub", tag), {}).get("probe")
        if ours is not None and theirs is not None:
            print(f"same weights, same batch, dropout off, before any step (XLA "
                  f"{'on' if tag else 'off'} phase): kerabert loss {ours:.6f}, HF loss "
                  f"{theirs:.6f}, |diff| {abs(ours - theirs):.2e}")
        if hub is not None:
            print(f"  (keras-hub, random weights, MLM only: loss {hub:.6f}, not comparable)")


def main(argv=None):
    parser = common.make_parser(__doc__, COMPETITORS)
    parser.add_argument("--predictions", type=int, default=20,
                        help="masked positions per sequence (max_predictions_per_seq)")
    parser.add_argument("--no-xla", action="store_true", help="skip the XLA phase")
    parser.add_argument("--xla-only", action="store_true", help="skip the non-XLA phase")
    args, only = common.parse_args(
        parser, argv, COMPETITORS,
        quick=dict(layers=2, hidden=256, heads=4, intermediate=1024, vocab=5000, batch=4,
                   seq_len=64, predictions=10, steps=2),
        quick_help="smoke test: 2 layers, hidden 256, 4 heads, intermediate 1024, "
                   "vocab 5000, batch 4, seq len 64, 10 predictions, 2 steps")
    if args.warmup < 1:
        parser.error("--warmup must be at least 1")
    phases = [jit for jit in (False, True)
              if not (jit and args.no_xla) and not (not jit and args.xla_only)]
    if not phases:
        parser.error("--no-xla and --xla-only leave nothing to run")
    cfg = common.setup(args, args.threads)
    print(f"model: {args.layers} layers, hidden {args.hidden}, {args.heads} heads, "
          f"intermediate {args.intermediate}, vocab {args.vocab}, float32, gelu; batch "
          f"{args.batch} x seq len {args.seq_len}, {args.predictions} masked positions; "
          f"{args.warmup} warm-up + {args.steps} timed rounds; phases: XLA "
          f"{', '.join('on' if p else 'off' for p in phases)}; competitors: {', '.join(only)}")
    print()

    x, y = make_batch(args.batch, args.seq_len, args.predictions, args.vocab)
    start = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bert_pretrain_bench_") as folder:
        t0 = time.perf_counter()
        hf_model = save_hf_pretraining(folder, cfg)
        print(f"saved a random HF BertForPreTraining in {time.perf_counter() - t0:.1f} s",
              flush=True)
        initial_hf_loss = build_hf(hf_model, x, y)[("hf", None)][3]()  # before any step
        print(f"HF loss on the saved weights (dropout off): {initial_hf_loss:.6f}", flush=True)
        for tag in phases:
            print(f"== Phase: XLA {'on' if tag else 'off'} (+ HF) ==", flush=True)
            results[tag], runners = {}, {}
            fail = common.make_fail(results[tag])
            for name in only:
                print(f"  building {name} ...", flush=True)
                t0 = time.perf_counter()
                try:
                    if name == "hf":
                        # HF's weights have trained in earlier phases: no probe.
                        runners.update(build_hf(hf_model, x, y, with_probe=False))
                    else:
                        runners.update(build_keras(name, folder, cfg, x, y, [tag]))
                except Exception as e:
                    fail((name, None if name == "hf" else tag), e)
                print(f"    built in {time.perf_counter() - t0:.1f} s "
                      f"(RSS {common.rss_gb():.1f} GB)", flush=True)
            common.run_phase(runners, args.warmup, args.steps, results[tag], fail,
                             report=first_step_line)
            if ("hf", None) in results[tag] and "error" not in results[tag][("hf", None)]:
                results[tag][("hf", None)]["probe"] = initial_hf_loss
            common.release_memory()
            print(f"  (RSS after freeing the phase: {common.rss_gb():.1f} GB)", flush=True)
    print(f"total {time.perf_counter() - start:.0f} s; load average at the end "
          f"{os.getloadavg()}")
    print()
    print_table(results, args.batch, phases)
    print()
    print("seq/s med|best = batch / median|fastest timed step; '1st call s' includes tracing "
          "(and XLA compilation). Ratios are throughput ratios from one process, measured "
          "round-robin within a phase; keras-hub runs random weights of the same size and "
          "no NSP head. Measured on a shared machine: absolute figures are noisy.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
