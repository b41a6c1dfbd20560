"""Global-norm clipping that means the same with one replica or many."""

import keras


class ClipAfterAllReduce:
    """Mixin for a Keras optimizer: clip the *summed* gradient.

    Keras clips in `apply`, before the TensorFlow backend sums the replicas'
    gradients in `_backend_update_step`, so under `MirroredStrategy` each
    replica clips its own partial gradient by its own norm and
    `global_clipnorm=1.0` no longer means "clip the global gradient" (the
    reference clips the global gradient). On TensorFlow the clip moves to
    right after the sum, where every replica sees the same global gradient;
    with one replica the sum is the identity, so nothing changes there.
    """

    def _clip_gradients(self, grads):
        if keras.backend.backend() == "tensorflow":
            return grads
        return super()._clip_gradients(grads)

    def _all_reduce_sum_gradients(self, grads_and_vars):
        grads_and_vars = list(super()._all_reduce_sum_gradients(grads_and_vars))
        grads = super()._clip_gradients([g for g, _ in grads_and_vars])
        return [(g, v) for g, (_, v) in zip(grads, grads_and_vars)]
