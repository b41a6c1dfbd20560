"""XLNetPretrainer through the shared harness (its training and data are tested
in tests/data/test_xlnet_pretraining*.py and tests/commands/test_pretrain.py)."""

import kerabert
from tests import harness


class TestHarness(harness.TaskRoundTrips):
    task_cls = kerabert.XLNetPretrainer
