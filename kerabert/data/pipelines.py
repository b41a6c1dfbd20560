"""tf.data helpers shared by the input pipelines."""

import tensorflow as tf


def without_auto_shard(dataset):
    """`dataset` with tf.distribute's auto-sharding off: for pipelines that
    shard by hand from an `InputContext`, which must not be sharded again."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return dataset.with_options(options)
