"""`kerabert pretrain` with `training.log_dir`: TensorBoard event files with the
loss, each metric, the learning rate and the throughput, read back."""


import numpy as np
import pytest

from kerabert import cli
from kerabert.commands import pretrain
from tests.callbacks.test_tensorboard_scalars import read_scalars
from tests.commands.test_pretrain import bert_config

STEPS, EPOCHS, PEAK = 3, 2, 1e-3


def _config(tmp_path, **training):
    return bert_config(tmp_path, steps_per_epoch=STEPS, epochs=EPOCHS, learning_rate=PEAK,
                       warmup_ratio=0.0, **training)


def test_tensorboard_logs_match_the_history(tmp_path):
    log_dir = tmp_path / "logs"
    config = pretrain.load_config(_config(tmp_path, log_dir=str(log_dir), log_freq=2))
    _, history = pretrain.train(config)
    scalars = read_scalars(str(log_dir / "train"))
    names = ["loss", "masked_lm_accuracy", "lm_example_loss", "next_sentence_accuracy",
             "next_sentence_loss", "learning_rate", "examples_per_second"]
    assert set(names) <= set(history.history)
    for name in names:
        steps, values = zip(*scalars[f"epoch_{name}"])
        assert steps == tuple(range(EPOCHS))
        # Summaries are float32.
        np.testing.assert_allclose(values, history.history[name], rtol=1e-6)
    # The default recipe without warmup: linear decay from PEAK to 0 over 6 steps,
    # logged at steps 3 and 6.
    np.testing.assert_allclose(history.history["learning_rate"], [PEAK / 2, 0.0], atol=1e-9)
    assert all(v > 0 for v in history.history["examples_per_second"])
    # log_freq=2: batch summaries every 2 optimizer steps, the rate among them.
    steps, rates = zip(*scalars["batch_learning_rate"])
    assert steps == (2, 4, 6)
    np.testing.assert_allclose(rates, [PEAK * (6 - s) / 6 for s in steps], rtol=1e-6)
    assert [step for step, _ in scalars["batch_loss"]] == [2, 4, 6]


def test_cli_writes_logs_and_backs_up_every_n_steps(tmp_path, capsys):
    log_dir = tmp_path / "logs"
    path = _config(tmp_path, log_dir=str(log_dir), backup_dir=str(tmp_path / "backup"),
                   backup_freq=2)
    assert cli.main(["pretrain", "--config", path]) == 0
    out = capsys.readouterr().out
    assert f"tensorboard --logdir {log_dir}" in out
    assert {"epoch_loss", "epoch_learning_rate"} <= set(read_scalars(str(log_dir / "train")))
    assert not (tmp_path / "backup").exists()  # removed after the completed run


@pytest.mark.parametrize("training, message", [
    ({"log_freq": 0}, "training.log_freq"),
    ({"backup_freq": "step"}, "training.backup_freq"),
    ({"logdir": "x"}, "unknown training keys"),
])
def test_config_errors(tmp_path, capsys, training, message):
    assert cli.main(["pretrain", "--config", _config(tmp_path, **training)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kerabert pretrain: error: ") and message in err
    assert "log_dir" in err or "unknown" not in message  # the known keys are listed
