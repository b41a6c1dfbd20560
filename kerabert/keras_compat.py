"""The private Keras APIs kerabert relies on, in one place.

Keras 3 has no public hook for a few things kerabert needs. Each use is listed
in `PRIVATE_MEMBERS` with the reason, and the workarounds that need more than
a call live here as functions. `tests/test_keras_compat.py` checks that the
installed Keras is in `SUPPORTED_KERAS` and still has every member, so a Keras
upgrade shows at once what to revisit.
"""

import tensorflow as tf

# The Keras releases kerabert is tested with: at least the first, below the second.
SUPPORTED_KERAS = ("3.10", "3.16")

# (class, private member, why kerabert uses it).
PRIVATE_MEMBERS = (
    ("keras.Model", "_maybe_symbolic_build",
     "overridden by tasks: MultiWorkerMirroredStrategy cannot average a dict batch "
     "(keras-team/keras#20329); see `symbolic_build_from_local_batch`"),
    ("keras.Model", "_symbolic_build",
     "called by that override, and by BackupAndRestore to create the compiled metrics' "
     "variables before restoring a mid-epoch backup's metric values"),
    ("keras.Model", "_initial_epoch",
     "kerabert's BackupAndRestore sets the epoch fit starts at after a restore (as Keras' own "
     "callback does) and clears it when training ends"),
    ("keras.Model", "train_function",
     "BackupAndRestore swaps it for a batch-skipping wrapper during the resumed epoch; relies "
     "on fit looking it up at every step"),
    ("keras.Model", "_distribute_strategy", "tells the override which strategy runs"),
    ("keras.Model", "_loss_tracker",
     "tasks with their own train_step (pretrainers, XLNet QA) report `loss` through it, so "
     "`fit` logs and resets it as for compiled losses"),
    ("keras.optimizers.Optimizer", "_clip_gradients",
     "ClipAfterAllReduce clips the gradient summed over replicas, not each replica's part"),
    ("keras.optimizers.Optimizer", "_all_reduce_sum_gradients", "where that sum happens"),
    ("keras.optimizers.Optimizer", "_use_weight_decay",
     "AdamWeightDecay and Lamb exclude variables by path, as the reference by name"),
    ("keras.optimizers.Optimizer", "_var_key",
     "AdamWeightDecay keys its layer-wise rate factors by variable (update_step gets the "
     "backend variable, which has no path)"),
    ("keras.optimizers.Optimizer", "_apply_weight_decay",
     "AdamWeightDecay computes the decay factor once per step instead of once per variable"),
    ("keras.optimizers.Optimizer", "_distributed_tf_update_step",
     "AdamWeightDecay updates each variable with one fused ResourceApplyAdam op (TF backend)"),
    ("keras.optimizers.Optimizer", "_get_variable_index", "finds a variable's Adam moments"),
    ("keras.optimizers.AdamW", "_momentums", "the first moments that op updates"),
    ("keras.optimizers.AdamW", "_velocities", "the second moments"),
    ("keras.optimizers.Optimizer", "_distribution_strategy",
     "the strategy the fused weight decay runs its per-variable updates under"),
    ("keras.optimizers.Optimizer", "_learning_rate",
     "the schedule object behind `learning_rate`, which `Task.fit` plans"),
    ("keras.layers.Layer", "_convert_input_args",
     "tokenizers and preprocessors take strings and Python objects, not float tensors"),
    ("keras.layers.Layer", "_allow_non_tensor_positional_args", "the same"),
)


def symbolic_build_from_local_batch(model, iterator):
    """Builds `model`'s metrics and optimizer from one replica's first batch.

    Keras builds them from the first batch averaged over replicas with
    `strategy.reduce("MEAN", batch)`, which MultiWorkerMirroredStrategy cannot
    do for a nested (dict) batch, so every task would fail there. The build only
    needs the batch's structure and shapes, which one replica's values have.
    """
    strategy = model._distribute_strategy

    def local(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    for _, _, it in iterator:
        data_batch = tf.nest.map_structure(local, next(it))
        break
    with strategy.scope():
        model._symbolic_build(data_batch=data_batch)


def is_multi_worker(model):
    return isinstance(getattr(model, "_distribute_strategy", None),
                      tf.distribute.MultiWorkerMirroredStrategy)


def replica_logs(model, logs):
    """Per-replica step logs, shaped so Keras can average them.

    Under MultiWorkerMirroredStrategy Keras averages each log with
    `strategy.reduce("MEAN", value, axis=0)`, which fails on the scalar metrics
    every step returns. As (1,) vectors they reduce to the same mean."""
    if not is_multi_worker(model):
        return logs
    return {k: tf.reshape(v, [1]) if v.shape.rank == 0 else v for k, v in logs.items()}


def loss_tracker(model):
    """The `Mean` metric Keras logs as `loss` and resets every epoch."""
    return model._loss_tracker
