"""`pytorch_model.bin` is read with numpy only, and a pickle that would run code is refused."""

import collections
import io
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

import kerabert
from kerabert.presets.formats import pytorch_bin


def _as_numpy(tensor):
    if tensor.dtype == torch.bfloat16:
        return tensor.float().numpy()
    return tensor.numpy()


def test_reads_strided_views_offsets_shared_storages_and_dtypes(tmp_path):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    state = collections.OrderedDict([
        ("plain", base),
        ("transposed", base.t()),                 # strides (1, 6)
        ("sliced", base[1:3, 2:5]),               # storage offset 8, a view
        ("every_other", base[:, ::2]),            # stride 2 along the last axis
        ("scalar", torch.tensor(3.5)),
        ("empty", torch.zeros(0, 3)),
        ("half", torch.linspace(-2, 2, 5).half()),
        ("bf16", torch.linspace(-2, 2, 5).bfloat16()),
        ("ids", torch.tensor([[1, -2], [3, 40]], dtype=torch.int64)),
        ("flags", torch.tensor([True, False])),
        ("param", torch.nn.Parameter(torch.ones(2, 2))),  # pickled via _rebuild_parameter
    ])
    path = str(tmp_path / "weights.bin")
    torch.save(state, path)
    expected = torch.load(path, weights_only=True)
    loaded = {name: load() for name, load in pytorch_bin.open_tensors(path).items()}
    assert list(loaded) == list(state)
    for name, tensor in expected.items():
        ours = loaded[name]
        assert ours.shape == tuple(tensor.shape), name
        np.testing.assert_array_equal(np.asarray(ours, np.float64) if name == "bf16" else ours,
                                      _as_numpy(tensor.detach()), err_msg=name)
        assert ours.flags["C_CONTIGUOUS"]
    assert loaded["bf16"].dtype.name == "bfloat16" and loaded["ids"].dtype == np.int64


class _RunsCode:
    """What a malicious checkpoint pickles: unpickling calls os.system(command)."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def _torch_zip_with_pickle(path, data_pkl, template):
    """A torch zip archive whose data.pkl is replaced by `data_pkl`."""
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            payload = data_pkl if info.filename.endswith("data.pkl") else source.read(info)
            target.writestr(info.filename, payload)


def test_pickle_that_would_execute_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    template = str(tmp_path / "template.bin")
    torch.save(collections.OrderedDict(w=torch.ones(2)), template)
    # A dict whose second entry runs a shell command when unpickled.
    payload = pickle.dumps(collections.OrderedDict(
        [("w", 1.0), ("evil", _RunsCode(f"touch {marker}"))]), protocol=2)
    path = str(tmp_path / "pytorch_model.bin")
    _torch_zip_with_pickle(path, payload, template)
    with pytest.raises(pytorch_bin.UnsafeCheckpointError) as error:
        pytorch_bin.open_tensors(path)
    message = str(error.value)
    assert f"{os.system.__module__}.system" in message and "nothing was executed" in message
    assert not marker.exists()
    assert isinstance(error.value, kerabert.CorruptCheckpointError)


def test_other_globals_are_refused_too(tmp_path):
    template = str(tmp_path / "template.bin")
    torch.save({"w": torch.ones(2)}, template)
    path = str(tmp_path / "pytorch_model.bin")
    # GLOBAL builtins.eval, then REDUCE: a classic payload with no torch in it.
    payload = b"\x80\x02cbuiltins\neval\nX\x08\x00\x00\x001 + 1 ==q\x85R."
    _torch_zip_with_pickle(path, payload, template)
    with pytest.raises(pytorch_bin.UnsafeCheckpointError, match="builtins.eval"):
        pytorch_bin.open_tensors(path)


def test_legacy_non_zip_format_asks_for_safetensors(tmp_path):
    path = str(tmp_path / "pytorch_model.bin")
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(kerabert.CorruptCheckpointError, match="legacy.*safetensors"):
        pytorch_bin.open_tensors(path)


def test_truncated_and_foreign_files(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    torch.save({"w": torch.ones(1000)}, str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(kerabert.CorruptCheckpointError, match="truncated"):
        pytorch_bin.open_tensors(str(path))
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(kerabert.CorruptCheckpointError, match="not a PyTorch checkpoint"):
        pytorch_bin.open_tensors(str(path))
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hi")
    path.write_bytes(other.getvalue())
    with pytest.raises(kerabert.CorruptCheckpointError, match="not a PyTorch checkpoint"):
        pytorch_bin.open_tensors(str(path))
