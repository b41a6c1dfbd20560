"""Reading `pytorch_model.bin` (torch.save's zip format) with numpy only, without
executing pickled code.

`torch.save` writes a zip archive (entries are stored, not compressed):

    <archive>/data.pkl     the pickled object: for HF, an OrderedDict name -> tensor
    <archive>/data/<key>   the raw bytes of one storage
    <archive>/byteorder    "little" or "big" (absent in old files: little)
    <archive>/version ...  bookkeeping

In `data.pkl` every tensor is

    torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
                                    requires_grad, backward_hooks[, metadata])

where `storage` is a persistent id `("storage", torch.FloatStorage, key, location,
numel)`; offsets, sizes and strides count elements, not bytes. A tensor may be a
strided view into a storage it shares with others (a transpose, a slice).

`pickle.load` imports and calls whatever globals the file names, so a crafted file
runs arbitrary code (and so does `torch.load(weights_only=False)`). Here the
unpickler's `find_class` hands out local stand-ins for the few globals a state dict
needs (the torch rebuild helpers, the storage classes, `collections.OrderedDict`)
and refuses every other global before anything is called. torch is never imported.

The pre-1.6 non-zip format (a bare pickle stream followed by raw storages) is not
read: re-save such a file as safetensors.
"""

import collections
import io
import pickle
import zipfile

import ml_dtypes
import numpy as np

from kerabert.presets.errors import CorruptCheckpointError

# torch storage class -> numpy dtype of its elements.
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": ml_dtypes.bfloat16, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
_REBUILD_FUNCTIONS = ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_parameter",
                      "_rebuild_parameter_with_state")
# Every global a state dict may name; anything else is refused.
ALLOWED_GLOBALS = (
    {("torch._utils", name) for name in _REBUILD_FUNCTIONS}
    | {("torch", name) for name in STORAGE_DTYPES}
    | {("collections", "OrderedDict")}
)

_PICKLE_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"  # legacy torch.save


class UnsafeCheckpointError(CorruptCheckpointError):
    """A pickle that asks for something a weights file has no reason to contain."""


class _StorageType:
    """Stand-in for `torch.FloatStorage` & co.: only carries the dtype."""

    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)


class _StorageRef:
    """A storage named by the pickle: `numel` elements of `dtype` in data/<key>."""

    __slots__ = ("dtype", "key", "numel")

    def __init__(self, dtype, key, numel):
        self.dtype, self.key, self.numel = dtype, key, numel


class _TensorRef:
    """A tensor named by the pickle: a strided view into a storage (not yet read)."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _is_int_tuple(value):
    return isinstance(value, tuple) and all(isinstance(v, int) and v >= 0 for v in value)


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles a torch state dict into `_TensorRef`s; refuses any other global.

    The stand-ins are bound methods of this instance, so a pickle cannot alter
    shared module state through them (BUILD cannot set attributes on a method).
    """

    def __init__(self, file, path):
        super().__init__(file, encoding="utf-8")
        self.path = path

    def find_class(self, module, name):
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafeCheckpointError(
                f"{self.path} asks to import {module}.{name}, which a PyTorch weights "
                "file has no reason to contain; refusing to load it (nothing was "
                "executed). If you trust where the file comes from, convert it to "
                "safetensors with torch and transformers and load that instead.")
        if module == "collections":
            return collections.OrderedDict
        if module == "torch":
            return _StorageType(STORAGE_DTYPES[name])
        return getattr(self, name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)
                and isinstance(pid[4], int)):
            raise CorruptCheckpointError(f"{self.path}: unexpected storage record {pid!r}.")
        return _StorageRef(pid[1].dtype, pid[2], pid[4])

    def _rebuild_tensor(self, storage, storage_offset, size, stride):
        if not (isinstance(storage, _StorageRef) and isinstance(storage_offset, int)
                and _is_int_tuple(tuple(size)) and _is_int_tuple(tuple(stride))
                and len(size) == len(stride)):
            raise CorruptCheckpointError(f"{self.path}: malformed tensor record.")
        return _TensorRef(storage, storage_offset, tuple(size), tuple(stride))

    def _rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad,
                           backward_hooks, metadata=None):
        return self._rebuild_tensor(storage, storage_offset, size, stride)

    def _rebuild_parameter(self, data, requires_grad, backward_hooks):
        return data

    def _rebuild_parameter_with_state(self, data, requires_grad, backward_hooks, state):
        return data


def _archive_prefix(archive, path):
    pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
    if len(pickles) != 1:
        raise CorruptCheckpointError(
            f"{path} is a zip file but not a PyTorch checkpoint (expected one data.pkl, "
            f"found {len(pickles)}).")
    return pickles[0][: -len("data.pkl")]


def _open_archive(path):
    with open(path, "rb") as f:
        head = f.read(len(_PICKLE_MAGIC))
    if head.startswith(_PICKLE_MAGIC):
        raise CorruptCheckpointError(
            f"{path} uses PyTorch's legacy (pre-1.6, non-zip) serialization, which "
            "kerabert does not read. Re-save it with safetensors, e.g. "
            "`AutoModel.from_pretrained(folder).save_pretrained(folder)` in transformers.")
    if not head.startswith(b"PK"):
        raise CorruptCheckpointError(f"{path} is not a PyTorch checkpoint (not a zip file).")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise CorruptCheckpointError(
            f"{path} is truncated or damaged ({error}). Download it again.") from None


def read_state_dict(path):
    """Returns `{name: _TensorRef}` from a zip-format torch file, executing nothing."""
    with _open_archive(path) as archive:
        prefix = _archive_prefix(archive, path)
        try:
            data = archive.read(prefix + "data.pkl")
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise CorruptCheckpointError(f"{path} is damaged: {error}") from None
    try:
        state = _RestrictedUnpickler(io.BytesIO(data), path).load()
    except CorruptCheckpointError:
        raise
    except Exception as error:  # a malformed pickle raises all sorts of errors
        raise CorruptCheckpointError(f"{path} holds an unreadable pickle: {error!r}") from None
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, _TensorRef) for k, v in state.items()):
        raise CorruptCheckpointError(
            f"{path} does not hold a state dict (a mapping from names to tensors).")
    return state


def _load_tensor(path, prefix, byteorder, ref):
    storage = ref.storage
    with _open_archive(path) as archive:
        try:
            raw = archive.read(f"{prefix}data/{storage.key}")
        except KeyError:
            raise CorruptCheckpointError(
                f"{path} lacks the storage record data/{storage.key}.") from None
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise CorruptCheckpointError(
                f"{path} is truncated or damaged ({error}). Download it again.") from None
    dtype = storage.dtype.newbyteorder(">" if byteorder == "big" else "<")
    if len(raw) != storage.numel * dtype.itemsize:
        raise CorruptCheckpointError(
            f"{path}: storage data/{storage.key} has {len(raw)} bytes, expected "
            f"{storage.numel} x {dtype.itemsize}.")
    flat = np.frombuffer(raw, dtype=dtype)
    if any(n == 0 for n in ref.size):
        return np.zeros(ref.size, storage.dtype)
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride))
    if ref.offset < 0 or last >= storage.numel:
        raise CorruptCheckpointError(
            f"{path}: a tensor of shape {ref.size} reaches past the end of storage "
            f"data/{storage.key}.")
    view = np.lib.stride_tricks.as_strided(
        flat[ref.offset:], shape=ref.size,
        strides=tuple(s * dtype.itemsize for s in ref.stride), writeable=False)
    return np.array(view, dtype=storage.dtype, order="C")  # a native-order, contiguous copy


def open_tensors(path):
    """Returns `{name: zero-argument function returning a numpy array}` (lazy)."""
    state = read_state_dict(path)
    with _open_archive(path) as archive:
        prefix = _archive_prefix(archive, path)
        names = set(archive.namelist())
        byteorder = (archive.read(prefix + "byteorder").decode().strip()
                     if prefix + "byteorder" in names else "little")

    def loader(ref):
        return lambda: _load_tensor(path, prefix, byteorder, ref)

    return {name: loader(ref) for name, ref in state.items()}
