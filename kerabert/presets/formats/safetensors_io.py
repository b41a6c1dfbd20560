"""Reading and writing the safetensors format with numpy only.

The format is an 8-byte little-endian header length, a JSON header mapping tensor
names to dtype / shape / byte range, then the raw bytes. Reading it directly keeps
torch optional and lets us say exactly what is wrong with a damaged file.
"""

import json
import os
import struct

import ml_dtypes
import numpy as np

from kerabert.presets.errors import CorruptCheckpointError

DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "BF16": ml_dtypes.bfloat16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}
_NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


def read_header(path):
    """Returns `(header, data_start)`; validates every byte range against the file."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise CorruptCheckpointError(f"{path} is not a safetensors file (only {size} bytes).")
        (header_len,) = struct.unpack("<Q", raw)
        if header_len > size - 8:
            raise CorruptCheckpointError(
                f"{path} is truncated or not a safetensors file: its header claims "
                f"{header_len} bytes but the file has {size}. Download it again.")
        try:
            header = json.loads(f.read(header_len))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CorruptCheckpointError(f"{path} has an unreadable header: {error}") from None
    data_start = 8 + header_len
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        if data_start + end > size:
            raise CorruptCheckpointError(
                f"{path} is truncated: tensor {name!r} needs bytes up to "
                f"{data_start + end} but the file has {size}. Download it again.")
        if info["dtype"] not in DTYPES:
            raise CorruptCheckpointError(f"{path}: tensor {name!r} has unsupported dtype {info['dtype']}.")
        expected = int(np.prod(info["shape"], dtype=np.int64)) * np.dtype(DTYPES[info["dtype"]]).itemsize
        if end - begin != expected:
            raise CorruptCheckpointError(
                f"{path}: tensor {name!r} has {end - begin} bytes for shape {info['shape']}.")
    return header, data_start


def open_tensors(path):
    """Returns `{name: zero-argument function returning a numpy array}` (lazy)."""
    header, data_start = read_header(path)

    def loader(info):
        def load():
            begin, end = info["data_offsets"]
            dtype = DTYPES[info["dtype"]]
            array = np.memmap(path, dtype=np.uint8, mode="r", offset=data_start + begin,
                              shape=(end - begin,)) if end > begin else np.zeros(0, np.uint8)
            return np.array(array).view(dtype).reshape(info["shape"])
        return load

    return {name: loader(info) for name, info in header.items() if name != "__metadata__"}


def save_file(tensors, path, metadata=None):
    """Writes `{name: numpy array}` as safetensors (keys sorted, 8-byte aligned header)."""
    header, offset, arrays = {}, 0, []
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        nbytes = array.nbytes
        header[name] = {"dtype": _NAMES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
        arrays.append(array)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for array in arrays:
            f.write(array.tobytes())
