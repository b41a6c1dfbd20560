"""BERT forward, train-step and fine-tuning-fit speed: kerabert vs keras-hub vs HF PyTorch.

All competitors run in ONE process on the same random inputs and the same
model size (BERT-base by default: 12 layers, hidden 768, 12 heads,
intermediate 3072, vocabulary 30522, sequence length 128), under one
precision (--dtype) on one device (--device, default the CPU):

  kerabert   `kerabert.BertBackbone` (forward) / `kerabert.BertClassifier` (train,
             fit), TensorFlow backend, with and without XLA
  keras-hub  `keras_hub.models.BertBackbone` / `keras_hub.models.BertTextClassifier`,
             same config, with and without XLA
  HF         `transformers.BertForSequenceClassification` (forward: its `.bert`, a
             `BertModel`), PyTorch eager, `torch.set_num_threads(<cores>)`

Forward = `tf.function(lambda x: model(x, training=False), jit_compile=...)`
for Keras, `model.eval()` under `torch.inference_mode()` for HF.
Train step = `model.compile(optimizer=Adam(1e-5), loss=sparse CE from logits,
jit_compile=...)` then `model.train_on_batch` for Keras; `zero_grad`,
forward with labels, `backward`, `torch.optim.Adam(lr=1e-5).step()` for HF.
The train step also has a "kerabert*" row: `BertClassifier` compiled with its
DEFAULT optimizer (kerabert's `AdamWeightDecay`: one fused update op per
variable, global-norm clipping 1.0, no decay on LayerNorm / bias, warmup/decay
schedule; `compile(metrics=None, num_train_steps=1000)`), so the optimizer's
steady-state cost is seen beside the plain-Adam rows.
Dropout 0.1 is active in the train step for all (inactive in forward).
Inputs: token ids uniform over ids 1000.. of the vocabulary, two segments, and a padding
mask with random lengths in [L/2, L], so masking costs the same everywhere.

Fit (the fine-tuning recipe's first step): each competitor trains one epoch
of B * (1 + warmup + steps) examples with its usual recipe and every step is
timed ("1st step s"; "steady s" = median of the last --steps steps; the
--warmup steps between are left out):
  kerabert   `BertClassifier(backbone, num_classes=2)` with its DEFAULT compile
             (AdamWeightDecay + warmup/decay, accuracy metric), `model.fit(x, y,
             batch_size=B, epochs=1)`; a Keras callback times each step from
             on_train_begin / the previous step's end to on_train_batch_end
  keras-hub  `BertTextClassifier(..., preprocessor=None)` compiled with
             `keras.optimizers.AdamW(2e-5, weight_decay=0.01)` (its default loss
             and metric), the same `fit` and callback
  HF         HF Trainer's loop by hand: `torch.optim.AdamW(2e-5, weight_decay 0.01,
             eps 1e-6; none on bias / LayerNorm)`, linear warmup/decay, clipping
             1.0, a shuffling DataLoader
"setup s" is the time before the first step (Keras: `fit` call to
on_train_begin; HF: optimizer, schedule, loader). XLA is Keras' default
(`jit_compile="auto"`: off on a CPU, on with a GPU). The fit runs one
competitor after the other (a fit cannot be interleaved), so it is more
exposed to outside load than the round-robin phases. It runs last, in a
process that has already built and traced the other phases' models, so
one-time costs (imports, TensorFlow's first graph compilations) are not in
its first step; with `--modes fit` the first competitor (kerabert) pays them.
For the Keras rows the table adds the anatomy of that first step
(common.TraceClock, measured inside the fit): how long tracing `train_step`
took and how many graph ops it made, split into forward + loss, gradient
(`tape.gradient`), optimizer (`apply_gradients`, with the time spent creating
its slot variables) and metrics, and the rest of the first step (the fit
loop's wrapper, graph optimization or XLA compilation, the first run).

Precision (--dtype float32 | mixed_bfloat16 | mixed_float16, default float32):
Keras competitors are built under that dtype policy (the backbones' `dtype=`
and the global policy around the build); HF runs its forward (and the train
step's forward) under `torch.autocast(<device>, dtype=bfloat16|float16)`, with
a GradScaler for float16 (as Keras' LossScaleOptimizer). Under mixed_bfloat16
the forward table adds "HF bf16": HF with its weights cast by
`.to(torch.bfloat16)` (pure bf16, no autocast). A CPU without avx512_bf16 /
AMX (see the CPU line of the header) has no bf16 arithmetic: bf16 is slow there
for everyone, except where XLA computes the bf16 dots in float32 (see the
ceiling's "TF XLA" column).

Ceiling: before the models, raw N x N x N matmul throughput (N = --matmul-size:
2048 on a CPU, 8192 on a GPU) of TensorFlow (`tf.linalg.matmul` in a
`tf.function`, without and with `jit_compile`: "TF XLA") and PyTorch
(`torch.mm`), float32 and bfloat16 (float16 too under mixed_float16), best of
--matmul-runs round-robin runs. The model tables give each row's GFLOP/s
(model FLOPs / median step time; FLOPs: common.forward_flops, a train step = 3
forward passes) and that as a share of its framework's ceiling at its compute
dtype ("% ceil"; Keras rows with XLA on are held against "TF XLA").

Device (--device cpu | gpu, default cpu): cpu hides GPUs from TensorFlow; gpu
places TensorFlow on /GPU:0 (memory growth on, so PyTorch has room) and PyTorch
on cuda, and exits with a message naming what is missing when either sees no
GPU. The header says whether each framework runs float32 matmuls in TF32
(TensorFlow does by default on Ampere and later, PyTorch does not). On a GPU
Keras' default `jit_compile="auto"` turns XLA on in the fit phase.

Competitors are timed side by side in phases: (1) forward of all of them,
(2) train step without XLA (kerabert, kerabert*, keras-hub, HF), (3) train
step with XLA (the same, HF again), (4) fit. In phases 1-3 all the phase's
models are built first and stay alive; each runs --warmup untimed steps (the
first includes tracing / XLA compilation, reported as "1st call s"), then
--steps rounds each time ONE step of EVERY competitor, round-robin, so that
load from other processes hits all of them alike (timed one after another,
the same model measured up to 2x apart on the shared machine). Models are
freed between phases (peak memory for BERT-base, batch 8: ~10 GB).
Throughput is batch / median step time and batch / fastest step ("best", the
least disturbed by outside load). Every figure is also given as a ratio to HF
measured in the same phase.

Usage:
  USE_TF=0 python benchmarks/bert_model_benchmark.py            # BERT-base, batch 8, float32
  USE_TF=0 python benchmarks/bert_model_benchmark.py --quick    # 4 layers, hidden 256
  USE_TF=0 python benchmarks/bert_model_benchmark.py --dtype mixed_bfloat16
  USE_TF=0 python benchmarks/bert_model_benchmark.py --seq-len 384 --batch-size 4  # SQuAD length
  USE_TF=0 python benchmarks/bert_model_benchmark.py --device gpu --batch-size 32
  USE_TF=0 python benchmarks/bert_model_benchmark.py --batch-size 16 --steps 5 \\
      --only kerabert,hf --no-xla --modes forward,fit --matmul-size 1024

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
MODES = ("forward", "train", "fit")
# The default optimizer's schedule needs a length outside `fit` (train_on_batch).
TRAIN_ON_BATCH_PLAN = 1000


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


def torch_tensors(inputs):
    """The packed numpy inputs as HF's (CPU) tensors."""
    import torch

    return {"input_ids": torch.from_numpy(inputs["token_ids"]).long(),
            "token_type_ids": torch.from_numpy(inputs["segment_ids"]).long(),
            "attention_mask": torch.from_numpy(inputs["padding_mask"]).long()}


# --- competitors ---------------------------------------------------------------------
#
# Each builder returns {(mode, name, jit): (step_fn, params, note)} or an exception
# per key. Keras: the forward pass uses the backbone; each XLA setting gets its own
# classifier around that backbone (its own optimizer state, shared weights).


def make_keras_backbone(name, cfg, dtype):
    import keras_hub

    import kerabert

    if name == "kerabert":
        return kerabert.BertBackbone(
            vocabulary_size=cfg["vocab"], num_layers=cfg["layers"], num_heads=cfg["heads"],
            hidden_dim=cfg["hidden"], intermediate_dim=cfg["intermediate"], dropout=0.1,
            attention_dropout=0.1, max_sequence_length=512, num_segments=2,
            activation="gelu", dtype=dtype)
    return keras_hub.models.BertBackbone(
        vocabulary_size=cfg["vocab"], num_layers=cfg["layers"], num_heads=cfg["heads"],
        hidden_dim=cfg["hidden"], intermediate_dim=cfg["intermediate"], dropout=0.1,
        max_sequence_length=512, num_segments=2, dtype=dtype)


def build_keras(name, cfg, inputs, labels, xla_modes, modes, dtype="float32", device="cpu"):
    import keras
    import keras_hub
    import tensorflow as tf

    import kerabert

    dev = common.tf_device(device)
    with tf.device(dev):
        x = {k: tf.constant(v) for k, v in inputs.items()}
        y = tf.constant(labels)
    with common.keras_dtype_policy(dtype), tf.device(dev):
        backbone = make_keras_backbone(name, cfg, dtype)
    if name == "kerabert":
        def make_classifier():
            return kerabert.BertClassifier(backbone, num_classes=2, compile=False)
    else:
        def make_classifier():
            return keras_hub.models.BertTextClassifier(backbone, num_classes=2,
                                                       preprocessor=None)

    runners = {}
    if "forward" in modes:
        params = common.count_params(backbone.weights)
        for jit in xla_modes:
            fn = tf.function(lambda inp: backbone(inp, training=False), jit_compile=jit)

            def step(fn=fn):
                with tf.device(dev):
                    fn(x)["pooled_output"].numpy()

            runners[("forward", name, jit)] = (step, params, None)
    if "train" in modes:
        # (row name, how it compiles, note): the shared plain Adam for every competitor;
        # kerabert also with its default optimizer.
        variants = [(name, "adam", "Adam")]
        if name == "kerabert":
            variants.append(("kerabert-default", "default",
                             "AdamWeightDecay (default compile, fused)"))
        for jit in xla_modes:
            for row, how, note in variants:
                try:
                    with common.keras_dtype_policy(dtype), tf.device(dev):
                        classifier = make_classifier()
                        if how == "adam":
                            classifier.compile(
                                optimizer=keras.optimizers.Adam(1e-5),
                                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                                metrics=None, jit_compile=jit)
                        else:
                            classifier.compile(metrics=None, jit_compile=jit,
                                               num_train_steps=TRAIN_ON_BATCH_PLAN)
                except Exception as e:
                    runners[("train", row, jit)] = e
                    continue

                def step(classifier=classifier):
                    with tf.device(dev):
                        classifier.train_on_batch(x, y)

                runners[("train", row, jit)] = (
                    step, common.count_params(classifier.trainable_weights), note)
    return runners


def hf_config(cfg):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=cfg["vocab"], hidden_size=cfg["hidden"], num_hidden_layers=cfg["layers"],
        num_attention_heads=cfg["heads"], intermediate_size=cfg["intermediate"],
        hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
        max_position_embeddings=512, type_vocab_size=2, num_labels=2)


def build_hf(cfg, inputs, labels, modes, tag=None, dtype="float32", device="cpu"):
    os.environ["USE_TF"] = "0"
    import copy

    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    dev = common.torch_device(device)
    t = {k: v.to(dev) for k, v in torch_tensors(inputs).items()}
    y = torch.from_numpy(labels).long().to(dev)
    model = BertForSequenceClassification(hf_config(cfg)).to(dev)
    autocast = common.torch_autocast(dtype, device)
    note = f"attn={getattr(model.config, '_attn_implementation', '?')}"
    if dtype != "float32":
        note += f", autocast {common.COMPUTE_DTYPES[dtype]}"
    runners = {}
    if "forward" in modes:
        def forward():
            model.eval()  # dropout off; toggling is a cheap walk over the modules
            with torch.inference_mode(), autocast():
                model.bert(**t).pooler_output.float().cpu().numpy()

        runners[("forward", "hf", tag)] = (
            forward, common.count_params(list(model.bert.parameters())), note)
        if dtype == "mixed_bfloat16":
            pure = copy.deepcopy(model.bert).to(torch.bfloat16).eval()

            def forward_bf16():
                with torch.inference_mode():
                    pure(**t).pooler_output.float().cpu().numpy()

            runners[("forward", "hf-bf16", tag)] = (
                forward_bf16, common.count_params(list(pure.parameters())),
                "weights .to(torch.bfloat16), no autocast")
    if "train" in modes:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)
        train = common.torch_train_step(model, optimizer, {**t, "labels": y}, autocast=autocast,
                                        scaler=common.torch_grad_scaler(dtype, device))
        runners[("train", "hf", tag)] = (
            train, common.count_params(list(model.parameters())), f"Adam, {note}")
    return runners


# --- fit: the fine-tuning recipe's first step vs its steady steps ---------------------


def fit_competitor(name, cfg, inputs, labels, args):
    """Builds `name`'s classifier with its usual recipe, fits one epoch on `inputs`, and
    returns fit_summary + note (+ anatomy for Keras). The model is dropped after."""
    import keras
    import tensorflow as tf

    import kerabert

    batch, dtype, device = args.batch_size, args.dtype, args.device
    if name == "hf":
        import torch
        from transformers import BertForSequenceClassification

        torch.manual_seed(0)
        model = BertForSequenceClassification(hf_config(cfg)).to(common.torch_device(device))
        run = common.torch_fit_steps(
            model, common.torch_adamw(2e-5, 0.01, 1e-6), torch_tensors(inputs),
            torch.from_numpy(labels).long(), batch,
            autocast=common.torch_autocast(dtype, device),
            scaler=common.torch_grad_scaler(dtype, device))
        summary = common.fit_summary(run, args.steps)
        summary["note"] = ("AdamW(2e-5, wd 0.01), clip 1.0, linear warmup/decay"
                           + ("" if dtype == "float32"
                              else f", autocast {common.COMPUTE_DTYPES[dtype]}"))
        return summary, None

    dev = common.tf_device(device)
    with common.keras_dtype_policy(dtype), tf.device(dev):
        backbone = make_keras_backbone(name, cfg, dtype)
        if name == "kerabert":
            model = kerabert.BertClassifier(backbone, num_classes=2)  # default compile
            note = "default compile: AdamWeightDecay (fused), clip 1.0, warmup/decay, accuracy"
        else:
            import keras_hub

            model = keras_hub.models.BertTextClassifier(backbone, num_classes=2,
                                                        preprocessor=None)
            model.compile(optimizer=keras.optimizers.AdamW(2e-5, weight_decay=0.01))
            note = "AdamW(2e-5, wd 0.01), default loss + accuracy"
    run = common.keras_fit_steps(model, inputs, labels, batch)
    summary = common.fit_summary(run, args.steps)
    summary["note"] = note
    summary["jit"] = bool(model.jit_compile)
    return summary, model


# --- report --------------------------------------------------------------------------


def print_tables(results, batch, phases, flops, ceiling, dtype):
    def timed(key):
        r = results.get(key)
        return r if r and r.get("times") else None

    def pair(r, other):
        if not r or not other:
            return "-"
        med, best = common.speedup(r, other)
        return f"{med:.2f}/{best:.2f}"

    titles = {"forward": "Forward (inference, training=False)",
              "train": "Train step (forward + backward + optimizer update, dropout on)"}
    for mode in ("forward", "train"):
        mode_phases = [ph for ph in phases if ph[0] == mode]
        if not mode_phases:
            continue
        mode_flops = flops * (1 if mode == "forward" else 3)
        print(f"== {titles[mode]}: batch {batch}, {dtype}; "
              f"{mode_flops / 1e9:.1f} GFLOP per step ==")
        common.print_header("ex/s", [("GFLOP/s", 9), ("% ceil", 9), ("vs keras-hub", 14),
                                     ("vs HF", 11)])
        extra_lines = []
        for _, xla_modes, tag in mode_phases:
            hf = timed((mode, "hf", tag))
            order = [(n, j) for n in ("kerabert", "kerabert-default", "keras-hub")
                     for j in xla_modes]
            order += [("hf", tag), ("hf-bf16", tag)]
            for name, jit in order:
                r = results.get((mode, name, jit))
                if r is None:
                    continue
                is_hf = name.startswith("hf")
                prefix = common.row_prefix(name, None if is_hf else jit)
                if r.get("error") is not None:
                    print(f"{prefix}failed: {r['error']}")
                    continue
                vs_hub = pair(r, timed((mode, "keras-hub", jit))) if name == "kerabert" else "-"
                vs_hf = pair(r, hf) if name != "hf" else "-"
                ceil = common.ceiling_for(ceiling, "PyTorch" if is_hf else "TensorFlow",
                                          "bfloat16" if name == "hf-bf16" else dtype,
                                          jit=bool(jit) and not is_hf)
                notes = f"{r['params'] / 1e6:.1f}M params"
                if r.get("note"):
                    notes += f", {r['note']}"
                if len(mode_phases) > 1 and is_hf:
                    notes += f", timed beside the XLA-{'on' if tag else 'off'} rows"
                print(f"{prefix}{common.timing_cells(batch, r, 'ex/s')}"
                      f"{common.gflops_cells(mode_flops, r, ceil)}"
                      f"{vs_hub:>14}{vs_hf:>11}  {notes}")
                if name == "kerabert-default" and timed((mode, "kerabert", jit)):
                    med, best = common.speedup(r, results[(mode, "kerabert", jit)])
                    extra_lines.append(
                        f"  kerabert* (AdamWeightDecay) / kerabert (Adam), XLA "
                        f"{'on' if jit else 'off'}: {med:.2f}x (median), {best:.2f}x (best)")
        print("\n".join(extra_lines + [""]))
    print("ex/s med|best = batch / median|fastest timed step. Ratios are throughput ratios "
          "(>1 = kerabert or the row is faster), given as median/best: 'vs keras-hub' "
          "is kerabert / keras-hub at the same XLA setting; 'vs HF' is the row / HF PyTorch "
          "(autocast under a mixed policy) timed in the same phase. Under outside load the "
          "'best' figures are the less disturbed ones. '1st call s' includes tracing and, "
          "with XLA, compilation. GFLOP/s = model FLOPs (common.forward_flops; train = 3 x "
          "forward) / median step; '% ceil' = that / the framework's matmul ceiling at the "
          "row's compute dtype. kerabert* = kerabert with its default optimizer.")
    print()


def main(argv=None):
    parser = common.make_parser(
        __doc__, COMPETITORS, batch_flag="--batch-size",
        warmup_help="untimed steps per measurement (>= 1; the first is reported); in the fit, "
                    "steps left out between the first and the timed ones",
        steps_help="timed round-robin rounds (one step of every competitor each); in the fit, "
                   "the steps whose median is 'steady s'")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="comma-separated subset of forward,train,fit (default all)")
    parser.add_argument("--no-xla", action="store_true", help="skip the XLA runs")
    parser.add_argument("--xla-only", action="store_true", help="skip the non-XLA Keras runs")
    parser.add_argument("--torch-threads", type=int, default=common.cpu_count(),
                        help="torch.set_num_threads (default: the core count)")
    parser.add_argument("--omp-wait-policy", default=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
                        choices=("PASSIVE", "ACTIVE", "unset"),
                        help="OMP_WAIT_POLICY for PyTorch's OpenMP pool (default PASSIVE, or "
                             "the environment's). With other load on the cores, libgomp's "
                             "default spinning made HF several times slower here.")
    common.add_precision_arguments(parser)
    args, only = common.parse_args(
        parser, argv, COMPETITORS, threads=False,
        quick=dict(layers=4, hidden=256, heads=4, intermediate=1024, warmup=1, steps=5),
        quick_help="4 layers, hidden 256, 4 heads, intermediate 1024; 1 warm-up + 5 steps "
                   "(explicit --warmup / --steps / sizes win)")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if any(m not in MODES for m in modes):
        parser.error("--modes takes forward, train and/or fit")
    xla_modes = [False, True]
    if args.no_xla:
        xla_modes = [False]
    if args.xla_only:
        xla_modes = [True]

    # Sets OMP_WAIT_POLICY before torch is first imported (libgomp reads it then);
    # TF's thread pool is left at its default. Exits here for --device gpu without one.
    cfg = common.setup(args, args.torch_threads, tf_threads=False,
                       omp_wait_policy=args.omp_wait_policy, detailed=True)
    print("== Setup ==")
    print(f"device: {common.device_description(args.device)}")
    print(f"model: {args.layers} layers, hidden {args.hidden}, {args.heads} heads, "
          f"intermediate {args.intermediate}, vocab {args.vocab}, gelu (erf)")
    print(f"dtype: {common.dtype_description(args.dtype, args.device)}")
    print(f"batch {args.batch_size} x seq len {args.seq_len}; {args.warmup} warm-up + "
          f"{args.steps} timed round-robin rounds per competitor; competitors: {', '.join(only)}; "
          f"modes: {', '.join(modes)}; Keras XLA settings: "
          f"{', '.join('on' if j else 'off' for j in xla_modes)}")
    print()

    start = time.perf_counter()
    ceiling = common.measure_ceiling(args)
    flops = common.forward_flops(cfg, args.batch_size, args.seq_len, "bert")
    inputs, labels = make_inputs(args.batch_size, args.seq_len, args.vocab)
    results = {}
    fail = common.make_fail(results, label=None)

    def describe(key):
        mode, name, jit = key
        xla = "" if name.startswith("hf") else f", XLA {'on' if jit else 'off'}"
        return f"{name} {mode}{xla}"

    def run_phase(mode, phase_xla, tag):
        """Builds, warms up and times one group of competitors, then frees them."""
        runners = {}
        for name in only:
            print(f"  building {name} ...", flush=True)
            t0 = time.perf_counter()
            try:
                if name == "hf":
                    built = build_hf(cfg, inputs, labels, [mode], tag=tag, dtype=args.dtype,
                                     device=args.device)
                else:
                    built = build_keras(name, cfg, inputs, labels, phase_xla, [mode],
                                        dtype=args.dtype, device=args.device)
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

    fit_rows = {}
    if "fit" in modes:
        n = args.batch_size * (1 + args.warmup + args.steps)
        print(f"== Phase: fit (one epoch of {n} examples = {n // args.batch_size} steps, "
              "one competitor after the other) ==", flush=True)
        fit_inputs, fit_labels = make_inputs(n, args.seq_len, args.vocab, seed=1)
        for name in ("kerabert", "keras-hub", "hf"):
            if name not in only:
                continue
            print(f"  {name} fit ...", flush=True)
            t0 = time.perf_counter()
            try:
                summary, model = fit_competitor(name, cfg, fit_inputs, fit_labels, args)
                key = (name, None if name == "hf" else summary.pop("jit"))
                fit_rows[key] = summary
                print(f"    setup {summary['setup']:.1f} s, 1st step {summary['first']:.1f} s, "
                      f"steady {summary['steady']:.2f} s; steps "
                      f"{' '.join(f'{s:.2f}' for s in summary['times'])} "
                      f"({time.perf_counter() - t0:.0f} s, RSS {common.rss_gb():.1f} GB)",
                      flush=True)
                del model
            except Exception as e:
                common.make_fail(fit_rows, label=None)((name, None), e)
            common.release_memory()

    print(f"total {time.perf_counter() - start:.0f} s; peak RSS {common.peak_rss_gb():.1f} GB")
    load = common.load_average()
    if load is not None:
        print(f"load average at the end (1/5/15 min): {load}")
    print()
    print(f"Results: BERT {args.layers} layers / hidden {args.hidden}, batch {args.batch_size} x "
          f"seq len {args.seq_len}, {args.dtype}, {common.device_description(args.device)}")
    print()
    common.print_ceiling(ceiling, args.matmul_size)
    print_tables(results, args.batch_size, phases, flops, ceiling, args.dtype)
    if fit_rows:
        print(f"== Fine-tuning fit: first step vs steady, batch {args.batch_size}, "
              f"{args.dtype} ==")
        common.print_fit_table(fit_rows, args.batch_size)
        print(f"'1st step s' = the first optimizer step of model.fit / the HF loop (tracing, "
              f"graph optimization, optimizer slots); 'steady s' = median of the last "
              f"{args.steps} steps; 'vs HF' = HF's time / the row's (>1 = faster than HF). "
              "The fits ran one after the other, not round-robin.")
        print()
    print(f"Note: measured on a machine with {common.cpu_count()} CPU cores that other processes "
          "(e.g. test runs) may have competed for, so absolute figures are noisy; the ratios "
          "come from one process and one run.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
