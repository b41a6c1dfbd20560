"""tf.data helpers shared by the input pipelines."""

import os

import tensorflow as tf


class NoMatchingFilesError(FileNotFoundError, ValueError):
    """A file pattern that matches nothing (a `FileNotFoundError`, and a
    `ValueError` as the pretraining readers raised before)."""


def expand_file_patterns(file_patterns):
    """Glob patterns (a str, comma-separated, or a list of them) -> the files
    they match, sorted within each pattern, in pattern order, through
    `tf.io.gfile` (so `gs://` works). A pattern without matches is an error,
    as in the reference's input readers."""
    if isinstance(file_patterns, (str, os.PathLike)):
        file_patterns = [file_patterns]
    files = []
    for entry in file_patterns:
        for pattern in os.fspath(entry).split(","):
            pattern = pattern.strip()
            if not pattern:
                continue
            matches = sorted(tf.io.gfile.glob(pattern))
            if not matches:
                raise NoMatchingFilesError(f"{pattern} does not match any files.")
            files.extend(matches)
    if not files:
        raise ValueError(f"No input files given: {file_patterns!r}.")
    return files


def without_auto_shard(dataset):
    """`dataset` with tf.distribute's auto-sharding off: for pipelines that
    shard by hand from an `InputContext`, which must not be sharded again."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return dataset.with_options(options)
