"""Weight maps: which checkpoint tensor holds each model variable, per format.

A model family lists every variable of its backbone and heads once, as
`Weight` rows (`kerabert/checkpoints/<family>/weights.py`). Each row pairs a
Keras variable path with, for every checkpoint format the family reads or
writes, the tensor's name there and how its layout differs. Loading a
checkpoint (`load`) and writing one (`save`) both walk the same rows, so an
import and its export cannot drift apart.

Formats are named by strings ("huggingface", "tf1", ...); a row that has no
entry for a format has no tensor in it. The helpers `dense`, `layer_norm` and
`variable` build rows with the naming conventions of torch state dicts
(".weight" / ".bias", kernels stored (out, in)) and of TF checkpoints
("/kernel" / "/bias" / "/gamma" / "/beta").
"""

import dataclasses

import numpy as np

from kerabert.presets.errors import CheckpointMismatchError


def transpose(value):
    """torch stores Dense kernels as (out, in); Keras as (in, out)."""
    return np.ascontiguousarray(np.transpose(value))


@dataclasses.dataclass(frozen=True)
class Tensor:
    """Where one variable lives in one checkpoint format.

    Attributes:
      name: the tensor's name, or a tuple of names whose tensors are stacked on
        a new first axis (one tensor per layer for one (layers, ...) variable).
      load: checkpoint array -> variable value (after stacking); None: as is.
      save: variable value -> checkpoint array (before splitting); None: as is.
      optional: a checkpoint without the tensor leaves the variable as built.
    """

    name: object
    load: object = None
    save: object = None
    optional: bool = False

    def names(self):
        return self.name if isinstance(self.name, tuple) else (self.name,)


@dataclasses.dataclass(frozen=True)
class Weight:
    """One model variable (`path`, its `variable.path`) and its tensor in each
    format: `{format name: Tensor}`."""

    path: str
    tensors: dict

    def tensor(self, fmt):
        return self.tensors.get(fmt)


def _as_tensor(spec):
    """A `Tensor` from a name, a (name, load[, save]) tuple or a `Tensor`."""
    if spec is None or isinstance(spec, Tensor):
        return spec
    if isinstance(spec, str):
        return Tensor(spec)
    name, *functions = spec
    return Tensor(name, *functions)


def variable(path, **formats):
    """A row for one variable: `formats` maps a format to a name, a `Tensor`,
    or a `(name, load, save)` tuple."""
    return Weight(path, {f: _as_tensor(s) for f, s in formats.items() if s is not None})


# How each format names a layer's parameters: format -> {parameter: (suffix,
# load, save)}. Torch state dicts (Hugging Face) store Dense kernels (out, in).
TORCH = {"kernel": (".weight", transpose, transpose), "bias": (".bias", None, None),
         "gamma": (".weight", None, None), "beta": (".bias", None, None)}
TF = {"kernel": ("/kernel", None, None), "bias": ("/bias", None, None),
      "gamma": ("/gamma", None, None), "beta": ("/beta", None, None)}


def _layer(path, parameters, conventions, formats):
    rows = []
    for parameter in parameters:
        tensors = {}
        for fmt, scope in formats.items():
            if scope is None:
                continue
            if isinstance(scope, dict):  # per-parameter overrides
                spec = scope.get(parameter)
                if spec is not None:
                    tensors[fmt] = _as_tensor(spec)
                continue
            suffix, load, save = conventions[fmt][parameter]
            tensors[fmt] = Tensor(scope + suffix, load, save)
        rows.append(Weight(f"{path}/{parameter}", tensors))
    return rows


def dense(path, conventions, bias=True, **formats):
    """Rows for a Dense layer's kernel and bias. `formats` maps a format to the
    layer's scope name (the parameter suffixes come from `conventions`, e.g.
    `{"huggingface": TORCH, "tf1": TF}`), or to `{parameter: tensor spec}` for a
    format whose names follow no convention."""
    return _layer(path, ("kernel", "bias") if bias else ("kernel",), conventions, formats)


def layer_norm(path, conventions, **formats):
    """Rows for a LayerNormalization layer's gamma and beta (see `dense`)."""
    return _layer(path, ("gamma", "beta"), conventions, formats)


def _variables(model):
    return {v.path: v for v in model.weights}


def _check_table(weights, variables, model):
    missing = sorted(w.path for w in weights if w.path not in variables)
    if missing:  # a table that does not fit its own model: a kerabert bug
        raise RuntimeError(f"The weight map of {type(model).__name__} names variables the model "
                           f"does not have: {missing[:5]}.")


def names(weights, fmt, prefix=""):
    """Every tensor name `fmt` gives the rows, with `prefix` prepended."""
    return {prefix + name for w in weights if w.tensor(fmt) for name in w.tensor(fmt).names()}


def load(model, weights, fmt, reader, prefix=""):
    """Assigns each variable of `weights` from `reader` (a `TensorReader`) in
    format `fmt`; `prefix` is prepended to every name (e.g. "bert." when a
    backbone sits inside a task checkpoint). Returns the paths of the variables
    left as built because their optional tensors were absent."""
    variables = _variables(model)
    _check_table(weights, variables, model)
    absent = []
    for weight in weights:
        tensor = weight.tensor(fmt)
        if tensor is None:
            continue
        names_ = [prefix + name for name in tensor.names()]
        if tensor.optional and not all(name in reader for name in names_):
            absent.append(weight.path)
            continue
        values = [reader.get(name) for name in names_]
        value = np.stack(values) if isinstance(tensor.name, tuple) else values[0]
        if tensor.load is not None:
            value = tensor.load(value)
        label = names_[0] if len(names_) == 1 else f"{names_[0]} ... {names_[-1]}"
        reader.assign_value(variables[weight.path], label, value)
    return absent


def save(model, weights, fmt, prefix=""):
    """`{tensor name: numpy array}` of the variables of `weights` in format
    `fmt` (the reverse of `load`)."""
    variables = _variables(model)
    _check_table(weights, variables, model)
    tensors = {}
    for weight in weights:
        tensor = weight.tensor(fmt)
        if tensor is None:
            continue
        value = np.asarray(variables[weight.path].numpy())
        if tensor.save is not None:
            value = tensor.save(value)
        if isinstance(tensor.name, tuple):
            if value.shape[0] != len(tensor.name):
                raise CheckpointMismatchError(
                    f"{weight.path} has {value.shape[0]} entries on its first axis but "
                    f"{len(tensor.name)} tensors to fill.")
            # Each its own array: safetensors refuses tensors that share memory.
            tensors.update({prefix + n: np.array(v) for n, v in zip(tensor.name, value)})
        else:
            tensors[prefix + tensor.name] = np.array(value)
    return tensors
