"""File helpers shared by every preset format and data writer: JSON, files and
folders written all at once, and paths on other filesystems.

Paths with a scheme (`gs://`, `s3://`, `hdfs://`, TF's in-memory `ram://`) go
through `tf.io.gfile`. A preset folder there is read by copying it to a local
temporary folder first (Keras' weight files are HDF5, which h5py reads only
from local files), and written locally, then uploaded (see `AtomicFolder`).
"""

import atexit
import contextlib
import json
import os
import shutil
import tempfile
import uuid

# The schemes `resolve.resolve_preset` downloads itself (its `SCHEMES`; a test
# checks that the two agree); not filesystems.
HUB_SCHEMES = ("hf://", "kaggle://")


def is_remote(path):
    """Whether `path` names a file on a `tf.io.gfile` filesystem other than the
    local one (`gs://bucket/x`, `ram://x`)."""
    text = os.fspath(path)
    return "://" in text and not text.startswith(("file://",) + HUB_SCHEMES)


def absolute(path):
    """`os.path.abspath` for local paths; remote paths as they are."""
    text = os.fspath(path)
    return text if is_remote(text) else os.path.abspath(text)


def _gfile():
    import tensorflow as tf

    return tf.io.gfile


def open_file(path, mode="r"):
    """`open(path, mode)` (UTF-8 text in text modes) for local paths,
    `tf.io.gfile.GFile` for remote ones."""
    if is_remote(path):
        return _gfile().GFile(os.fspath(path), mode)
    return open(path, mode, **({} if "b" in mode else {"encoding": "utf-8"}))


def exists(path):
    return _gfile().exists(os.fspath(path)) if is_remote(path) else os.path.exists(path)


def isdir(path):
    return _gfile().isdir(os.fspath(path)) if is_remote(path) else os.path.isdir(path)


def replace(source, target):
    """Renames `source` over `target`: atomic on a POSIX filesystem. On an
    object store (gs://, s3://) a rename is a copy then a delete, so a reader
    sees the old object or the whole new one, never part of one."""
    if is_remote(target):
        _gfile().rename(os.fspath(source), os.fspath(target), overwrite=True)
    else:
        os.replace(source, target)


def _through_gfile(path):
    # file:// paths too: only tf.io.gfile understands the scheme.
    return "://" in path


def fsync_file(path):
    """Flushes a local file's contents to disk (the file may be closed)."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_directory(path):
    """Makes a directory's entries (a rename into it) durable (POSIX)."""
    if os.name != "posix":
        return  # Windows cannot open a directory; NTFS journals renames
    fd = os.open(path or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path next to `path` to write one file at; when the
    block ends normally the file is renamed to `path`, so a reader finds the
    old file or the whole new one, never part of one.

    For writers that open the file themselves (`tf.io.TFRecordWriter`); they
    must be closed before the block ends. The temporary name is
    `path + ".tmp-<uuid>"` (the same folder, so the rename is not a copy
    between filesystems). Local files and the rename are fsynced, so a power
    loss cannot leave `path` naming a file that never reached the disk. When
    the block raises, the temporary file is removed and an existing `path` is
    kept as it was. Missing parent folders are created. Paths with a scheme
    (`gs://`, `ram://`) go through `tf.io.gfile`, where an object store's
    rename is a copy then a delete (see `replace`).
    """
    path = os.fspath(path)
    gfile = _through_gfile(path)
    parent = os.path.dirname(path)
    if gfile:
        if parent and not parent.endswith(":") and not _gfile().exists(parent):
            _gfile().makedirs(parent)
    elif parent:
        os.makedirs(parent, exist_ok=True)
    temporary = f"{path}.tmp-{uuid.uuid4().hex}"
    try:
        yield temporary
        if gfile:
            _gfile().rename(temporary, path, overwrite=True)
        else:
            fsync_file(temporary)
            os.replace(temporary, path)
            fsync_directory(parent)
    except BaseException:
        _remove_quietly(temporary, gfile)
        raise


def _remove_quietly(path, gfile):
    # Cleanup after a failure: its own error must not hide the first one.
    try:
        if gfile:
            if _gfile().exists(path):
                _gfile().remove(path)
        elif os.path.lexists(path):
            os.remove(path)
    except Exception:  # noqa: BLE001
        pass


@contextlib.contextmanager
def atomic_write(path, mode="w", opener=None):
    """Writes one file whole or not at all:
    `with atomic_write(path) as f: f.write(text)`.

    Yields a file open on a temporary file next to `path` (see `atomic_path`,
    which says what a reader, a crash and a failing block see); the file is
    closed and renamed to `path` when the block ends normally.

    Args:
      path: the target, local or `gs://`, `ram://`, ...
      mode: "w" (UTF-8 text, written with "\\n" line ends on every OS) or "wb".
      opener: `temporary_path -> writer` to yield instead of a file, for
        writers with `write` and `close` that open the file themselves, e.g.
        `tf.io.TFRecordWriter`; `mode` is then not used.
    """
    with atomic_writes([path], mode, opener) as (writer,):
        yield writer


@contextlib.contextmanager
def atomic_writes(paths, mode="w", opener=None):
    """`atomic_write` for several files that belong together: yields a list
    of writers, one per path. Every writer is closed before the first rename,
    so when writing or closing any of them fails none of `paths` is replaced."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes a whole new file: mode must be 'w' (text) "
                         f"or 'wb' (bytes), not {mode!r}.")
    with contextlib.ExitStack() as renames:
        temporaries = [renames.enter_context(atomic_path(path)) for path in paths]
        writers = []
        try:
            for temporary in temporaries:
                writers.append(_open_writer(temporary, mode, opener))
            yield writers
        except BaseException:
            _close_all(writers, report=False)  # the block's error is the one to report
            raise
        _close_all(writers, report=True)


def _close_all(writers, report):
    """Closes every writer, even after one fails to; raises the first failure
    when `report`."""
    failure = None
    for writer in writers:
        try:
            writer.close()
        except Exception as error:  # noqa: BLE001
            failure = failure or error
    if failure is not None and report:
        raise failure


def _open_writer(path, mode, opener):
    if opener is not None:
        return opener(path)
    if _through_gfile(path):
        return _gfile().GFile(path, mode)
    if mode == "w":
        return open(path, "w", encoding="utf-8", newline="")
    return open(path, "wb")


def _remote_files(folder):
    """Paths relative to the remote `folder` of every file below it."""
    gfile = _gfile()
    found = []
    for root, _, names in gfile.walk(folder):
        relative = root[len(folder):].strip("/")
        found += [f"{relative}/{n}" if relative else n for n in names]
    return sorted(found)


def _local_files(folder):
    found = []
    for root, _, names in os.walk(folder):
        relative = os.path.relpath(root, folder)
        found += [n if relative == "." else os.path.join(relative, n) for n in names]
    return sorted(found)


def download_folder(remote, local=None):
    """Copies the remote folder to `local` (default: a new temporary folder,
    removed when the process exits); returns the local folder."""
    gfile = _gfile()
    if not gfile.isdir(remote):
        raise FileNotFoundError(f"{remote} is not a folder (or does not exist).")
    if local is None:
        local = tempfile.mkdtemp(prefix="kerabert-remote-")
        atexit.register(shutil.rmtree, local, True)
    for name in _remote_files(remote):
        target = os.path.join(local, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        gfile.copy(f"{remote.rstrip('/')}/{name}", target, overwrite=True)
    return local


def upload_folder(local, remote, commit_file="config.json"):
    """Makes the remote folder hold exactly the files of `local`.

    An object store cannot rename a folder, so this cannot swap folders as
    `AtomicFolder` does locally. Instead `commit_file` (the file by which
    kerabert recognises a folder) is deleted first, every other file is
    uploaded (each object appears whole), files the new folder does not have
    are deleted, and `commit_file` is uploaded last. A reader during the upload
    finds no `commit_file` and is told the folder is not a checkpoint, rather
    than reading a mix of old and new files; a crash leaves it so until the
    next save.
    """
    gfile = _gfile()
    remote = remote.rstrip("/")
    gfile.makedirs(remote)
    marker = f"{remote}/{commit_file}"
    if gfile.exists(marker):
        gfile.remove(marker)
    new = _local_files(local)
    for name in new:
        if name != commit_file:
            target = f"{remote}/{name}"
            parent = target.rsplit("/", 1)[0]
            if not gfile.isdir(parent):
                gfile.makedirs(parent)
            _copy_over(os.path.join(local, name), target)
    for name in _remote_files(remote):
        if name not in new:
            gfile.remove(f"{remote}/{name}")
    if commit_file in new:
        _copy_over(os.path.join(local, commit_file), marker)


def _copy_over(source, target):
    # Removed first: TF's ram:// filesystem appends to an existing file
    # even with overwrite=True.
    gfile = _gfile()
    if gfile.exists(target):
        gfile.remove(target)
    gfile.copy(source, target)


def read_json(path):
    """Parses a JSON file; a damaged one raises a `ValueError` that names the
    file and where the error is (line, column)."""
    try:
        with open_file(path) as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} is not valid JSON: {error.msg} at line {error.lineno}, column "
            f"{error.colno}. Fix the file, or save or download it again.") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not a UTF-8 text file ({error.reason}): it is damaged or "
                         "not a JSON file. Save or download it again.") from None


def write_json(path, data, sort_keys=True):
    """Writes `data` as indented UTF-8 JSON with a final newline."""
    with open_file(path, "w") as f:
        f.write(json.dumps(data, indent=2, sort_keys=sort_keys, ensure_ascii=False) + "\n")


class AtomicFolder:
    """Writes a folder in a temporary sibling and swaps it in at the end.

    `with AtomicFolder(path) as tmp:` yields the temporary folder to write into.
    When the block ends normally the temporary folder replaces `path` with
    renames (on a POSIX filesystem a reader sees the old folder or the new one,
    never a mix); when it raises, `path` is left as it was and nothing is left
    behind. A remote `path` (`gs://...`) is written in a local temporary
    folder and uploaded by `upload_folder`, whose docstring says what an
    object store allows.

    Args:
      folder: the target.
      carry_over: copy the target's current files into the temporary folder
        first (adding to an existing folder), except those `drop(name)` is
        true for.
      drop: `name -> bool`, files of the old folder not to carry over.
    """

    def __init__(self, folder, carry_over=True, drop=None):
        self.folder = absolute(folder)
        self.remote = is_remote(self.folder)
        self.carry_over = carry_over
        self.drop = drop

    def _drop_carried(self):
        for name in os.listdir(self.tmp):
            if self.drop is not None and self.drop(name):
                path = os.path.join(self.tmp, name)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)

    def __enter__(self):
        if self.remote:
            if _gfile().exists(self.folder) and not _gfile().isdir(self.folder):
                raise FileExistsError(f"{self.folder} exists and is not a folder.")
            self.tmp = tempfile.mkdtemp(prefix="kerabert-upload-")
            if self.carry_over and _gfile().isdir(self.folder):
                download_folder(self.folder, self.tmp)
                self._drop_carried()
            return self.tmp
        parent = os.path.dirname(self.folder)
        os.makedirs(parent, exist_ok=True)
        if os.path.exists(self.folder) and not os.path.isdir(self.folder):
            raise FileExistsError(f"{self.folder} exists and is not a folder.")
        self.tmp = tempfile.mkdtemp(prefix="." + os.path.basename(self.folder) + ".", dir=parent)
        if self.carry_over and os.path.isdir(self.folder):
            shutil.copytree(self.folder, self.tmp, dirs_exist_ok=True)
            self._drop_carried()
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        if self.remote:
            try:
                upload_folder(self.tmp, self.folder)
            finally:
                shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        old = None
        if os.path.isdir(self.folder):
            old = self.tmp + ".old"
            os.rename(self.folder, old)
        os.rename(self.tmp, self.folder)
        if old:
            shutil.rmtree(old, ignore_errors=True)
        return False
