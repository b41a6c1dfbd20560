"""A progress bar for the command line, drawn with `rich`."""

import keras


class RichProgress(keras.callbacks.Callback):
    """One bar per training epoch (and one for a prediction run) with the step,
    the elapsed time and the latest logs.

    Args:
      console: a `rich.console.Console` (default: a new one).
      steps_per_epoch: int, the bar's length (default: what `fit` knows).
    """

    def __init__(self, console=None, steps_per_epoch=None):
        super().__init__()
        from rich.console import Console

        self.console = console or Console()
        self.steps_per_epoch = steps_per_epoch
        self._progress = None

    def _start(self):
        from rich.progress import BarColumn
        from rich.progress import MofNCompleteColumn
        from rich.progress import Progress
        from rich.progress import TextColumn
        from rich.progress import TimeElapsedColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(),
                                  TextColumn("{task.fields[logs]}"), console=self.console)
        self._progress.start()

    def _stop(self):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def on_train_begin(self, logs=None):
        self._start()

    def on_epoch_begin(self, epoch, logs=None):
        total = self.steps_per_epoch or self.params.get("steps")
        self._task = self._progress.add_task(f"epoch {epoch + 1}/{self.params.get('epochs')}",
                                             total=total, logs="")

    def on_train_batch_end(self, batch, logs=None):
        text = "  ".join(f"{k} {float(v):.4f}" for k, v in (logs or {}).items())
        self._progress.update(self._task, completed=batch + 1, logs=text)

    def on_train_end(self, logs=None):
        self._stop()

    def on_predict_begin(self, logs=None):
        self._start()
        self._task = self._progress.add_task("predicting", total=self.params.get("steps"),
                                             logs="")

    def on_predict_batch_end(self, batch, logs=None):
        self._progress.update(self._task, completed=batch + 1)

    def on_predict_end(self, logs=None):
        self._stop()
