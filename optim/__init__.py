"""optim — the optimizers of the book, each update rule written once.

The NumPy face (this package; it never imports torch)::

    import optim
    opt = optim.Adam(lr=1e-3)
    state = opt.init(params)
    params, state = opt.step(params, grads, state)      # pure, batched

The torch face (``import optim.torch``) is a drop-in for ``torch.optim`` built on
the same rules. One module per chapter: ``optim/sgd.py`` (SGD, Momentum,
Nesterov), ``adagrad.py``, ``adadelta.py``, ``rmsprop.py``, ``adam.py`` (Adam,
AdamW), ``nadam.py``, ``lookahead.py``, ``radam.py``, ``ranger.py``,
``lazyadam.py``; after Adam, ``lion.py``, ``adafactor.py``, ``lamb.py`` (LARS,
LAMB), ``muon.py``, ``shampoo.py`` (Shampoo, SOAP), ``schedulefree.py`` (Schedule-Free
SGD and AdamW), ``prodigy.py`` (Prodigy, D-Adaptation Adam); the machinery they share
is in ``core.py``. Around them: ``landscapes.py`` (test functions), ``trajectory.py``
(the run engine), ``plots.py`` and ``widgets.py`` (figures and explorers),
``exercises/`` (checks), ``show.py`` (the package's source, shown in chapters),
``schedules.py`` (learning-rate schedules for both faces), ``quantize.py`` (blockwise 8-bit
state, for the torch face's ``Adam8bit``/``AdamW8bit``; chapter *memory*, whose byte counts are
in the torch-only ``memory.py``), ``precision.py`` (bf16 rounding on the bits, for NumPy and
for the torch face's ``low_precision`` weights; chapter *precision*), ``bench.py`` (the fair
benchmark's harness and runner) with ``workloads.py`` (its torch workloads),
``parallel.py`` (torch-only: the torch face under DDP, ZeRO-1 and FSDP2; chapter *distributed*).
"""
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .core import Optimizer, SparseRows, State
from .lazyadam import LazyAdam
from .lamb import LAMB, LARS
from .lion import Lion
from .lookahead import Lookahead
from .muon import Muon
from .nadam import NAdam
from .prodigy import DAdaptAdam, Prodigy
from .radam import RAdam
from .ranger import Ranger
from .rmsprop import RMSprop
from .schedulefree import ScheduleFreeAdamW, ScheduleFreeSGD
from .shampoo import SOAP, Shampoo
from .sgd import SGD, Momentum, Nesterov
from . import landscapes, schedules, trajectory  # noqa: E402  (NumPy only; plots, widgets, exercises load on demand)

#: every optimizer of the book, in the order the book tells their story
OPTIMIZERS = (SGD, Momentum, Nesterov, Adagrad, Adadelta, RMSprop, Adam, NAdam, AdamW,
              Lookahead, RAdam, Ranger, LazyAdam, Lion, Adafactor, LARS, LAMB, Muon, Shampoo, SOAP,
              ScheduleFreeSGD, ScheduleFreeAdamW, Prodigy, DAdaptAdam)

__all__ = [cls.__name__ for cls in OPTIMIZERS] + ["Optimizer", "State", "SparseRows", "OPTIMIZERS"]
