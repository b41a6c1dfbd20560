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

LABELS = {"kerabert": "kerabert", "keras-hub": "keras-hub", "hf": "HF torch"}


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
    and --quick, then parses `argv`; --quick overrides the arguments with the `quick`
    dict. Returns (args, the --only list); an empty list or an unknown name is a usage
    error."""
    if threads:
        parser.add_argument("--threads", type=int, default=cpu_count(),
                            help="TF intra-op threads and torch.set_num_threads "
                                 "(default: cores)")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in quick.items():
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
    """setup_threads, Keras' random seed 0, then print_environment(detailed). Returns
    the model size from `args` as a dict: layers, hidden, heads, intermediate, vocab."""
    setup_threads(threads, tf_threads, omp_wait_policy)
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
          f"GPUs visible to TF: {len(tf.config.list_physical_devices('GPU'))}")
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
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except Exception:  # not glibc
        pass


# --- timing ----------------------------------------------------------------------------
#
# A runner is `(step, params, note)` or `(step, params, note, probe)`: `step()` runs one
# step, `probe()` (optional) runs once before the first step.


def torch_train_step(model, optimizer, inputs):
    """One eager PyTorch optimizer step, dropout on: `zero_grad`, forward with `inputs`
    (labels included), `backward`, `optimizer.step()`; the step returns the loss."""

    def step():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = model(**inputs).loss
        loss.backward()
        optimizer.step()
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
