"""`CompileRecipe` on its own: the optimizer and schedule it builds for given
settings, and the compile config a `.keras` file keeps."""

import pytest

from kerabert.optimizers.adam_weight_decay import AdamWeightDecay
from kerabert.optimizers.linear_warmup_decay import LinearWarmupDecay
from kerabert.optimizers.schedule_planner import SchedulePlanner
from kerabert.tasks.compile_recipe import CompileRecipe
from kerabert.tasks.task import TaskMixin
from kerabert.tasks.xlnet_classifier import XLNET_RECIPE


def test_bert_recipe_builds_adamw_on_warmup_decay():
    optimizer, schedule = CompileRecipe(**TaskMixin.recipe).build(
        num_layers=4, learning_rate=3e-5, warmup_ratio=0.2, num_train_steps=50)
    assert isinstance(optimizer, AdamWeightDecay)
    assert optimizer._learning_rate is schedule
    assert isinstance(schedule, LinearWarmupDecay)
    assert (schedule.peak_learning_rate, schedule.total_steps, schedule.warmup_ratio,
            schedule.start_step) == (3e-5, 50, 0.2, 0)
    config = optimizer.get_config()
    assert config["weight_decay"] == pytest.approx(0.01)
    assert config["epsilon"] == pytest.approx(1e-6)
    assert config["global_clipnorm"] == 1.0


def test_xlnet_recipe_and_explicit_weight_decay():
    recipe = CompileRecipe(**XLNET_RECIPE)
    optimizer, schedule = recipe.build(num_layers=2)
    config = optimizer.get_config()
    assert config["weight_decay"] == 0.0
    assert config["epsilon"] == pytest.approx(1e-8)
    assert schedule.total_steps is None  # planned by the first fit
    optimizer, _ = recipe.build(num_layers=2, weight_decay=0.05, layer_decay_rate=0.75)
    assert optimizer.get_config()["weight_decay"] == pytest.approx(0.05)


def test_applies_only_to_the_whole_recipe():
    assert CompileRecipe.applies("auto", "auto", "auto", {})
    assert CompileRecipe.applies("auto", "auto", "auto", {"jit_compile": True,
                                                          "steps_per_execution": 2})
    assert not CompileRecipe.applies("adam", "auto", "auto", {})
    assert not CompileRecipe.applies("auto", "auto", "auto", {"loss_weights": [1.0]})


def test_compile_config_keeps_its_format():
    recipe = CompileRecipe(**TaskMixin.recipe)
    settings = recipe.settings(learning_rate=1e-4, jit_compile=True)
    assert settings == {"learning_rate": 1e-4, "weight_decay": 0.01, "warmup_ratio": 0.1,
                        "num_train_steps": None, "layer_decay_rate": 1.0, "jit_compile": True}
    _, schedule = recipe.build(num_layers=1)
    SchedulePlanner(schedule).replan(4, 20, 0.0)
    config = CompileRecipe.compile_config(settings, SchedulePlanner(schedule))
    assert config == {"kerabert_recipe": settings,
                      "kerabert_schedule": {"start_step": 4, "total_steps": 20,
                                            "warmup_ratio": 0.0}}
    assert CompileRecipe.is_compile_config(config)
    assert not CompileRecipe.is_compile_config({"optimizer": "adam"})
    _, fresh = recipe.build(num_layers=1)
    CompileRecipe.restore_plan(config, fresh)
    assert (fresh.start_step, fresh.total_steps, fresh.warmup_ratio) == (4, 20, 0.0)
    CompileRecipe.restore_plan({"kerabert_recipe": settings}, fresh)  # a file without a plan
    assert fresh.total_steps == 20
