"""`SchedulePlanner` on its own: the plan arithmetic of `fit` after `fit`,
its saved state, and the callbacks it asks whether a run resumes."""

import keras
import pytest

from kerabert.callbacks import BackupAndRestore
from kerabert.callbacks.resumable_callback import ResumableCallback
from kerabert.optimizers.linear_warmup_decay import LinearWarmupDecay
from kerabert.optimizers.schedule_planner import SchedulePlanner


def planner(total_steps=None, warmup_ratio=0.1):
    return SchedulePlanner(LinearWarmupDecay(1e-3, total_steps, warmup_ratio))


def test_first_fit_plans_its_steps_with_warmup():
    p = planner()
    assert not p.planned
    assert p.plan_for_fit(current_step=0, steps_per_epoch=5, epochs=3)
    assert p.state() == {"start_step": 0, "total_steps": 15, "warmup_ratio": 0.1}
    assert p.schedule.warmup_steps == 2


def test_initial_epoch_shortens_the_plan():
    p = planner()
    p.plan_for_fit(current_step=0, steps_per_epoch=4, epochs=5, initial_epoch=2)
    assert p.state()["total_steps"] == 12


def test_a_stepped_optimizer_only_decays():
    p = planner()
    p.plan_for_fit(current_step=7, steps_per_epoch=2, epochs=1)
    assert p.state() == {"start_step": 7, "total_steps": 2, "warmup_ratio": 0.0}


def test_a_fit_within_the_plan_continues_it():
    p = planner()
    p.plan_for_fit(0, steps_per_epoch=2, epochs=4)
    assert not p.plan_for_fit(4, steps_per_epoch=2, epochs=4, initial_epoch=2)
    assert p.state() == {"start_step": 0, "total_steps": 8, "warmup_ratio": 0.1}


def test_a_fit_past_the_plan_replans_without_warmup(caplog):
    p = planner()
    p.plan_for_fit(0, steps_per_epoch=2, epochs=1)
    assert p.plan_for_fit(2, steps_per_epoch=3, epochs=1)
    assert p.state() == {"start_step": 2, "total_steps": 3, "warmup_ratio": 0.0}
    assert "Planning it again" in caplog.text


def test_unknown_length_needs_a_plan():
    with pytest.raises(ValueError, match="steps_per_epoch="):
        planner().plan_for_fit(0, steps_per_epoch=None, epochs=1)
    # compile(num_train_steps=...) planned it already.
    p = planner(total_steps=100)
    assert not p.plan_for_fit(0, steps_per_epoch=None, epochs=1)
    assert p.state()["total_steps"] == 100


def test_resuming_keeps_a_plan():
    p = planner()
    p.plan_for_fit(0, steps_per_epoch=2, epochs=1)
    assert not p.plan_for_fit(50, steps_per_epoch=2, epochs=1, resuming=True)
    assert p.state()["total_steps"] == 2
    # With nothing planned yet there is nothing to keep.
    fresh = planner()
    assert fresh.plan_for_fit(0, steps_per_epoch=2, epochs=1, resuming=True)


def test_state_and_restore_round_trip():
    p = planner()
    p.replan(3, 10, 0.2)
    other = planner()
    assert other.restore(p.state())
    assert other.state() == p.state() == {"start_step": 3, "total_steps": 10,
                                          "warmup_ratio": 0.2}
    assert not other.restore(p.state())  # already that plan
    assert not other.replan(3, 10, 0.2)


def test_the_schedule_follows_the_plan():
    p = planner()
    p.replan(start_step=10, total_steps=10, warmup_ratio=0.2)
    rate = [float(p.schedule(step)) for step in (5, 10, 11, 12, 16, 20)]
    assert rate == pytest.approx([0.0, 0.0, 5e-4, 1e-3, 5e-4, 0.0])


class Resumes(ResumableCallback, keras.callbacks.Callback):
    def __init__(self, backup):
        super().__init__()
        self.backup = backup

    def has_backup(self):
        return self.backup


class LooksResumable(keras.callbacks.Callback):
    """Has the method, but does not declare the interface."""

    def has_backup(self):
        return True


def test_resuming_asks_resumable_callbacks_only(tmp_path):
    assert not SchedulePlanner.resuming(None)
    assert not SchedulePlanner.resuming([Resumes(False), LooksResumable()])
    assert SchedulePlanner.resuming([keras.callbacks.History(), Resumes(True)])
    assert SchedulePlanner.resuming(keras.callbacks.CallbackList([Resumes(True)]))
    backup = BackupAndRestore(str(tmp_path / "backup"))
    assert isinstance(backup, ResumableCallback)
    assert not SchedulePlanner.resuming([backup])
