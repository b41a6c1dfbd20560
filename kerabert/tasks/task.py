"""Base class of kerabert tasks: backbone + head + optional preprocessor.

A task is a functional Keras model over the backbone's inputs. When it owns a
preprocessor, `fit` / `evaluate` / `predict` accept raw text (Python lists,
numpy arrays or a `tf.data.Dataset`) and map the preprocessor over the data
in-graph; with `preprocessor=None` they take the packed dicts directly.

A task is composed of parts that each live in their own module:
`PresetMethods` (presets and exports, `preset_methods.py`), `PipelineModel`
(raw inputs -> batched datasets, `pipeline_model.py`), `CompileRecipe` (the
default `compile`, `compile_recipe.py`) and `SchedulePlanner` (when its
schedule warms up and decays, `kerabert/optimizers/schedule_planner.py`).
This module joins them and holds the training step.
"""

import warnings

import keras
import tensorflow as tf

from kerabert import keras_compat
from kerabert.optimizers.schedule_planner import SchedulePlanner
from kerabert.tasks.compile_recipe import CompileRecipe
from kerabert.tasks.pipeline_model import PipelineModel
from kerabert.tasks.pipeline_model import select_features
from kerabert.tasks.preprocessing_seed import _SetPreprocessingEpoch
from kerabert.tasks.preset_methods import PresetMethods


class TaskMixin(PresetMethods, PipelineModel):
    """Everything a kerabert task adds to a Keras model (presets, the reference
    compile recipe, raw-text fit/predict). Kept out of the `keras.Model`
    hierarchy because Keras rewrites the bases of a `Model` subclass to
    `Functional` the first time one is built functionally, which would turn
    every later subclass (even a subclassed one, such as `XLNetPretrainer`)
    into a functional model."""

    backbone_cls = None
    preprocessor_cls = None
    task_kind = None
    # Backbone layers this task never uses (so they get no gradient); `fit`
    # silences Keras' warning about them, which would repeat on every fit.
    unused_weights = ()

    # --- construction helpers used by subclasses and the preset loader --------

    def _set_backbone(self, backbone, preprocessor):
        """Checks and stores the backbone and the preprocessor (every task
        constructor's first step)."""
        if preprocessor is not None:
            length = getattr(preprocessor, "sequence_length", None)
            limit = getattr(backbone, "max_sequence_length", None)
            if length and limit and length > limit:
                raise ValueError(
                    f"The preprocessor's sequence_length ({length}) exceeds the backbone's "
                    f"max_sequence_length ({limit}); pass sequence_length<={limit}.")
        self._check_backbone_strategy(backbone)
        self.backbone = backbone
        self.preprocessor = preprocessor
        # The backbone's policy: under mixed_float16 Keras then wraps the
        # optimizer in a LossScaleOptimizer at compile time.
        self.dtype_policy = backbone.dtype_policy

    @staticmethod
    def _check_backbone_strategy(backbone):
        """Under a `tf.distribute` strategy scope, the backbone's variables must
        be that strategy's: otherwise the task builds, and only the first
        `fit` fails, deep in the optimizer ("colocate_vars_with must only be
        passed a variable created in this tf.distribute.Strategy.scope()")."""
        if not tf.distribute.has_strategy():
            return
        strategy = tf.distribute.get_strategy()
        foreign = [v for v in backbone.weights
                   if not strategy.extended.variable_created_in_scope(v.value)]
        if foreign:
            raise ValueError(
                f"The backbone's variables (e.g. {foreign[0].path}) were created outside "
                f"this {type(strategy).__name__}'s scope, so the task cannot train under it. "
                "Build the backbone (or call from_preset) inside `with strategy.scope():` too.")

    @property
    def head_weights(self):
        """Variables of the task that are not the backbone's."""
        backbone_ids = {id(v) for v in self.backbone.weights}
        return [v for v in self.weights if id(v) not in backbone_ids]

    # --- compile ---------------------------------------------------------------

    def _default_loss(self):
        raise NotImplementedError

    def _default_metrics(self):
        return None

    def _default_loss_weights(self):
        return None

    # The optimizer recipe of `compile()`: the BERT reference's AdamWeightDecay
    # (decay 0.01, epsilon 1e-6); XLNet tasks override it with the XLNet
    # fine-tuning scripts' (no decay, epsilon 1e-8).
    recipe = {"weight_decay": 0.01, "epsilon": 1e-6}

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto",
                learning_rate=2e-5, weight_decay=None, warmup_ratio=0.1,
                num_train_steps=None, layer_decay_rate=1.0, **kwargs):
        """Compiles with the reference fine-tuning recipe by default.

        `optimizer="auto"` is `AdamWeightDecay` (global-norm clipping 1.0,
        no decay on LayerNorm and bias) on a `LinearWarmupDecay` schedule (10 %
        warmup, linear decay to 0) peaking at `learning_rate`. BERT tasks use
        weight decay 0.01 and epsilon 1e-6, XLNet tasks 0.0 and 1e-8 (`recipe`).
        `layer_decay_rate` < 1 scales layer l's learning rate by
        `rate ** (num_layers - 1 - l)` (XLNet's layer-wise decay).

        The schedule is planned once: from `num_train_steps` when given, else
        from the data of the first `fit` (its epochs times its steps per
        epoch). A later `fit` within the plan continues it (e.g. a run resumed
        with `initial_epoch` from a `.keras` file). A later `fit` that would run
        past the plan's end, where the rate is 0, plans again from the current
        step: linear decay from `learning_rate` to 0 over that fit's steps,
        without a second warmup (the optimizer's moment estimates are already
        warm), and logs that it did. So every `fit` call trains.

        Other keywords go to Keras' `compile`; `jit_compile=True` (XLA, as TPUs
        need), `steps_per_execution` and `run_eagerly` keep the recipe, and a
        `.keras` file restores them with it.
        """
        recipe = CompileRecipe(**self.recipe)
        self._auto_schedule = None
        self._auto_compile_args = None
        if CompileRecipe.applies(optimizer, loss, metrics, kwargs):
            # Remembered so a `.keras` file recompiles with the same recipe
            # (and runs the same way: `jit_compile=True` for a TPU run).
            self._auto_compile_args = recipe.settings(
                learning_rate=learning_rate, weight_decay=weight_decay,
                warmup_ratio=warmup_ratio, num_train_steps=num_train_steps,
                layer_decay_rate=layer_decay_rate, **kwargs)
        if optimizer == "auto":
            optimizer, self._auto_schedule = recipe.build(
                self.backbone.num_layers, learning_rate=learning_rate,
                weight_decay=weight_decay, warmup_ratio=warmup_ratio,
                num_train_steps=num_train_steps, layer_decay_rate=layer_decay_rate)
        if loss == "auto":
            loss = self._default_loss()
            if "loss_weights" not in kwargs and self._default_loss_weights() is not None:
                kwargs["loss_weights"] = self._default_loss_weights()
        if metrics == "auto":
            metrics = self._default_metrics()
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    @property
    def schedule_planner(self):
        """The `SchedulePlanner` of the default recipe's learning-rate
        schedule, or None when the task was compiled with another optimizer
        (or not compiled). `fit` plans with it; `BackupAndRestore` saves and
        restores its `state()`."""
        schedule = getattr(self, "_auto_schedule", None)
        return None if schedule is None else SchedulePlanner(schedule)

    def get_compile_config(self):
        if getattr(self, "_auto_compile_args", None) is not None:
            return CompileRecipe.compile_config(self._auto_compile_args, self.schedule_planner)
        return super().get_compile_config()

    def compile_from_config(self, config):
        if not CompileRecipe.is_compile_config(config):
            return super().compile_from_config(config)
        self.compile(**config["kerabert_recipe"])
        CompileRecipe.restore_plan(config, self._auto_schedule)
        if self.built:
            # Build the optimizer so a `.keras` file's optimizer state loads.
            self.optimizer.build(self.trainable_variables)

    # --- training step ---------------------------------------------------------

    def _build_optimizer(self):
        """Creates the optimizer's variables now, eagerly. Without a distribution
        strategy Keras leaves this to the trace of the first train step, where
        each variable costs several times more (BERT with 4 layers: 2.3 s there,
        0.4 s here), which lengthens the first step of `fit`."""
        if self.optimizer is not None and not self.optimizer.built and self.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.trainable_variables)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is not None and keras_compat.is_multi_worker(self):
            return keras_compat.symbolic_build_from_local_batch(self, iterator)
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def _replica_logs(self, logs):
        return keras_compat.replica_logs(self, logs)

    def _minimize(self, loss_fn):
        """One optimizer step for tasks whose loss Keras' `compile` cannot express.

        `loss_fn()` returns this replica's mean loss, or a tuple whose first item
        is it. Keras sums gradients over replicas, so the loss is divided by
        their number: the step follows the gradient of the global-batch mean.
        Loss scaling (`mixed_float16`) goes through the optimizer. Returns what
        `loss_fn` returned.
        """
        with tf.GradientTape() as tape:
            result = loss_fn()
            loss = result[0] if isinstance(result, tuple) else result
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled = self.optimizer.scale_loss(loss / replicas)
        gradients = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return result

    def train_step(self, data):
        return self._replica_logs(super().train_step(data))

    def test_step(self, data):
        return self._replica_logs(super().test_step(data))

    # --- fit / evaluate / predict ---------------------------------------------

    def _plan_schedule(self, steps_per_epoch, epochs, initial_epoch=0, callbacks=()):
        """Plans the default recipe's warmup/decay for this `fit` (see
        `compile` and `SchedulePlanner.plan_for_fit`); `steps_per_epoch`: the
        fit's batches per epoch, None when unknown."""
        planner = self.schedule_planner
        if planner is None:
            return
        if planner.plan_for_fit(int(self.optimizer.iterations.numpy()), steps_per_epoch,
                                epochs, initial_epoch,
                                resuming=SchedulePlanner.resuming(callbacks)):
            self.train_function = None  # retrace with the new plan

    def fit(self, x=None, y=None, batch_size=None, epochs=1, validation_data=None,
            sample_weight=None, shuffle=True, steps_per_epoch=None, *, features=None,
            label="label", static_shapes=False, **kwargs):
        """Keras' `fit` on raw text, packed dicts or `tf.data`.

        `features` (and `label`): for records with named columns (tfds-style
        dict elements such as GLUE MRPC's `{"sentence1", "sentence2", "label"}`,
        or a dict of columns), the text column or the pair of columns to read,
        e.g. `fit(ds, features=("sentence1", "sentence2"))`; validation data of
        the same shape is read the same way (see `select_features`).

        `static_shapes=True` (for TPUs, or XLA without recompiling): every
        training batch has the same fully static shape. Raw text and arrays
        are batched with `drop_remainder=True` (the last `n % batch_size`
        examples of an epoch are left out; with `shuffle` a different few each
        epoch) and the preprocessor pads to its `sequence_length`; a
        `tf.data.Dataset` must already be batched that way, else a
        `ValueError` says which tensors have unknown dimensions. Validation
        data is batched as usual.
        """
        if features is not None:
            x, y = select_features(x, y, features, label)
            if isinstance(validation_data, (dict, tf.data.Dataset)):
                validation_data = select_features(validation_data, None, features, label)
                validation_data = (validation_data if validation_data[1] is not None
                                   else validation_data[0])
        x, y, sample_weight = self.check_data(x, y, sample_weight, "fit()")
        if validation_data is not None:
            validation_data = self.check_validation_data(validation_data)
        seeded = getattr(self.preprocessor, "takes_seed", False)
        if static_shapes or self.uses_pipeline(x):
            dataset = self.preprocess_dataset(x, y, sample_weight, batch_size, shuffle=shuffle,
                                              drop_remainder=static_shapes,
                                              **({"seeded": True} if seeded else {}))
            if static_shapes:
                self._require_static_shapes(dataset, "fit")
            if isinstance(validation_data, tuple):
                validation_data = self.preprocess_dataset(
                    *keras.utils.unpack_x_y_sample_weight(validation_data),
                    batch_size=batch_size)
            elif validation_data is not None:
                validation_data = self.preprocess_dataset(validation_data,
                                                          batch_size=batch_size)
            x, y, sample_weight, batch_size, shuffle = dataset, None, None, None, False
        self._plan_schedule(
            steps_per_epoch if steps_per_epoch is not None else self.count_batches(x, batch_size),
            epochs, kwargs.get("initial_epoch", 0), kwargs.get("callbacks"))
        if seeded and getattr(self, "_preprocessing_seed", None) is not None:
            setter = _SetPreprocessingEpoch(self._preprocessing_seed,
                                            every_epoch=steps_per_epoch is None)
            callbacks = kwargs.get("callbacks")
            if isinstance(callbacks, keras.callbacks.CallbackList):
                kwargs["callbacks"] = keras.callbacks.CallbackList(
                    list(callbacks.callbacks) + [setter], model=self)
            else:
                kwargs["callbacks"] = list(callbacks or []) + [setter]
        self._build_optimizer()
        with warnings.catch_warnings():
            for name in self.unused_weights:
                warnings.filterwarnings("ignore", message=f".*{name}.*")
            return super().fit(x=x, y=y, batch_size=batch_size, epochs=epochs,
                               validation_data=validation_data, sample_weight=sample_weight,
                               shuffle=shuffle, steps_per_epoch=steps_per_epoch, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, sample_weight=None, *, features=None,
                 label="label", **kwargs):
        if features is not None:
            x, y = select_features(x, y, features, label)
        if not kwargs.get("_use_cached_eval_dataset"):
            x, y, sample_weight = self.check_data(x, y, sample_weight, "evaluate()")
        # Keras' fit calls evaluate on the validation data it was given, which
        # fit has already preprocessed.
        if self.uses_pipeline(x) and not kwargs.get("_use_cached_eval_dataset"):
            x = self.preprocess_dataset(x, y, sample_weight, batch_size)
            y = sample_weight = batch_size = None
        return super().evaluate(x=x, y=y, batch_size=batch_size,
                                sample_weight=sample_weight, **kwargs)

    def predict(self, x, batch_size=None, *, features=None, static_shapes=False, **kwargs):
        """Keras' `predict` on raw text, packed dicts or `tf.data`.

        `static_shapes=True` (for TPUs, or XLA without recompiling): the model
        only sees batches of exactly `batch_size` rows (default 32; a finite
        `tf.data.Dataset` is re-batched to it): the last batch is filled up
        with copies of the first row and their outputs are dropped, so the
        result has one row per input row, equal to an ordinary `predict`.
        """
        if features is not None:
            x, _ = select_features(x, None, features)
        self.require_input(x, "predict()")
        if static_shapes:
            dataset, count = self._padded_batches(x, batch_size or 32)
            self._require_static_shapes(dataset, "predict")
            outputs = super().predict(dataset, **kwargs)
            return keras.tree.map_structure(lambda a: a[:count], outputs)
        if self.uses_pipeline(x):
            packed = self._pack_in_memory(x)
            rows = None if packed is None else len(next(iter(packed.values())))
            if packed is not None and rows <= (batch_size or 32) and not kwargs.get("callbacks"):
                # One batch: without Keras' per-call data adapter and iterator.
                return self.predict_on_batch(packed)
            if packed is not None:
                return super().predict(packed, batch_size=batch_size, **kwargs)
            x = self.preprocess_dataset(x, batch_size=batch_size)
            batch_size = None
        return super().predict(x, batch_size=batch_size, **kwargs)

    def get_config(self):
        return {
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "preprocessor": keras.saving.serialize_keras_object(self.preprocessor)
            if self.preprocessor is not None else None,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("backbone", "preprocessor"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


class Task(TaskMixin, keras.Model):
    """Base class of the functional kerabert tasks.

    A subclass constructor builds its head layers, wires the functional graph
    from `backbone.input`, calls `super().__init__(backbone, preprocessor,
    inputs=..., outputs=...)`, sets its config, and compiles the default recipe
    unless `compile=False` (as keras-hub tasks do).
    """

    def __init__(self, backbone, preprocessor=None, *, inputs, outputs, **kwargs):
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self._set_backbone(backbone, preprocessor)
