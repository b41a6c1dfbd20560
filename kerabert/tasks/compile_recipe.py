"""The reference fine-tuning recipe behind `Task.compile()` and how a `.keras`
file remembers it."""

from kerabert.optimizers.adam_weight_decay import AdamWeightDecay
from kerabert.optimizers.linear_warmup_decay import LinearWarmupDecay
from kerabert.optimizers.schedule_planner import SchedulePlanner

# Keras `compile` arguments that say how steps run, not what they compute: the
# default recipe keeps them (and a `.keras` file remembers them with it).
EXECUTION_OPTIONS = ("jit_compile", "steps_per_execution", "run_eagerly")

# The keys of a compile config saved by the recipe. Files written by earlier
# versions use the same two keys, so they keep loading.
RECIPE_KEY, SCHEDULE_KEY = "kerabert_recipe", "kerabert_schedule"


class CompileRecipe:
    """`AdamWeightDecay` (global-norm clipping 1.0) on a `LinearWarmupDecay`
    schedule, with one family's optimizer settings.

    Args:
      weight_decay: float, the default decoupled weight decay (BERT 0.01,
        XLNet 0.0).
      epsilon: float, Adam's epsilon (BERT 1e-6, XLNet 1e-8).
      exclude_from_weight_decay: regexes of the variable names left without
        weight decay.

    `CompileRecipe(**task.recipe)` builds a task's recipe from its `recipe`
    dict.
    """

    def __init__(self, weight_decay=0.01, epsilon=1e-6,
                 exclude_from_weight_decay=("LayerNorm", "layer_norm", "bias")):
        self.weight_decay = weight_decay
        self.epsilon = epsilon
        self.exclude_from_weight_decay = tuple(exclude_from_weight_decay)

    @staticmethod
    def applies(optimizer, loss, metrics, compile_kwargs):
        """Whether a `compile` call is the whole recipe (every argument
        "auto", only execution options besides), so a `.keras` file can
        rebuild it from its settings."""
        return (optimizer == loss == metrics == "auto"
                and set(compile_kwargs) <= set(EXECUTION_OPTIONS))

    def settings(self, learning_rate=2e-5, weight_decay=None, warmup_ratio=0.1,
                 num_train_steps=None, layer_decay_rate=1.0, **execution_options):
        """The keyword arguments of `Task.compile` that rebuild this recipe
        (with the family's weight decay filled in), a JSON-able dict."""
        if weight_decay is None:
            weight_decay = self.weight_decay
        return dict(learning_rate=learning_rate, weight_decay=weight_decay,
                    warmup_ratio=warmup_ratio, num_train_steps=num_train_steps,
                    layer_decay_rate=layer_decay_rate, **execution_options)

    def build(self, num_layers, learning_rate=2e-5, weight_decay=None, warmup_ratio=0.1,
              num_train_steps=None, layer_decay_rate=1.0):
        """Returns `(optimizer, schedule)`: a new `AdamWeightDecay` and the
        `LinearWarmupDecay` it runs on, peaking at `learning_rate`, unplanned
        (`total_steps=None`) unless `num_train_steps` is given.
        `layer_decay_rate` < 1 scales layer l's rate by
        `rate ** (num_layers - 1 - l)`."""
        if weight_decay is None:
            weight_decay = self.weight_decay
        schedule = LinearWarmupDecay(learning_rate, num_train_steps, warmup_ratio)
        optimizer = AdamWeightDecay(
            learning_rate=schedule, weight_decay=weight_decay, epsilon=self.epsilon,
            exclude_from_weight_decay=self.exclude_from_weight_decay,
            layer_decay_rate=layer_decay_rate, num_layers=num_layers)
        return optimizer, schedule

    @staticmethod
    def compile_config(settings, planner):
        """What `get_compile_config` saves: the settings (`settings()`) and
        the schedule's plan (`SchedulePlanner.state()`), which goes with the
        optimizer state so a resumed run continues the same schedule."""
        return {RECIPE_KEY: settings, SCHEDULE_KEY: planner.state()}

    @staticmethod
    def is_compile_config(config):
        """Whether a saved compile config is one of `compile_config`'s."""
        return RECIPE_KEY in config

    @staticmethod
    def restore_plan(config, schedule):
        """Puts a saved plan (`compile_config`) back onto `schedule`."""
        SchedulePlanner(schedule).restore(config.get(SCHEDULE_KEY, {}))
