"""Writing a kerabert model as a keras-hub preset folder.

The model's family builds the keras-hub twin (`keras_hub_model`: backbone,
task, tokenizer and preprocessor); its variables are set from the `keras_hub`
column of the family's weight tables, the column that reads keras-hub presets,
so an export is the exact reverse of an import. keras-hub then writes the
folder itself (`save_to_preset`), so any keras-hub version that reads its own
presets reads it.

keras-hub's models fix settings that kerabert's leave open (BERT's activation
and LayerNorm epsilon, XLNet's attention options). Before writing, both models
run on the same random tokens: a model keras-hub cannot reproduce is refused,
with the measured difference, unless `allow_numerical_change=True`, and then
the difference is in a warning. A model keras-hub should reproduce but does not
(a kerabert bug) is refused too.
"""

import warnings

import keras
import numpy as np

from kerabert.presets import files
from kerabert.presets import registry
from kerabert.presets import weight_map
from kerabert.presets.errors import caller_stacklevel
from kerabert.presets.formats import KERAS_HUB

FORMAT = KERAS_HUB
# The largest output difference of an export that changes nothing: float32
# round-off of two implementations of the same maths.
TOLERANCE = 1e-4
SAMPLE_BATCH, SAMPLE_LENGTH, SAMPLE_MASKS = 2, 16, 3


def _sample_inputs(backbone, seed=0):
    """Packed random inputs: two rows, the second padded, two segments where
    the model has them, three masked positions."""
    rng = np.random.default_rng(seed)
    length = min(SAMPLE_LENGTH, getattr(backbone, "max_sequence_length", SAMPLE_LENGTH))
    token_ids = rng.integers(0, backbone.vocabulary_size, (SAMPLE_BATCH, length), dtype="int32")
    padding_mask = np.ones((SAMPLE_BATCH, length), "int32")
    padding_mask[1, length // 2 + 1:] = 0
    token_ids[1, length // 2 + 1:] = 0
    segment_ids = np.zeros((SAMPLE_BATCH, length), "int32")
    if getattr(backbone, "num_segments", 2) > 1:
        segment_ids[:, length // 2:] = 1
    segment_ids *= padding_mask
    masked_positions = np.tile(np.arange(1, SAMPLE_MASKS + 1, dtype="int32"), (SAMPLE_BATCH, 1))
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask,
            "masked_positions": masked_positions}


def _max_difference(model, hub_model, module, backbone):
    ours, theirs = module.keras_hub_outputs(model, hub_model, _sample_inputs(backbone))
    def numpy(x):
        return np.asarray(keras.ops.convert_to_numpy(x), "float32")

    return max(float(np.max(np.abs(numpy(a) - numpy(b)))) for a, b in zip(ours, theirs))


def _assign(hub_model, tensors, source):
    variables = {v.path: v for v in hub_model.weights}
    unknown = sorted(set(tensors) - set(variables))
    unset = sorted(set(variables) - set(tensors))
    if unknown or unset:  # the keras_hub column does not fit keras-hub's model: a kerabert bug
        raise RuntimeError(
            f"Cannot export {source} to keras-hub: kerabert's weight table names "
            f"{unknown[:5]} that keras-hub's model lacks, and leaves {unset[:5]} unset.")
    for path, value in tensors.items():
        variable = variables[path]
        if tuple(variable.shape) != value.shape:
            raise RuntimeError(f"Cannot export {source} to keras-hub: {path} has shape "
                               f"{tuple(variable.shape)} there and {value.shape} here.")
        variable.assign(value.astype(variable.dtype))


def export_to_keras_hub(model, folder, tokenizer=None, allow_numerical_change=False):
    """Writes `model` (a backbone, a `BertClassifier`, or a `BertPretrainer` as
    a `BertMaskedLM`) as a keras-hub preset folder; returns its absolute path.

    `tokenizer` defaults to a task's preprocessor's; without one the folder
    has no tokenizer (a backbone preset).
    """
    fmt, backbone, task, tokenizer = registry.export_parts(model, tokenizer, KERAS_HUB,
                                                           "keras-hub")
    return fmt.export(backbone, task, tokenizer, folder,
                      allow_numerical_change=allow_numerical_change)


def write(module, backbone, task, tokenizer, folder, allow_numerical_change=False):
    """The export of a family's keras-hub format `module`, which builds the
    twin (`keras_hub_model`), names its tensors (`backbone_weights`,
    `head_weights`) and says which outputs to compare (`keras_hub_outputs`)."""
    model = backbone if task is None else task
    hub_model, hub_tokenizer, differences, left_out = module.keras_hub_model(
        backbone, task, tokenizer)
    source = type(model).__name__
    tensors = weight_map.save(backbone, module.backbone_weights(backbone), FORMAT)
    if task is not None:
        tensors.update(weight_map.save(task, module.head_weights(task), FORMAT))
    _assign(hub_model, tensors, source)

    difference = _max_difference(model, hub_model, module, backbone)
    if differences:
        what = "; ".join(differences)
        if not allow_numerical_change:
            raise ValueError(
                f"keras-hub cannot reproduce this {source}: {what}. Its outputs there would "
                f"differ by up to {difference:.3g} (measured on random tokens). Pass "
                "allow_numerical_change=True to export it anyway.")
        warnings.warn(f"The keras-hub copy of this {source} computes differently: {what}. Its "
                      f"outputs differ by up to {difference:.3g} (measured on random tokens).",
                      UserWarning, stacklevel=caller_stacklevel())
    elif difference > TOLERANCE and backbone.dtype_policy.compute_dtype == "float32":
        raise RuntimeError(
            f"The keras-hub copy of this {source} differs from it by {difference:.3g} although "
            "nothing should differ; this is a kerabert bug, please report it.")

    for part in left_out:
        warnings.warn(part + ".", UserWarning, stacklevel=caller_stacklevel())
    with files.AtomicFolder(folder, carry_over=False) as tmp:
        hub_model.save_to_preset(tmp)
        if task is None and hub_tokenizer is not None:  # a task saves its preprocessor's
            hub_tokenizer.save_to_preset(tmp)
    return files.absolute(folder)


def exporter(module_name):
    """The `export` of the family format module `module_name`: `write` with
    that module's parts."""
    import sys

    def export(backbone, task, tokenizer, folder, allow_numerical_change=False):
        """Writes a keras-hub preset of the backbone or task."""
        return write(sys.modules[module_name], backbone, task, tokenizer, folder,
                     allow_numerical_change=allow_numerical_change)
    return export
