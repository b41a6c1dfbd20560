"""kerabert.presets.files.atomic_write / atomic_writes / atomic_path: a file
appears whole or not at all, locally and through tf.io.gfile."""

import os
import uuid

import pytest
import tensorflow as tf

from kerabert.presets import files


def _ram_folder():
    return f"ram://kerabert_test_files_{uuid.uuid4().hex}"


def test_writes_text_and_bytes_and_creates_the_folder(tmp_path):
    text = tmp_path / "new" / "folder" / "a.txt"
    with files.atomic_write(str(text)) as f:
        f.write("é\nline two\n")
    assert text.read_bytes() == "é\nline two\n".encode("utf-8")
    with files.atomic_write(tmp_path / "b.bin", "wb") as f:
        f.write(b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(os.listdir(tmp_path)) == ["b.bin", "new"]
    assert os.listdir(text.parent) == ["a.txt"]


def test_an_error_in_the_block_leaves_no_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    with pytest.raises(RuntimeError, match="crashed"):
        with files.atomic_write(str(path)) as f:
            f.write("half")
            raise RuntimeError("crashed")
    assert os.listdir(tmp_path) == []


def test_an_existing_file_is_kept_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with files.atomic_write(str(path)) as f:
            f.write("new and longer")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == ["a.txt"] and path.read_text() == "old"

    def failing_replace(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        with files.atomic_write(str(path)) as f:
            f.write("new")
    assert os.listdir(tmp_path) == ["a.txt"] and path.read_text() == "old"


def test_the_file_and_the_rename_are_fsynced_before_and_after_the_rename(tmp_path,
                                                                          monkeypatch):
    events = []
    fsync, replace = os.fsync, os.replace

    def recording_fsync(fd):
        events.append(("fsync", os.path.isdir(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def recording_replace(source, target):
        events.append(("replace", os.path.basename(target)))
        replace(source, target)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    with files.atomic_write(tmp_path / "a.txt") as f:
        f.write("x")
    if os.path.isdir("/proc/self/fd"):
        assert events == [("fsync", False), ("replace", "a.txt"), ("fsync", True)]
    else:
        assert [e[0] for e in events] == ["fsync", "replace", "fsync"]


def test_ram_paths_go_through_gfile():
    folder = _ram_folder()
    path = f"{folder}/sub/a.json"
    with files.atomic_write(path) as f:
        f.write('{"a": 1}')
    with files.atomic_write(path) as f:
        f.write("{}")
    with pytest.raises(RuntimeError):
        with files.atomic_write(path) as f:
            f.write("partial")
            raise RuntimeError("crashed")
    with tf.io.gfile.GFile(path) as f:
        assert f.read() == "{}"
    assert tf.io.gfile.listdir(f"{folder}/sub") == ["a.json"]


def test_tfrecord_writer_opener(tmp_path):
    path = str(tmp_path / "data.tfrecord")
    with files.atomic_write(path, opener=tf.io.TFRecordWriter) as writer:
        writer.write(b"one")
        writer.write(b"two")
    assert [r.numpy() for r in tf.data.TFRecordDataset(path)] == [b"one", b"two"]
    with pytest.raises(ValueError, match="bad record"):
        with files.atomic_write(path, opener=tf.io.TFRecordWriter) as writer:
            writer.write(b"three")
            raise ValueError("bad record")
    assert [r.numpy() for r in tf.data.TFRecordDataset(path)] == [b"one", b"two"]
    assert os.listdir(tmp_path) == ["data.tfrecord"]


def test_atomic_writes_replace_all_files_or_none(tmp_path):
    paths = [str(tmp_path / f"{i}.txt") for i in range(3)]
    with files.atomic_writes(paths) as writers:
        for i, writer in enumerate(writers):
            writer.write(f"first {i}")
    with pytest.raises(RuntimeError):
        with files.atomic_writes(paths) as writers:
            writers[0].write("second")
            raise RuntimeError("crashed")
    assert [open(p).read() for p in paths] == ["first 0", "first 1", "first 2"]
    assert sorted(os.listdir(tmp_path)) == ["0.txt", "1.txt", "2.txt"]


def test_a_writer_that_fails_to_close_replaces_none_of_the_files(tmp_path):
    class FailsToClose:
        def __init__(self, path):
            self.file = open(path, "w")
            self.write = self.file.write

        def close(self):
            self.file.close()
            raise OSError("flush failed")

    paths = [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    for path in paths:
        with open(path, "w") as f:
            f.write("old")
    opened = []

    def opener(path):
        opened.append(FailsToClose(path) if not opened else open(path, "w"))
        return opened[-1]

    with pytest.raises(OSError, match="flush failed"):
        with files.atomic_writes(paths, opener=opener) as writers:
            for writer in writers:
                writer.write("new")
    assert [open(p).read() for p in paths] == ["old", "old"]
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt"]
    assert opened[1].closed


def test_bad_mode_names_the_modes():
    with pytest.raises(ValueError, match=r"mode must be 'w' \(text\) or 'wb' \(bytes\), "
                                         r"not 'a'"):
        with files.atomic_write("unused.txt", "a"):
            pass
    assert not os.path.exists("unused.txt")
