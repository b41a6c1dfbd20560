"""XLNet forward, train-step and fine-tuning-fit speed: kerabert vs HF PyTorch vs keras-hub.

All competitors run in ONE process on the same random inputs and the same
model size (XLNet-base by default: 12 layers, d_model 768, 12 heads, d_inner
3072, vocabulary 32000; batch 8 x sequence length 128), under one precision
(--dtype, default float32) on one device (--device, default the CPU):

  kerabert   `kerabert.XLNetBackbone.from_preset(folder)` (forward) /
             `kerabert.XLNetClassifier.from_preset(folder, num_classes=2)`
             (train, fit), TensorFlow backend; with `--xla` also jit-compiled
  HF         `transformers.XLNetForSequenceClassification` (forward: its
             `.transformer`, an `XLNetModel`), PyTorch eager
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
A "kerabert*" row is the same classifier compiled with its DEFAULT optimizer
(kerabert's `AdamWeightDecay` with the XLNet recipe: fused update per
variable, no decay, epsilon 1e-8, global-norm clipping 1.0, warmup/decay
schedule; `compile(metrics=None, num_train_steps=1000)`), so the optimizer's
steady-state cost is seen beside the Keras-AdamW row.

Fit (--fit: the fine-tuning recipe's first step): each competitor trains one
epoch of B * (1 + warmup + steps) examples from the saved weights and every
step is timed ("1st step s"; "steady s" = median of the last --steps steps):
kerabert `XLNetClassifier.from_preset(folder, num_classes=2)` with its DEFAULT
compile and `model.fit(x, y, batch_size=B, epochs=1)` (a Keras callback times
each step from on_train_begin / the previous step's end to on_train_batch_end;
the row adds the first step's anatomy, see bert_model_benchmark.py); HF
`XLNetForSequenceClassification.from_pretrained(folder)` in HF Trainer's loop:
`torch.optim.AdamW(2e-5, eps 1e-8, no decay)` (the XLNet recipe), linear
warmup/decay, clipping 1.0, a shuffling DataLoader. keras-hub has no XLNet
classifier (skipped). The fits run one after the other, not round-robin.

Precision (--dtype float32 | mixed_bfloat16 | mixed_float16, default float32):
kerabert and keras-hub are built under that Keras dtype policy (`dtype=`);
HF runs its forward (and the train step's forward) under
`torch.autocast(<device>, dtype=bfloat16|float16)` (GradScaler for float16).
Under mixed_bfloat16 the forward table adds "HF bf16": HF's weights cast with
`.to(torch.bfloat16)`, no autocast. The max |diff| lines then compare outputs
computed at low precision.

Ceiling and GFLOP/s: as in bert_model_benchmark.py: raw N x N x N matmul
throughput (--matmul-size, default 2048 on a CPU, 8192 on a GPU) of
TensorFlow (plain and XLA) and PyTorch (float32, bfloat16) measured first;
each row's GFLOP/s (common.forward_flops with the XLNet terms; a train step =
3 forward passes) and its share of its framework's ceiling ("% ceil").

Device (--device cpu | gpu, default cpu): gpu places TensorFlow on /GPU:0
(memory growth on) and PyTorch on cuda, and exits with a message naming what
is missing when either sees no GPU.

Inputs: XLNet's classification layout (`A <sep> B <sep> <cls>`, padded on the
LEFT, segment ids A=0, B=1, <cls>=2, pad=4), random lengths in [L/2, L], token
ids uniform over 7.. of the vocabulary.

Each competitor runs --warmup untimed steps (the first includes tracing / XLA
compilation: "1st call s"), then --steps rounds, each timing ONE step of
EVERY competitor (round-robin, so outside load hits all alike). Throughput =
batch / median step time, and batch / fastest step ("best"); every kerabert
row is also given as a ratio to HF (and keras-hub) from the same phase.
Threads: TF intra-op threads and `torch.set_num_threads` are both set to
--threads (default: the cores available); PyTorch's OpenMP pool runs with
OMP_WAIT_POLICY=PASSIVE (see bert_model_benchmark.py: spinning libgomp threads
made HF several times slower on a shared 2-core machine).

Usage:
  USE_TF=0 python benchmarks/xlnet_model_benchmark.py                    # XLNet-base forward
  USE_TF=0 python benchmarks/xlnet_model_benchmark.py --quick            # 2 layers, 256, smoke test
  USE_TF=0 python benchmarks/xlnet_model_benchmark.py --steps 3 --xla --train --fit
  USE_TF=0 python benchmarks/xlnet_model_benchmark.py --train --fit --dtype mixed_bfloat16
  USE_TF=0 python benchmarks/xlnet_model_benchmark.py --seq-len 384 --batch 4   # SQuAD length
  USE_TF=0 python benchmarks/xlnet_model_benchmark.py --device gpu --batch 32 --train --fit
"""

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


def torch_inputs(inputs, device="cpu"):
    """HF's tensors on --device's torch device ("cpu" leaves them where numpy is)."""
    import torch

    dev = common.torch_device(device)
    return {"input_ids": torch.from_numpy(inputs["token_ids"]).long().to(dev),
            "token_type_ids": torch.from_numpy(inputs["segment_ids"]).long().to(dev),
            "attention_mask": torch.from_numpy(inputs["padding_mask"]).float().to(dev)}


# --- competitors: each builder returns {(name, xla): (step, params, note)} --------
# A step returns its output as numpy (forward: sequence output; train: loss).


def build_forward(name, folder, cfg, inputs, hf_model, xla_modes, dtype="float32",
                  device="cpu"):
    import tensorflow as tf

    dev = common.tf_device(device)
    with tf.device(dev):
        x = {k: tf.constant(v) for k, v in inputs.items()}
    if name == "hf":
        import copy

        import torch

        t = torch_inputs(inputs, device)
        body = hf_model.transformer
        autocast = common.torch_autocast(dtype, device)

        def step():
            body.eval()
            with torch.no_grad(), autocast():
                return common.to_numpy(body(**t).last_hidden_state)

        note = f"attn={getattr(body.config, '_attn_implementation', '?')}"
        if dtype != "float32":
            note += f", autocast {common.COMPUTE_DTYPES[dtype]}"
        params = common.count_params(list(body.parameters()))
        runners = {("hf", None): (step, params, note, None)}
        if dtype == "mixed_bfloat16":
            pure = copy.deepcopy(body).to(torch.bfloat16).eval()
            t16 = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in t.items()}

            def step_bf16():
                with torch.no_grad():
                    return common.to_numpy(pure(**t16).last_hidden_state)

            runners[("hf-bf16", None)] = (step_bf16, params,
                                          "weights .to(torch.bfloat16), no autocast", None)
        return runners
    with common.keras_dtype_policy(dtype), tf.device(dev):
        if name == "kerabert":
            import kerabert

            model = kerabert.XLNetBackbone.from_preset(folder, dtype=dtype)
            note = "HF weights"
        else:
            import keras_hub

            if not hasattr(keras_hub.models, "XLNetBackbone"):
                raise RuntimeError(f"keras_hub {keras_hub.__version__} has no XLNetBackbone")
            model = keras_hub.models.XLNetBackbone(
                vocabulary_size=cfg["vocab"], num_layers=cfg["layers"], num_heads=cfg["heads"],
                hidden_dim=cfg["hidden"], intermediate_dim=cfg["intermediate"], dropout=0.1,
                activation="gelu", dtype=dtype)
            note = "random weights"
    runners = {}
    for jit in xla_modes:
        fn = tf.function(lambda inp: model(inp, training=False), jit_compile=jit)

        def step(fn=fn):
            with tf.device(dev):
                out = fn(x)
            return common.to_numpy(out["sequence_output"] if isinstance(out, dict) else out)

        runners[(name, jit)] = (step, common.count_params(model.weights), note, None)
    return runners


def build_train(name, folder, cfg, inputs, labels, hf_model, xla_modes, dtype="float32",
                device="cpu"):
    if name == "hf":
        import torch

        t = torch_inputs(inputs, device)
        y = torch.from_numpy(labels).long().to(common.torch_device(device))
        optimizer = torch.optim.AdamW(hf_model.parameters(), lr=1e-5, weight_decay=0.01)
        step = common.torch_train_step(hf_model, optimizer, {**t, "labels": y},
                                       autocast=common.torch_autocast(dtype, device),
                                       scaler=common.torch_grad_scaler(dtype, device))

        def probe():  # logits before training, dropout off
            hf_model.eval()
            with torch.no_grad(), common.torch_autocast(dtype, device)():
                return common.to_numpy(hf_model(**t).logits)

        note = "AdamW" + ("" if dtype == "float32"
                          else f", autocast {common.COMPUTE_DTYPES[dtype]}")
        return {("hf", None): (step, common.count_params(list(hf_model.parameters())), note,
                               probe)}
    if name != "kerabert":
        return {}  # keras-hub has no XLNet classifier: forward only
    import keras
    import tensorflow as tf

    import kerabert

    dev = common.tf_device(device)
    with tf.device(dev):
        x = {k: tf.constant(v) for k, v in inputs.items()}
        y = tf.constant(labels)
    runners = {}
    for jit in xla_modes:
        for row in ("kerabert", "kerabert-default"):
            with common.keras_dtype_policy(dtype), tf.device(dev):
                classifier = kerabert.XLNetClassifier.from_preset(
                    folder, num_classes=2, preprocessor=None, dtype=dtype, compile=False)
                # The query stream's `mask_emb` gets no gradient in classification (HF's
                # AdamW skips it too); frozen so Keras does not warn at every trace.
                classifier.backbone.mask_embedding.trainable = False
                if row == "kerabert":
                    classifier.compile(
                        optimizer=keras.optimizers.AdamW(1e-5, weight_decay=0.01),
                        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                        metrics=None, jit_compile=jit)
                    note = "AdamW, HF weights"
                else:  # the default optimizer; the schedule needs a length outside fit
                    classifier.compile(metrics=None, jit_compile=jit, num_train_steps=1000)
                    note = "AdamWeightDecay (default compile, fused), HF weights"

            def step(classifier=classifier):
                with tf.device(dev):
                    return float(classifier.train_on_batch(x, y, return_dict=True)["loss"])

            def probe(classifier=classifier):
                with tf.device(dev):
                    return common.to_numpy(classifier(x, training=False))

            runners[(row, jit)] = (step, common.count_params(classifier.trainable_weights),
                                   note, probe if row == "kerabert" and not jit else None)
    return runners


def fit_competitor(name, folder, inputs, labels, args):
    """`name`'s classifier from the saved weights, fitted one epoch with its usual
    recipe; returns fit_summary + note (+ the first step's anatomy for kerabert)."""
    if name == "hf":
        import torch
        import transformers

        model = transformers.XLNetForSequenceClassification.from_pretrained(folder).to(
            common.torch_device(args.device))
        tensors = {k: v.cpu() for k, v in torch_inputs(inputs).items()}
        run = common.torch_fit_steps(
            model, common.torch_adamw(2e-5, 0.0, 1e-8), tensors,
            torch.from_numpy(labels).long(), args.batch,
            autocast=common.torch_autocast(args.dtype, args.device),
            scaler=common.torch_grad_scaler(args.dtype, args.device))
        summary = common.fit_summary(run, args.steps)
        summary["note"] = ("AdamW(2e-5, eps 1e-8, no decay), clip 1.0, linear warmup/decay"
                           + ("" if args.dtype == "float32"
                              else f", autocast {common.COMPUTE_DTYPES[args.dtype]}"))
        return summary, None
    import tensorflow as tf

    import kerabert

    with common.keras_dtype_policy(args.dtype), tf.device(common.tf_device(args.device)):
        model = kerabert.XLNetClassifier.from_preset(folder, num_classes=2, preprocessor=None,
                                                     dtype=args.dtype)  # default compile
    run = common.keras_fit_steps(model, inputs, labels, args.batch)
    summary = common.fit_summary(run, args.steps)
    summary["note"] = ("default compile: AdamWeightDecay (fused, XLNet recipe), clip 1.0, "
                       "warmup/decay, accuracy; HF weights")
    summary["jit"] = bool(model.jit_compile)
    return summary, model


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


def print_table(title, results, batch, diff, flops, ceiling, dtype):
    print(f"== {title}: batch {batch}, {dtype}; {flops / 1e9:.1f} GFLOP per step ==")
    common.print_header("ex/s", [("GFLOP/s", 9), ("% ceil", 9), ("params", 9)])
    for key, r in results.items():
        prefix = common.row_prefix(*key)
        if "error" in r:
            print(f"{prefix}failed: {r['error']}")
            continue
        is_hf = key[0].startswith("hf")
        ceil = common.ceiling_for(ceiling, "PyTorch" if is_hf else "TensorFlow",
                                  "bfloat16" if key[0] == "hf-bf16" else dtype,
                                  jit=bool(key[1]) and not is_hf)
        print(f"{prefix}{common.timing_cells(batch, r, 'ex/s')}"
              f"{common.gflops_cells(flops, r, ceil)}{r['params'] / 1e6:>8.1f}M  "
              f"{r['note'] or ''}")
    ok = {k: r for k, r in results.items() if r.get("times")}
    hf = ok.get(("hf", None))
    labels = {"kerabert": "kerabert", "kerabert-default": "kerabert*", "keras-hub": "keras-hub",
              "hf": "HF", "hf-bf16": "HF bf16"}

    def label(key):
        return f"{labels[key[0]]}{' XLA' if key[1] else ''}"

    pairs = []
    for key in ok:
        if key[0] in ("kerabert", "kerabert-default", "keras-hub", "hf-bf16"):
            pairs.append((key, ("hf", None)))
        if key[0] == "kerabert":
            pairs.append((key, ("keras-hub", key[1])))
        if key[0] == "kerabert-default":
            pairs.append((key, ("kerabert", key[1])))
    lines = [common.ratio_line(label(a), ok[a], label(b), ok[b])
             for a, b in pairs if b in ok]
    if lines:
        print("throughput ratios (>1 = the first one faster):")
        print("\n".join(lines))
    what = "sequence output, real tokens" if "Forward" in title else "logits before training"
    if diff is not None:
        print(f"kerabert vs HF (same weights, {what}, {dtype}): max |diff| = {diff[0]:.2e} "
              f"(max |HF value| {diff[1]:.2f})")
    elif hf is not None:
        print("kerabert vs HF outputs: not compared")
    print()


def main(argv=None):
    parser = common.make_parser(
        __doc__, COMPETITORS, sizes={"vocab": 32000},
        warmup_help="untimed steps per competitor (>= 1; the first is reported); in the fit, "
                    "steps left out between the first and the timed ones",
        steps_help="timed round-robin rounds; in the fit, the steps whose median is "
                   "'steady s'")
    parser.add_argument("--xla", action="store_true",
                        help="also time kerabert (and keras-hub) with jit_compile=True")
    parser.add_argument("--train", action="store_true",
                        help="also time one optimizer step (kerabert XLNetClassifier "
                             "train_on_batch vs HF XLNetForSequenceClassification + AdamW)")
    parser.add_argument("--fit", action="store_true",
                        help="also time the fine-tuning fit's first step vs its steady steps "
                             "(kerabert default compile + fit vs an HF AdamW loop)")
    parser.add_argument("--no-forward", action="store_true", help="skip the forward phase")
    common.add_precision_arguments(parser)
    args, only = common.parse_args(
        parser, argv, COMPETITORS,
        quick=dict(layers=2, hidden=256, heads=4, intermediate=1024, vocab=1000, batch=4,
                   seq_len=64, steps=2),
        quick_help="smoke test: 2 layers, hidden 256, 4 heads, intermediate 1024, "
                   "vocab 1000, batch 4, seq len 64, 2 steps (explicit values win)")
    # Exits here for --device gpu without one.
    cfg = common.setup(args, args.threads)
    print(f"device: {common.device_description(args.device)}")
    print(f"model: {args.layers} layers, d_model {args.hidden}, {args.heads} heads, d_inner "
          f"{args.intermediate}, vocab {args.vocab}, gelu; batch {args.batch} x "
          f"seq len {args.seq_len}; {args.warmup} warm-up + {args.steps} timed rounds")
    print(f"dtype: {common.dtype_description(args.dtype, args.device)}")
    print()

    xla_modes = [False, True] if args.xla else [False]
    inputs, labels = make_inputs(args.batch, args.seq_len, args.vocab)
    start = time.perf_counter()
    ceiling = common.measure_ceiling(args)
    flops = common.forward_flops(cfg, args.batch, args.seq_len, "xlnet")
    with tempfile.TemporaryDirectory(prefix="xlnet_bench_") as folder:
        t0 = time.perf_counter()
        hf_model = save_hf_xlnet(folder, cfg).to(common.torch_device(args.device))
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
                        built = build_forward(name, folder, cfg, inputs, hf_model, xla_modes,
                                              args.dtype, args.device)
                    else:
                        built = build_train(name, folder, cfg, inputs, labels, hf_model,
                                            xla_modes, args.dtype, args.device)
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
            common.release_memory()
        fit_rows = {}
        if args.fit:
            del hf_model
            common.release_memory()
            n = args.batch * (1 + args.warmup + args.steps)
            print(f"== Phase: fit (one epoch of {n} examples = {n // args.batch} steps, one "
                  "competitor after the other; keras-hub: no XLNet classifier) ==", flush=True)
            fit_inputs, fit_labels = make_inputs(n, args.seq_len, args.vocab, seed=1)
            for name in ("kerabert", "hf"):
                if name not in only:
                    continue
                print(f"  {name} fit ...", flush=True)
                t0 = time.perf_counter()
                try:
                    summary, model = fit_competitor(name, folder, fit_inputs, fit_labels, args)
                    fit_rows[(name, None if name == "hf" else summary.pop("jit"))] = summary
                    print(f"    setup {summary['setup']:.1f} s, 1st step "
                          f"{summary['first']:.1f} s, steady {summary['steady']:.2f} s; steps "
                          f"{' '.join(f'{s:.2f}' for s in summary['times'])} "
                          f"({time.perf_counter() - t0:.0f} s)", flush=True)
                    del model
                except Exception as e:
                    common.make_fail(fit_rows, label=None)((name, None), e)
                common.release_memory()
    print(f"total {time.perf_counter() - start:.0f} s; peak RSS {common.peak_rss_gb():.1f} GB; "
          f"load average at the end {os.getloadavg()}")
    print()
    print(f"Results: XLNet {args.layers} layers / d_model {args.hidden}, batch {args.batch} x "
          f"seq len {args.seq_len}, {args.dtype}, {common.device_description(args.device)}")
    print()
    common.print_ceiling(ceiling, args.matmul_size)
    titles = {"forward": "Forward (training=False / no_grad)",
              "train": "Train step (forward + backward + optimizer update, dropout on)"}
    for mode, results, diff in tables:
        print_table(titles[mode], results, args.batch, diff,
                    flops * (1 if mode == "forward" else 3), ceiling, args.dtype)
    print("ex/s med|best = batch / median|fastest timed step; '1st call s' includes "
          "tracing (and XLA compilation). Ratios are throughput ratios from one process, "
          "measured round-robin; keras-hub runs random weights of the same size. "
          "kerabert* = kerabert with its default optimizer. GFLOP/s = model FLOPs "
          "(common.forward_flops, XLNet terms; train = 3 x forward) / median step; '% ceil' = "
          "that / the framework's matmul ceiling at the row's compute dtype.")
    print()
    if fit_rows:
        print(f"== Fine-tuning fit: first step vs steady, batch {args.batch}, {args.dtype} ==")
        common.print_fit_table(fit_rows, args.batch)
        print(f"'1st step s' = the first optimizer step of model.fit / the HF loop; 'steady s' "
              f"= median of the last {args.steps} steps; 'vs HF' = HF's time / the row's (>1 = "
              "faster than HF). The fits ran one after the other, not round-robin.")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
