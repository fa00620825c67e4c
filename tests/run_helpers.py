"""Log callbacks the training tests share: silence, and Ctrl-C after a chosen epoch."""


def quiet(_line):
    """A log callback that prints nothing."""


class StopAfter:
    """A log callback that presses Ctrl-C right after the given epoch's line."""

    def __init__(self, epoch):
        self.epoch = epoch

    def __call__(self, line):
        if line.startswith("epoch %d," % self.epoch):
            raise KeyboardInterrupt
