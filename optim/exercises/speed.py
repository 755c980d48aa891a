"""Exercises of the chapter *How fast can a step be?*: the bytes an optimizer step must move."""

import numpy as np

from .core import Case, Exercise, Mistake, register

CHAPTER = "How fast can a step be?"

#: the state buffers each optimizer keeps per parameter (AMSGrad adds one to Adam's and AdamW's)
BUFFERS = dict(sgd=0, momentum=1, nesterov=1, adagrad=1, rmsprop=1, lion=1, adam=2, adamw=2, nadam=2)


def step_bytes(optimizer, amsgrad, number_bytes):
    k = BUFFERS[optimizer] + (1 if amsgrad else 0)
    reads = 2 + k            # the parameter, the gradient, each buffer
    writes = 1 + k           # the parameter, each buffer (the gradient is not written)
    return (reads + writes) * number_bytes


def _cases(rng):
    sizes = np.array([4.0, 2.0, 8.0, 1.0])          # float32, bf16, float64, 8-bit
    return [Case(f"{name}, amsgrad={ams}, numbers of {', '.join(f'{b:g}' for b in sizes)} bytes",
                 dict(optimizer=name, amsgrad=ams, number_bytes=sizes.copy()))
            for name, ams in (("adam", False), ("adam", True), ("sgd", False), ("momentum", False), ("adamw", False),
                              ("adamw", True), ("lion", False), ("adagrad", False), ("nadam", False),
                              ("rmsprop", False), ("nesterov", False))]


# --- the catalogued mistakes --------------------------------------------------------------

def _no_gradient(optimizer, amsgrad, number_bytes):
    return step_bytes(optimizer, amsgrad, number_bytes) - number_bytes


def _amsgrad_always(optimizer, amsgrad, number_bytes):
    return step_bytes(optimizer, amsgrad or optimizer in ("adam", "adamw"), number_bytes)


def _reads_only(optimizer, amsgrad, number_bytes):
    return (2 + BUFFERS[optimizer] + (1 if amsgrad else 0)) * number_bytes


def _gradient_written(optimizer, amsgrad, number_bytes):
    return step_bytes(optimizer, amsgrad, number_bytes) + number_bytes


register(Exercise(
    name="step_bytes", chapter=CHAPTER, reference=step_bytes, make_cases=_cases, returns=("bytes",),
    task="""
How many bytes per parameter must one step of an element-wise optimizer move between memory
and the processor, at the least (every number read once and written once, as a fused kernel
does)? `optimizer` is one of "sgd" (no momentum), "momentum", "nesterov", "adagrad", "rmsprop",
"lion", "adam", "adamw", "nadam"; `amsgrad` (True only for "adam" and "adamw") adds Adam's
running maximum of v; `number_bytes` is the size of one number (4 for float32), the same for the
parameter, the gradient and the state: an array of sizes (`np.array([4.0, 2.0])` for float32
and bfloat16), and the answer is an array of the same shape.

A step reads the parameter, the gradient and every state buffer, and writes the parameter and
every state buffer back. SGD without momentum keeps no state; momentum, Nesterov, AdaGrad,
RMSprop (uncentred, no momentum) and Lion keep one buffer; Adam, AdamW and NAdam two (m and v).
Return the bytes per parameter for each size in `number_bytes`.
""",
    mistakes=(
        Mistake("the gradient's read was forgotten",
                "The gradient is not the optimizer's, but the step must still read it: one more number "
                "per parameter (4 bytes in float32). Adam in float32 moves 28 bytes per parameter, not 24.", _no_gradient),
        Mistake("AMSGrad's buffer was counted when amsgrad is off",
                "v_max exists only with amsgrad=True; plain Adam keeps two buffers, m and v.", _amsgrad_always),
        Mistake("only the reads were counted",
                "What is read must be written back: the parameter and every state buffer are updated in "
                "place, so each is moved twice (the gradient only once).", _reads_only),
        Mistake("the gradient was counted as written",
                "The step reads the gradient but does not write it (zero_grad(set_to_none=True) frees it "
                "without touching its memory): count it once.", _gradient_written),
    ),
))
