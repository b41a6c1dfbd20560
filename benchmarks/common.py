"""Pieces the model benchmarks share (bert_model, xlnet_model, pretraining).

Command-line pieces, thread setup, the environment header, memory figures,
the warm-up + round-robin timing loop and the table / ratio formatting. The
scripts import this as `common` (run as `python benchmarks/<name>.py`, which
puts benchmarks/ on sys.path) or as `benchmarks.common` (`python -m`).
Importing it loads no framework (TensorFlow and torch are imported inside the
functions) but sets the environment defaults the scripts rely on, so the
scripts import it first: USE_TF=0 (transformers without TensorFlow),
KERAS_BACKEND=tensorflow, TF_CPP_MIN_LOG_LEVEL=2.
"""

import argparse
import gc
import os
import platform
import statistics
import time
import traceback

os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

LABELS = {"kerabert": "kerabert", "keras-hub": "keras-hub", "hf": "HF torch",
          # kerabert's task with its default optimizer (AdamWeightDecay: fused update,
          # clipping, warmup/decay schedule) instead of the shared plain Adam / AdamW
          "kerabert-default": "kerabert*",
          # HF with its weights cast to bfloat16 (`.to(torch.bfloat16)`): no autocast
          "hf-bf16": "HF bf16"}


def cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# --- command line --------------------------------------------------------------------


def add_size_arguments(parser, defaults=None, batch_flag="--batch"):
    """--layers/--hidden/--heads/--intermediate/--vocab (BERT-base unless `defaults`
    says otherwise), then `batch_flag` (default 8) and --seq-len (default 128)."""
    sizes = {"layers": 12, "hidden": 768, "heads": 12, "intermediate": 3072, "vocab": 30522,
             "batch": 8, "seq_len": 128}
    sizes.update(defaults or {})
    for name in ("layers", "hidden", "heads", "intermediate", "vocab"):
        parser.add_argument(f"--{name}", type=int, default=sizes[name])
    parser.add_argument(batch_flag, type=int, default=sizes["batch"])
    parser.add_argument("--seq-len", type=int, default=sizes["seq_len"])


def make_parser(doc, competitors, sizes=None, batch_flag="--batch",
                warmup_help="untimed steps per competitor (>= 1; the first is reported)",
                steps_help="timed round-robin rounds"):
    """An ArgumentParser described by the first paragraph of `doc`, with the size
    arguments (add_size_arguments), --warmup (default 1), --steps (default 5) and --only."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    add_size_arguments(parser, sizes, batch_flag)
    parser.add_argument("--warmup", type=int, default=1, help=warmup_help)
    parser.add_argument("--steps", type=int, default=5, help=steps_help)
    parser.add_argument("--only", default=",".join(competitors),
                        help=f"comma-separated subset of {','.join(competitors)}")
    return parser


def parse_args(parser, argv, competitors, quick, quick_help, threads=True):
    """Adds --threads (with `threads`: TF intra-op and torch threads, default the cores)
    and --quick, then parses `argv`; --quick sets the arguments of the `quick` dict that
    the command line left at their defaults (`--quick --steps 3` runs 3 steps).
    Returns (args, the --only list); an empty list or an unknown name is a usage
    error."""
    if threads:
        parser.add_argument("--threads", type=int, default=cpu_count(),
                            help="TF intra-op threads and torch.set_num_threads "
                                 "(default: cores)")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in quick.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    only = [c.strip() for c in args.only.split(",") if c.strip()]
    bad = [c for c in only if c not in competitors]
    if not only or bad:
        parser.error(f"--only takes a subset of {competitors}"
                     + (f" (unknown: {bad})" if bad else ""))
    return args, only


# --- environment ---------------------------------------------------------------------


def setup_threads(threads, tf_threads=True, omp_wait_policy=None):
    """Sets OMP_WAIT_POLICY before torch loads (libgomp reads it then), then
    `torch.set_num_threads(threads)` and, with `tf_threads`, TF's intra-op threads.

    `omp_wait_policy`: None = PASSIVE unless the environment sets one; "unset"
    removes it; anything else is set. Spinning libgomp threads made HF several
    times slower on a shared 2-core machine, hence PASSIVE."""
    if omp_wait_policy is None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    elif omp_wait_policy == "unset":
        os.environ.pop("OMP_WAIT_POLICY", None)
    else:
        os.environ["OMP_WAIT_POLICY"] = omp_wait_policy
    if tf_threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
    import torch

    torch.set_num_threads(threads)


def setup(args, threads, tf_threads=True, omp_wait_policy=None, detailed=False):
    """setup_threads, setup_device(args.device) where the script has --device (a
    SystemExit naming what is missing for --device gpu without a GPU), Keras' random
    seed 0, then print_environment(detailed). Returns
    the model size from `args` as a dict: layers, hidden, heads, intermediate, vocab."""
    setup_threads(threads, tf_threads, omp_wait_policy)
    if getattr(args, "device", None):  # scripts with add_precision_arguments
        setup_device(args.device)
    import keras

    keras.utils.set_random_seed(0)
    print_environment(detailed)
    return {"layers": args.layers, "hidden": args.hidden, "heads": args.heads,
            "intermediate": args.intermediate, "vocab": args.vocab}


def load_average():
    """The load average rounded to 2 decimals, or None where there is none."""
    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except OSError:
        return None


# CPU flags that decide how fast low-precision matmuls can be.
PRECISION_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16",
                   "amx_tile", "amx_bf16", "amx_int8")


def cpu_description():
    """"<CPU model> [flags]": the model name and the AVX-512 / AMX / bf16 flags
    from /proc/cpuinfo (or platform.processor() elsewhere). Every figure a
    benchmark prints holds for this CPU only."""
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() in ("flags", "Features"):
                    flags = set(value.split())
                    break
    except OSError:
        pass
    shown = [flag for flag in PRECISION_FLAGS if flag in flags]
    bf16 = "bf16 in hardware" if {"avx512_bf16", "amx_bf16"} & flags else "no bf16 in hardware"
    return f"{model} [{' '.join(shown) or 'no AVX2/AVX-512/AMX flags'}; {bf16}]"


def print_environment(detailed=False):
    """The "== Environment ==" header: versions, cores, threads, load. `detailed` adds
    the platform, OMP_NUM_THREADS, TF's inter-op threads and GPUs, one item a line."""
    import keras
    import keras_hub
    import numpy as np
    import tensorflow as tf
    import torch
    import transformers

    import kerabert

    print("== Environment ==")
    print(f"CPU: {cpu_description()}")
    if not detailed:
        print(f"python {platform.python_version()} | {cpu_count()} cores | kerabert "
              f"{kerabert.__version__} | tensorflow {tf.__version__} | keras {keras.__version__} | "
              f"keras-hub {keras_hub.__version__} | torch {torch.__version__} | transformers "
              f"{transformers.__version__}")
        print(f"threads: TF intra-op {tf.config.threading.get_intra_op_parallelism_threads()}, "
              f"torch {torch.get_num_threads()}; OMP_WAIT_POLICY="
              f"{os.environ.get('OMP_WAIT_POLICY')}; load average {os.getloadavg()}")
        return
    print(f"python {platform.python_version()} on {platform.platform()}")
    print(f"CPU cores available: {cpu_count()} (os.cpu_count()={os.cpu_count()})")
    load = load_average()
    if load is not None:
        print(f"load average (1/5/15 min): {load}")
    print(f"kerabert {kerabert.__version__} | tensorflow {tf.__version__} | keras "
          f"{keras.__version__} (backend {keras.backend.backend()}) | keras-hub "
          f"{keras_hub.__version__}")
    print(f"torch {torch.__version__} (threads {torch.get_num_threads()}) | transformers "
          f"{transformers.__version__} | numpy {np.__version__}")
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')} | "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}")
    print(f"TF intra/inter-op threads: {tf.config.threading.get_intra_op_parallelism_threads()}"
          f"/{tf.config.threading.get_inter_op_parallelism_threads()} (0 = all cores); "
          f"GPUs: {len(tf.config.list_physical_devices('GPU'))} physical, "
          f"{len(tf.config.get_visible_devices('GPU'))} visible to TF")
    print()


# --- memory ----------------------------------------------------------------------------


def count_params(weights):
    import numpy as np

    return int(sum(np.prod(tuple(w.shape)) for w in weights))


def rss_gb():
    """Current resident memory of this process (Linux), in GB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1e6
    except OSError:
        pass
    return float("nan")


def peak_rss_gb():
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux
    except Exception:
        return float("nan")


def release_memory():
    """Frees the last phase's Keras models and returns glibc's free lists to the OS, so
    the next phase does not stack on top of them (BERT-base: ~10 GB RSS otherwise)."""
    import keras

    keras.backend.clear_session()
    gc.collect()
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()  # --device gpu: TensorFlow allocates from the same GPU
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except Exception:  # not glibc
        pass


# --- timing ----------------------------------------------------------------------------
#
# A runner is `(step, params, note)` or `(step, params, note, probe)`: `step()` runs one
# step, `probe()` (optional) runs once before the first step.


def torch_train_step(model, optimizer, inputs, autocast=None, scaler=None):
    """One eager PyTorch optimizer step, dropout on: `zero_grad`, forward with `inputs`
    (labels included; under `autocast()` when given, see torch_autocast), `backward`
    (through the GradScaler `scaler` when given), `optimizer.step()`; the step returns
    the loss."""
    import contextlib

    autocast = autocast or contextlib.nullcontext

    def step():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            loss = model(**inputs).loss
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        return loss.item()

    return step


def describe(key):
    """`(name, xla)` -> "name" or "name (XLA on|off)"."""
    name, jit = key
    return name if jit is None else f"{name} (XLA {'on' if jit else 'off'})"


def make_fail(results, label=describe):
    """A `fail(key, error)` that prints the error's first line ("    <label> failed: ...";
    its traceback too with BENCH_TRACEBACK=1) and records it as `results[key]["error"]`."""

    def fail(key, error):
        if os.environ.get("BENCH_TRACEBACK"):
            traceback.print_exception(error)
        lines = f"{type(error).__name__}: {error}".strip().splitlines()
        message = lines[0][:200] if lines else type(error).__name__
        prefix = "" if label is None else f"{label(key)} "
        print(f"    {prefix}failed: {message}", flush=True)
        results[key] = {"error": message}

    return fail


def first_call_line(key, result):
    return f"    1st call {result['first']:.1f} s (RSS {rss_gb():.1f} GB)"


def warm_up(runners, warmup, results, fail, announce=None, report=first_call_line):
    """Per runner: the probe (if any), then `warmup` untimed steps, the first one timed.
    Records results[key] = {first, times: [], params, note, probe (what it returned),
    first_output (what the first step returned)}; a runner that fails is reported
    through `fail` and removed."""
    for key in list(runners):
        step, params, note = runners[key][:3]
        probe = runners[key][3] if len(runners[key]) > 3 else None
        print(f"  warm-up {describe(key)} ..." if announce is None else announce(key),
              flush=True)
        try:
            probed = probe() if probe is not None else None
            t0 = time.perf_counter()
            output = step()
            first = time.perf_counter() - t0
            for _ in range(warmup - 1):
                step()
        except Exception as e:
            fail(key, e)
            del runners[key]
            continue
        results[key] = {"first": first, "times": [], "params": params, "note": note,
                        "probe": probed, "first_output": output}
        print(report(key, results[key]), flush=True)


def timed_rounds(runners, steps, results, fail):
    """`steps` rounds, each timing ONE step of EVERY runner (round-robin, so that load
    from other processes hits all of them alike); appends to results[key]["times"]."""
    for r in range(steps):
        t0 = time.perf_counter()
        for key in list(runners):
            try:
                t1 = time.perf_counter()
                runners[key][0]()
                results[key]["times"].append(time.perf_counter() - t1)
            except Exception as e:
                fail(key, e)
                del runners[key]
        print(f"  round {r + 1}/{steps}: {time.perf_counter() - t0:.1f} s", flush=True)


def run_phase(runners, warmup, steps, results, fail, report=first_call_line):
    """warm_up, then timed_rounds; the runners are dropped at the end."""
    warm_up(runners, warmup, results, fail, report=report)
    timed_rounds(runners, steps, results, fail)
    runners.clear()


# --- report ----------------------------------------------------------------------------


def print_header(unit="ex/s", extra=()):
    """Prints the table header (model, XLA, `unit` med|best, ms med|best, 1st call s, then
    the `extra` (title, width) columns and notes) and a rule under it."""
    header = (f"{'model':<11}{'XLA':<5}{unit + ' med':>{len(unit) + 5}}"
              f"{unit + ' best':>{len(unit) + 6}}{'ms med':>9}{'ms best':>9}{'1st call s':>11}"
              + "".join(f"{title:>{width}}" for title, width in extra) + "  notes")
    print(header)
    print("-" * len(header))


def row_prefix(name, jit):
    xla = "-" if jit is None else ("on" if jit else "off")
    return f"{LABELS[name]:<11}{xla:<5}"


def timing_cells(batch, result, unit="ex/s"):
    """The row's timing columns under print_header(unit)."""
    times = result["times"]
    med, best = statistics.median(times), min(times)
    return (f"{batch / med:>{len(unit) + 5}.2f}{batch / best:>{len(unit) + 6}.2f}"
            f"{med * 1e3:>9.0f}{best * 1e3:>9.0f}{result['first']:>11.1f}")


def speedup(result, other):
    """Throughput of `result` / throughput of `other` (= inverse time ratio), as
    (median, best)."""
    a, b = result["times"], other["times"]
    return statistics.median(b) / statistics.median(a), min(b) / min(a)


def ratio_line(label, result, other_label, other):
    med, best = speedup(result, other)
    return f"  {label} / {other_label}: {med:.2f}x (median), {best:.2f}x (best)"


# --- precision and device ----------------------------------------------------------------
#
# --dtype is a Keras dtype policy. Keras competitors are built under it (the
# backbone's `dtype=` and the global policy around the build, so that the task
# heads and the loss-scale wrapping of `compile` follow it). PyTorch gets the
# nearest equivalent: `torch.autocast(<device>, dtype=bfloat16|float16)` around
# the forward pass (and the train step's forward); the weights, gradients and
# optimizer stay float32, as in Keras' mixed policies. mixed_float16 trains HF
# with a `torch.amp.GradScaler`, as Keras does with its LossScaleOptimizer.

DTYPES = ("float32", "mixed_bfloat16", "mixed_float16")
# The compute dtype of each policy: the dtype of the matmul ceiling it is held against.
COMPUTE_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16",
                  "mixed_float16": "float16"}


def add_precision_arguments(parser):
    """--dtype, --device, --matmul-size, --matmul-runs and --no-ceiling."""
    parser.add_argument("--dtype", default="float32", choices=DTYPES,
                        help="Keras dtype policy of the Keras competitors; HF runs under "
                             "torch.autocast with the same compute dtype (default float32)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "gpu"),
                        help="cpu (default; GPUs are hidden from TensorFlow) or gpu: "
                             "TensorFlow on /GPU:0 (memory growth on, so PyTorch has room), "
                             "PyTorch on cuda; exits with a message when either sees no GPU")
    parser.add_argument("--matmul-size", type=int, default=None,
                        help="N of the N x N x N matmul of the ceiling section (default 2048 "
                             "on the CPU, 8192 on a GPU, where a 2048 matmul takes tens of "
                             "microseconds and the call overhead would count)")
    parser.add_argument("--matmul-runs", type=int, default=3,
                        help="timed runs per ceiling matmul; the best is reported (default 3)")
    parser.add_argument("--no-ceiling", action="store_true",
                        help="skip the matmul ceiling section")


def setup_device(device):
    """Makes the frameworks use `device` ("cpu" or "gpu"). Call after setup_threads
    (which imports torch after setting OMP_WAIT_POLICY) and before TensorFlow runs
    its first op (device visibility and memory growth are fixed then).

    cpu: GPUs are hidden from TensorFlow, which would otherwise place every op on
    one; PyTorch's tensors stay on the CPU unless moved. gpu: TensorFlow and
    PyTorch must each see a CUDA GPU, else SystemExit with what is missing.
    TensorFlow's GPU memory grows on demand (by default it takes nearly all of
    it at start, leaving PyTorch none)."""
    import tensorflow as tf
    import torch

    if device == "cpu":
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:  # TensorFlow already initialized its devices
            if tf.config.get_visible_devices("GPU"):
                print("warning: --device cpu, but TensorFlow was initialized with a GPU "
                      "visible; Keras figures may come from the GPU")
        return
    problems = []
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        built = "" if tf.test.is_built_with_cuda() else ", and this TensorFlow is not built with CUDA"
        problems.append(f"TensorFlow {tf.__version__} sees no GPU "
                        f"(tf.config.list_physical_devices('GPU') is empty{built})")
    if not torch.cuda.is_available():
        problems.append(f"PyTorch {torch.__version__} sees no GPU (torch.cuda.is_available() "
                        f"is False; CUDA build: {torch.version.cuda or 'none'})")
    if problems:
        raise SystemExit("--device gpu: " + "; ".join(problems) + ". Run on a machine with an "
                         "NVIDIA GPU and CUDA builds of TensorFlow and PyTorch, or use "
                         "--device cpu.")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)


def tf_device(device):
    """The TensorFlow device string for --device."""
    return "/GPU:0" if device == "gpu" else "/CPU:0"


def torch_device(device):
    """The PyTorch device string for --device."""
    return "cuda" if device == "gpu" else "cpu"


def dtype_description(dtype, device):
    """How each framework runs under the --dtype policy, for the header."""
    if dtype == "float32":
        return dtype
    compute = COMPUTE_DTYPES[dtype]
    return (f"{dtype} (Keras policy: {compute} compute, float32 variables; HF: torch.autocast("
            f"{torch_device(device)}, {compute})"
            + (", plus a pure-bf16 HF forward row" if dtype == "mixed_bfloat16" else "")
            + (", GradScaler" if dtype == "mixed_float16" else "") + ")")


def device_description(device):
    """One line naming the device the figures come from."""
    if device != "gpu":
        return f"cpu: {cpu_description()}"
    import tensorflow as tf
    import torch

    # TensorFlow runs float32 matmuls in TF32 on Ampere and later by default, PyTorch
    # does not: the float32 figures differ for that reason alone.
    return (f"gpu: TensorFlow /GPU:0, PyTorch cuda:0 = {torch.cuda.get_device_name(0)}; "
            f"TF32 float32 matmuls: TensorFlow "
            f"{tf.config.experimental.is_tensor_float_32_execution_enabled()}, PyTorch "
            f"{torch.backends.cuda.matmul.allow_tf32} (host CPU {cpu_description()})")


def keras_dtype_policy(dtype):
    """A context manager: Keras' global dtype policy is `dtype` inside, restored after."""
    import contextlib

    import keras

    @contextlib.contextmanager
    def scope():
        old = keras.config.dtype_policy()
        keras.config.set_dtype_policy(dtype)
        try:
            yield
        finally:
            keras.config.set_dtype_policy(old)

    return scope()


def torch_autocast(dtype, device):
    """A factory of the autocast context HF runs under for the --dtype policy:
    a null context for float32, else `torch.autocast(<device>, dtype=bfloat16|float16)`."""
    import contextlib

    import torch

    if dtype == "float32":
        return contextlib.nullcontext
    low = torch.bfloat16 if dtype == "mixed_bfloat16" else torch.float16
    return lambda: torch.autocast(torch_device(device), dtype=low)


def torch_grad_scaler(dtype, device):
    """A `torch.amp.GradScaler` for mixed_float16 (what Keras' LossScaleOptimizer does),
    else None."""
    if dtype != "mixed_float16":
        return None
    import torch

    return torch.amp.GradScaler(torch_device(device))


def to_numpy(value):
    """A framework tensor (TF, torch, also bfloat16 and on a GPU) as a float32 numpy array."""
    import numpy as np

    if hasattr(value, "detach"):  # torch
        return value.detach().float().cpu().numpy()
    return np.asarray(value).astype("float32")


# --- matmul ceiling ----------------------------------------------------------------------


def matmul_ceiling(size, runs, device, dtypes=("float32", "bfloat16")):
    """GFLOP/s of one `size`^3 matmul in TensorFlow (`tf.linalg.matmul` in a
    `tf.function`, without and with `jit_compile`: "TensorFlow" and "TF XLA", which
    take different kernels, e.g. XLA on a CPU computes a bfloat16 dot in float32)
    and PyTorch (`torch.mm` under inference_mode), per dtype.

    Each (framework, dtype) runs once untimed (tracing), then once to size the
    timed runs: a run repeats the matmul enough times for ~0.3 s and waits for the
    last result (the device's work included, on a GPU). `runs` rounds, each timing
    one run of every (framework, dtype), round-robin; the best run is reported.
    Returns {(framework, dtype): GFLOP/s or an error string}."""
    import tensorflow as tf
    import torch

    flops = 2.0 * size ** 3
    runners, results = {}, {}
    for dtype in dtypes:
        try:
            with tf.device(tf_device(device)):
                a = tf.cast(tf.random.normal((size, size), seed=1), dtype)
                b = tf.cast(tf.random.normal((size, size), seed=2), dtype)
            for framework, jit in (("TensorFlow", False), ("TF XLA", True)):
                fn = tf.function(tf.linalg.matmul, jit_compile=jit)

                def tf_run(reps, fn=fn, a=a, b=b):
                    with tf.device(tf_device(device)):
                        for _ in range(reps):
                            c = fn(a, b)
                        c[0, 0].numpy()  # waits for the device

                runners[(framework, dtype)] = tf_run
        except Exception as e:
            results[("TensorFlow", dtype)] = f"{type(e).__name__}: {str(e).splitlines()[0][:80]}"
        try:
            dev, tdtype = torch_device(device), getattr(torch, dtype)
            generator = torch.Generator().manual_seed(0)
            ta = torch.randn(size, size, generator=generator).to(dev, tdtype)
            tb = torch.randn(size, size, generator=generator).to(dev, tdtype)

            def torch_run(reps, ta=ta, tb=tb):
                with torch.inference_mode():
                    for _ in range(reps):
                        c = torch.mm(ta, tb)
                    if c.is_cuda:
                        torch.cuda.synchronize()

            runners[("PyTorch", dtype)] = torch_run
        except Exception as e:
            results[("PyTorch", dtype)] = f"{type(e).__name__}: {str(e).splitlines()[0][:80]}"
    reps = {}
    for key in list(runners):
        try:
            runners[key](1)  # tracing, first allocation
            t0 = time.perf_counter()
            runners[key](1)
            reps[key] = max(1, min(1000, int(0.3 / max(time.perf_counter() - t0, 1e-6))))
        except Exception as e:
            results[key] = f"{type(e).__name__}: {str(e).splitlines()[0][:80]}"
            del runners[key]
    best = {}
    for _ in range(max(runs, 1)):
        for key, run in runners.items():
            t0 = time.perf_counter()
            run(reps[key])
            seconds = (time.perf_counter() - t0) / reps[key]
            best[key] = min(best.get(key, seconds), seconds)
    for key, seconds in best.items():
        results[key] = flops / seconds / 1e9
    return results


def measure_ceiling(args):
    """matmul_ceiling for the script's arguments (float32, bfloat16, and float16 under
    mixed_float16), with progress lines; {} with --no-ceiling."""
    if args.matmul_size is None:
        args.matmul_size = 8192 if args.device == "gpu" else 2048
    if args.no_ceiling:
        return {}
    dtypes = ["float32", "bfloat16"] + (["float16"] if args.dtype == "mixed_float16" else [])
    print(f"== Ceiling: {args.matmul_size}^3 matmul, {', '.join(dtypes)} ==", flush=True)
    t0 = time.perf_counter()
    ceiling = matmul_ceiling(args.matmul_size, args.matmul_runs, args.device, dtypes)
    print(f"  measured in {time.perf_counter() - t0:.0f} s", flush=True)
    print()
    return ceiling


def print_ceiling(ceiling, size):
    """The ceiling table: GFLOP/s per dtype, TensorFlow (plain and XLA) and PyTorch side
    by side, and their ratios to PyTorch."""
    if not ceiling:
        return
    dtypes = list(dict.fromkeys(dtype for _, dtype in ceiling))
    frameworks = ("TensorFlow", "TF XLA", "PyTorch")
    print(f"== Ceiling: raw {size}x{size}x{size} matmul, GFLOP/s (best run) ==")
    print(f"{'dtype':<10}" + "".join(f"{f:>12}" for f in frameworks)
          + f"{'TF / PyTorch':>14}{'TF XLA / PyTorch':>18}")
    for dtype in dtypes:
        values = [ceiling.get((f, dtype)) for f in frameworks]
        cells = "".join(f"{v:>12.1f}" if isinstance(v, float) else f"{'failed':>12}"
                        for v in values)
        ratios = "".join(
            f"{v / values[2]:>{w}.2f}" if isinstance(v, float) and isinstance(values[2], float)
            else f"{'-':>{w}}" for v, w in ((values[0], 14), (values[1], 18)))
        print(f"{dtype:<10}{cells}{ratios}")
    for key, value in ceiling.items():
        if not isinstance(value, float):
            print(f"  {key[0]} {key[1]} failed: {value}")
    print("TensorFlow: tf.linalg.matmul in a tf.function (TF XLA: with jit_compile=True); "
          "PyTorch: torch.mm under inference_mode. The model tables' '% ceil' = the row's "
          "GFLOP/s / its framework's matmul GFLOP/s at the row's compute dtype (Keras rows "
          "with XLA on: the TF XLA figure).")
    print()


def ceiling_for(ceiling, framework, dtype, jit=False):
    """The ceiling GFLOP/s of `framework` ("TensorFlow" / "PyTorch"; "TensorFlow" with
    `jit` = the "TF XLA" figure) at the compute dtype (a float32 / bfloat16 / float16
    name or a Keras policy), or None."""
    if framework == "TensorFlow" and jit:
        framework = "TF XLA"
    value = ceiling.get((framework, COMPUTE_DTYPES.get(dtype, dtype)))
    return value if isinstance(value, float) else None


# --- model FLOPs -------------------------------------------------------------------------


def forward_flops(cfg, batch, seq_len, family="bert"):
    """Multiply-add FLOPs (x2) of one forward pass of the backbone, a documented estimate:

      2 * tokens * layers * (4 H^2 + 2 H I)   the matmuls of Q, K, V, output, FFN
                                              (tokens = batch * seq len, padding
                                              included: every model computes it)
      + layers * 4 * B * L^2 * H              attention scores Q K^T and weights x V
      BERT: + 2 * B * H^2                     the pooler
      XLNet: + layers * (4 * B * L^2 * H      scores of the L queries against the 2L
                                              relative positions
                         + 2 * 2L * H^2)      projecting the 2L position encodings

    Embedding lookups, softmax, LayerNorm, GELU and the relative shift are left out.
    A train step is counted as 3 forward passes (backward = 2 x forward)."""
    B, L, H, I, layers = batch, seq_len, cfg["hidden"], cfg["intermediate"], cfg["layers"]
    flops = 2 * B * L * layers * (4 * H * H + 2 * H * I) + layers * 4 * B * L * L * H
    if family == "xlnet":
        flops += layers * (4 * B * L * L * H + 2 * 2 * L * H * H)
    else:
        flops += 2 * B * H * H
    return float(flops)


def gflops_cells(flops, result, ceiling_value, width=9):
    """'GFLOP/s' (model FLOPs / median step time) and '% ceil' cells."""
    import statistics as st

    rate = flops / st.median(result["times"]) / 1e9
    share = f"{100 * rate / ceiling_value:>{width - 1}.0f}%" if ceiling_value else f"{'-':>{width}}"
    return f"{rate:>{width}.1f}{share}"


# --- fine-tuning fit: first step vs steady ---------------------------------------------


class TraceClock:
    """Times the tracing of a Keras model's train step inside its own `fit`: while
    active, `model.train_step`, its optimizer's `apply_gradients` and
    `tf.GradientTape.gradient` are wrapped to record, for the FIRST trace, how long
    each part's Python ran and how many ops it added to the graph being built:
    "forward" (train_step entry to the gradient call: forward pass, loss, loss
    tracker), "gradient" (`tape.gradient`: the backward graph), "optimizer"
    (`apply_gradients`: slot variables and the update ops), "optimizer build" (the
    part of it in `optimizer.build`: creating the slot variables), "train_step" (all
    of it, metrics included). Under `jit_compile` or with `run_eagerly` the figures mean
    the same Python, not a graph's."""

    def __init__(self, model):
        self.model = model
        self.parts, self.ops = {}, {}

    def __enter__(self):
        import tensorflow as tf

        model, optimizer = self.model, self.model.optimizer
        clock, state = self, {}

        def graph_ops():
            try:
                return len(tf.compat.v1.get_default_graph().get_operations())
            except Exception:
                return 0

        def record(part, seconds, ops):
            clock.parts.setdefault(part, seconds)
            clock.ops.setdefault(part, ops)

        train_step, apply_gradients = model.train_step, optimizer.apply_gradients
        build = optimizer.build
        gradient = tf.GradientTape.gradient

        def timed_train_step(data):
            state["entry"], state["entry_ops"] = time.perf_counter(), graph_ops()
            out = train_step(data)
            record("train_step", time.perf_counter() - state["entry"],
                   graph_ops() - state["entry_ops"])
            return out

        def timed_gradient(tape, *args, **kwargs):
            t0, ops0 = time.perf_counter(), graph_ops()
            if "entry" in state:
                record("forward", t0 - state["entry"], ops0 - state["entry_ops"])
            out = gradient(tape, *args, **kwargs)
            record("gradient", time.perf_counter() - t0, graph_ops() - ops0)
            return out

        def timed_apply_gradients(*args, **kwargs):
            t0, ops0 = time.perf_counter(), graph_ops()
            out = apply_gradients(*args, **kwargs)
            record("optimizer", time.perf_counter() - t0, graph_ops() - ops0)
            return out

        def timed_build(*args, **kwargs):
            t0 = time.perf_counter()
            out = build(*args, **kwargs)
            record("optimizer build", time.perf_counter() - t0, 0)
            return out

        self._restore = lambda: (
            model.__dict__.pop("train_step", None),
            optimizer.__dict__.pop("apply_gradients", None),
            optimizer.__dict__.pop("build", None),
            setattr(tf.GradientTape, "gradient", gradient))
        model.train_step = timed_train_step
        optimizer.apply_gradients = timed_apply_gradients
        optimizer.build = timed_build
        tf.GradientTape.gradient = timed_gradient
        return self

    def __exit__(self, *exc):
        self._restore()
        return False


def keras_fit_steps(model, x, y, batch_size):
    """`model.fit(x, y, batch_size=..., epochs=1, verbose=0)` with a callback timing
    every step: from on_train_begin (first step) or the previous step's end to
    on_train_batch_end, after reading the step's loss (which waits for it). Returns
    {"setup": fit call -> on_train_begin s (data adapter, make_train_function),
    "steps": [s per step], "total": s, "anatomy": the TraceClock's parts and ops}."""
    import time as _time

    import keras

    class StepTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.begin = self.last = _time.perf_counter()
            self.times = []

        def on_train_batch_end(self, batch, logs=None):
            if logs and "loss" in logs:
                to_numpy(logs["loss"])
            now = _time.perf_counter()
            self.times.append(now - self.last)
            self.last = now

    timer = StepTimer()
    t0 = _time.perf_counter()
    # No tf.device scope: Keras builds the tf.data input pipeline inside fit, and the
    # model's variables already live on --device (TensorFlow runs the step there).
    with TraceClock(model) as clock:
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, callbacks=[timer])
    return {"setup": timer.begin - t0, "steps": timer.times, "total": _time.perf_counter() - t0,
            "anatomy": {"parts": clock.parts, "ops": clock.ops}}


def torch_fit_steps(model, make_optimizer, tensors, labels, batch_size, autocast=None,
                    scaler=None, clip_norm=1.0, warmup_ratio=0.1):
    """A PyTorch fine-tuning loop as HF's Trainer runs it: `make_optimizer(model)`
    (e.g. AdamW), a linear warmup/decay schedule (`get_linear_schedule_with_warmup`,
    `warmup_ratio` of the steps), a shuffling DataLoader over `tensors` (a dict of
    CPU tensors, moved to the model's device per batch) and `labels`; per step
    forward (under `autocast()`), backward (through `scaler` if given),
    `clip_grad_norm_(clip_norm)`, optimizer and scheduler step, `zero_grad`, and the
    loss read back. Returns {"setup": optimizer + schedule + loader s, "steps": [s
    per step, from the loop start or the previous step's end], "total": s}."""
    import contextlib

    import torch
    from transformers import get_linear_schedule_with_warmup

    autocast = autocast or contextlib.nullcontext
    names = list(tensors)
    t0 = time.perf_counter()
    device = next(model.parameters()).device
    dataset = torch.utils.data.TensorDataset(*(tensors[n] for n in names), labels)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    optimizer = make_optimizer(model)
    total = len(loader)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(round(total * warmup_ratio)),
                                                total)
    model.train()
    setup = time.perf_counter() - t0
    times, last = [], time.perf_counter()
    for *columns, y in loader:
        inputs = {n: c.to(device) for n, c in zip(names, columns)}
        with autocast():
            loss = model(**inputs, labels=y.to(device)).loss
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        loss.item()
        now = time.perf_counter()
        times.append(now - last)
        last = now
    return {"setup": setup, "steps": times, "total": time.perf_counter() - t0}


def torch_adamw(lr, weight_decay, eps, no_decay=("bias", "LayerNorm.weight", "layer_norm.weight")):
    """A `make_optimizer` for torch_fit_steps: `torch.optim.AdamW` with HF Trainer's
    parameter groups (no weight decay on biases and LayerNorm weights)."""
    import torch

    def make(model):
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        groups = [
            {"params": [p for n, p in named if not any(k in n for k in no_decay)],
             "weight_decay": weight_decay},
            {"params": [p for n, p in named if any(k in n for k in no_decay)],
             "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=lr, eps=eps)

    return make


def fit_summary(run, steps):
    """{setup, first, steady (median of the last `steps` step times), ratio, times}."""
    times = run["steps"]
    if not times:
        raise RuntimeError("the fit ran no step")
    tail = times[1:][-steps:] if len(times) > 1 else times
    steady = statistics.median(tail)
    return {"setup": run["setup"], "first": times[0], "steady": steady,
            "ratio": times[0] / steady, "times": times, "total": run["total"],
            "anatomy": run.get("anatomy")}


def print_fit_table(rows, batch, reference="hf"):
    """The fit table: one row per `rows` entry {(label, xla): summary | {"error"}} in order;
    'vs HF' = HF's time / the row's time (>1 = the row is faster), for the first step and
    the steady step."""
    header = (f"{'model':<11}{'XLA':<5}{'setup s':>9}{'1st step s':>12}{'steady s':>10}"
              f"{'1st/steady':>11}{'ex/s':>8}{'1st vs HF':>11}{'steady vs HF':>14}  notes")
    print(header)
    print("-" * len(header))
    hf = next((r for (name, _), r in rows.items() if name == reference and "error" not in r),
              None)
    for (name, jit), r in rows.items():
        prefix = row_prefix(name, jit)
        if "error" in r:
            print(f"{prefix}failed: {r['error']}")
            continue
        if hf is not None and name != reference:
            vs_first = f"{hf['first'] / r['first']:>11.2f}"
            vs_steady = f"{hf['steady'] / r['steady']:>14.2f}"
        else:
            vs_first, vs_steady = f"{'-':>11}", f"{'-':>14}"
        print(f"{prefix}{r['setup']:>9.1f}{r['first']:>12.1f}{r['steady']:>10.2f}"
              f"{r['ratio']:>11.1f}{batch / r['steady']:>8.2f}{vs_first}{vs_steady}"
              f"  {r.get('note', '')}")
        line = anatomy_line(r)
        if line:
            print(f"{'':16}{line}")


def anatomy_line(summary):
    """'1st step = trace: forward ... + gradient ... + optimizer ... (+ metrics) + rest',
    from a fit_summary with the TraceClock's anatomy, or None."""
    anatomy = summary.get("anatomy") or {}
    parts, ops = anatomy.get("parts", {}), anatomy.get("ops", {})
    if "train_step" not in parts:
        return None
    named = [(p, parts[p], ops.get(p, 0)) for p in ("forward", "gradient", "optimizer")
             if p in parts]
    other = parts["train_step"] - sum(t for _, t, _ in named)
    other_ops = ops["train_step"] - sum(n for _, _, n in named)
    cells = [f"{p} {t:.1f} s/{n:,} ops" for p, t, n in named]
    if "optimizer build" in parts and "optimizer" in parts:
        cells[-1] += f" (slot variables {parts['optimizer build']:.1f} s)"
    cells.append(f"metrics {other:.1f} s/{other_ops:,} ops")
    rest = summary["first"] - parts["train_step"]
    return (f"1st step = trace of train_step {parts['train_step']:.1f} s ({', '.join(cells)}; "
            f"{ops['train_step']:,} ops) + {rest:.1f} s rest (wrapper trace, graph "
            f"optimization / XLA, 1st run; minus a steady step: "
            f"{rest - summary['steady']:.1f} s)")
