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


# ----------------------------------------------------------------- the time bound and the fraction of it

def step_time_bound(n_params, bytes_per_param, bandwidth_GBps, step_ms):
    bound_ms = 1e3 * n_params * bytes_per_param / (bandwidth_GBps * 1e9)   # GB/s: 10⁹ bytes per second
    return bound_ms, bound_ms / step_ms


def _bound_cases(rng):
    cases = []
    for label, bytes_per_param, bandwidth in (("fp32 Adam on a laptop's memory", 28.0, 15.0),
                                              ("fp32 SGD (no momentum) on a server's memory", 12.0, 120.0),
                                              ("bf16 Adam on a GPU's HBM", 14.0, 2039.0),
                                              ("fp32 AMSGrad on a GPU's HBM", 36.0, 3350.0),
                                              ("fp32 Adam, a random bandwidth", 28.0, None),
                                              ("bf16 Lion, a random bandwidth", 10.0, None)):
        bandwidth = float(np.round(rng.uniform(5.0, 3000.0), 1)) if bandwidth is None else bandwidth
        n = np.array([4.2e6, 1.24e8, 7.0e9, float(rng.integers(1, 10**6))])
        bound = 1e3 * n * bytes_per_param / (bandwidth * 1e9)
        step_ms = np.round(bound / rng.uniform(0.1, 0.95, size=n.size), 6)     # slower than the bound
        cases.append(Case(label, dict(n_params=n, bytes_per_param=bytes_per_param, bandwidth_GBps=bandwidth,
                                      step_ms=step_ms)))
    return cases + [
        Case("a step measured faster than the bound (the bandwidth was measured too low)",
             dict(n_params=np.array([4.2e6]), bytes_per_param=28.0, bandwidth_GBps=15.0, step_ms=np.array([6.5]))),
        Case("exactly at the bound: 1e9 parameters × 28 bytes at 28 GB/s take 1 s",
             dict(n_params=np.array([1e9, 5e8]), bytes_per_param=28.0, bandwidth_GBps=28.0,
                  step_ms=np.array([1000.0, 1000.0]))),
        Case("one parameter", dict(n_params=np.array([1.0]), bytes_per_param=12.0, bandwidth_GBps=100.0,
                                   step_ms=np.array([1e-6]))),
    ]


def _gib(n_params, bytes_per_param, bandwidth_GBps, step_ms):
    bound_ms = 1e3 * n_params * bytes_per_param / (bandwidth_GBps * 2.0**30)
    return bound_ms, bound_ms / step_ms


def _bits(n_params, bytes_per_param, bandwidth_GBps, step_ms):
    bound_ms = 1e3 * n_params * bytes_per_param * 8 / (bandwidth_GBps * 1e9)
    return bound_ms, bound_ms / step_ms


def _seconds(n_params, bytes_per_param, bandwidth_GBps, step_ms):
    bound_s = n_params * bytes_per_param / (bandwidth_GBps * 1e9)
    return bound_s, bound_s / step_ms


def _inverted(n_params, bytes_per_param, bandwidth_GBps, step_ms):
    bound_ms = 1e3 * n_params * bytes_per_param / (bandwidth_GBps * 1e9)
    return bound_ms, step_ms / bound_ms


register(Exercise(
    name="step_time_bound", chapter=CHAPTER, reference=step_time_bound, make_cases=_bound_cases,
    returns=("bound_ms", "fraction"),
    task="""
The least time a memory-bound step can take, T_min = N · B_min / β, and the fraction of it an
implementation reaches, T_min / T.

`n_params`: the numbers of parameters N (an array); `bytes_per_param`: the bytes B_min one step
moves per parameter (28 for float32 Adam); `bandwidth_GBps`: the memory's bandwidth β in GB/s,
as STREAM reports it (1 GB = 10⁹ bytes); `step_ms`: the measured time T of one step in
milliseconds (an array like `n_params`). Return `bound_ms`, the bound in milliseconds, and
`fraction`, T_min / T (1 at the bound, below 1 for a slower step, above 1 if the step was faster
than the bound: then β was measured too low), both arrays like `n_params`.
""",
    mistakes=(
        Mistake("GiB/s instead of GB/s",
                "STREAM's GB/s are 10⁹ bytes per second, not 2³⁰ (a GiB): divide by bandwidth_GBps * 1e9. "
                "2³⁰ makes the bound 7% too short.", _gib),
        Mistake("the bandwidth was read as bits per second",
                "GB/s are gigaBYTES per second, and B_min is in bytes: no factor 8.", _bits),
        Mistake("the bound was returned in seconds",
                "N · B / (β · 10⁹) is in seconds: multiply by 1000 for milliseconds (and compare it with "
                "step_ms in the same unit).", _seconds),
        Mistake("the fraction was inverted (T / T_min)",
                "The fraction of the bound is T_min / T: at most about 1, smaller for a slower step. "
                "T / T_min is how many times slower than the bound the step is.", _inverted),
    ),
))


# ----------------------------------------------------------------- the bytes of the loop against one fused pass

def _ops(rule):
    """("m = m g", ...) -> [("m", ("m", "g")), ...]: each operation's output and inputs."""
    return [(op.split("=")[0].strip(), tuple(op.split("=")[1].split())) for op in rule]


def loop_bytes(rule, number_bytes):
    loop = sum(len(set(inputs)) + 1 for _, inputs in _ops(rule))     # each op: one read per distinct input, one write
    written, memory = set(), set()
    for output, inputs in _ops(rule):
        memory |= {name for name in inputs if name not in written}   # read before written: in memory already
        written.add(output)
    fused = len(memory) + len(memory & written)                 # read once each; written back if the rule writes it
    return loop * number_bytes, fused * number_bytes


#: rules as their loops run them, one element-wise operation per entry: "output = inputs"
RULES = {
    "SGD: w = w - lr g": ["w = w g"],
    "momentum": ["m = m g", "w = w m"],
    "SGD with L2 decay into a new gradient d = g + λ w": ["d = g w", "w = w d"],
    "AdaGrad: s += g·g, then u = sqrt(s) + ε": ["s = s g g", "u = s", "u = u", "w = w g u"],
    "torch.optim.Adam's loop": ["m = m g", "v = v", "v = v g g", "d = v", "d = d", "d = d", "w = w m d"],
    "optim.torch.Adam's loop": ["m = m g", "v = v", "v = v g g", "d = v", "d = d", "w = w m d"],
    "AdamW: decay first": ["w = w", "m = m g", "v = v g g", "d = v", "d = d", "w = w m d"],
    "Lion": ["c = m g", "u = c", "w = w u", "m = m g"],
}


def _random_rule(rng, n_ops):
    rule, defined = [], ["w", "g", "m", "v"]
    for _ in range(n_ops):
        output = str(rng.choice(["w", "m", "v", "t", "u"]))
        inputs = list(rng.choice(defined, size=int(rng.integers(1, 4))))
        if output in ("w", "m", "v"):
            inputs = [output] + inputs                          # a state buffer is updated in place
        rule.append(f"{output} = {' '.join(str(name) for name in inputs)}")
        defined += [output] if output not in defined else []
    return rule


def _rule_cases(rng):
    sizes = np.array([4.0, 2.0, 1.0])                           # float32, bf16, 8-bit
    cases = [Case(name, dict(rule=rule, number_bytes=sizes.copy())) for name, rule in RULES.items()]
    return cases + [Case(f"a random rule of {n} operations", dict(rule=_random_rule(rng, n), number_bytes=sizes.copy()))
                    for n in (5, 8)]


def _output_read(rule, number_bytes):
    loop = sum(len(set(inputs) | {output}) + 1 for output, inputs in _ops(rule))
    return loop * number_bytes, loop_bytes(rule, number_bytes)[1]


def _in_place_once(rule, number_bytes):
    loop = sum(len(set(inputs) | {output}) for output, inputs in _ops(rule))
    return loop * number_bytes, loop_bytes(rule, number_bytes)[1]


def _repeats_twice(rule, number_bytes):
    loop = sum(len(inputs) + 1 for _, inputs in _ops(rule))
    return loop * number_bytes, loop_bytes(rule, number_bytes)[1]


def _temporaries_free(rule, number_bytes):
    written, memory = set(), set()
    for output, inputs in _ops(rule):
        memory |= {name for name in inputs if name not in written}
        written.add(output)
    loop = sum(len(set(inputs) & memory) + (output in memory) for output, inputs in _ops(rule))
    return loop * number_bytes, loop_bytes(rule, number_bytes)[1]


def _fused_temporaries(rule, number_bytes):
    read = {name for _, inputs in _ops(rule) for name in inputs}
    written = {output for output, _ in _ops(rule)}
    return loop_bytes(rule, number_bytes)[0], (len(read) + len(written)) * number_bytes


def _fused_reads_only(rule, number_bytes):
    loop, fused = loop_bytes(rule, number_bytes)
    written, memory = set(), set()
    for output, inputs in _ops(rule):
        memory |= {name for name in inputs if name not in written}
        written.add(output)
    return loop, len(memory) * number_bytes


register(Exercise(
    name="loop_bytes", chapter=CHAPTER, reference=loop_bytes, make_cases=_rule_cases,
    returns=("loop_bytes", "fused_bytes"),
    task="""
The bytes per parameter a rule moves when it runs as a loop of tensor operations, one pass per
operation, against one fused pass.

`rule` is the list of the rule's element-wise operations in order, each a string
"output = inputs" of tensor names: "m = m g" is `m.lerp_(g, 1 - β₁)` (reads m and g, writes m),
"d = v" is `d = v.sqrt()`, "s = s g g" is `s.addcmul_(g, g)` (reads s and g, writes s); scalars
are not listed. `op.split("=")` separates the output from the inputs, and `.split()` the
inputs. `number_bytes`: an array of sizes of one number.

Loop: each operation reads each *distinct* tensor among its inputs once and writes its output
once, temporaries (`d`) included. Fused: each tensor in memory before the step is read once,
and written back once if the rule writes it; temporaries stay in registers. A tensor is in
memory before the step if the rule reads it before writing it (the parameter, the gradient,
the state); a name the rule writes first is a temporary. Return `(loop_bytes, fused_bytes)`,
each an array like `number_bytes` (S · b and B_min).
""",
    mistakes=(
        Mistake("the output of every operation was counted as read",
                "`d = v.sqrt()` reads v and writes d: 2 streams. Only an in-place operation, whose output "
                "is among its inputs, reads its output.", _output_read),
        Mistake("an in-place operation's tensor was counted once",
                "`m.lerp_(g, 1 - β₁)` reads m and g and writes m: 3 streams, not 2. In place saves memory, "
                "not traffic: the old m is read and the new m written.", _in_place_once),
        Mistake("a tensor that is an input twice was counted twice",
                "`s.addcmul_(g, g)` reads g once per element and uses it twice: count each distinct "
                "input once (set(inputs)).", _repeats_twice),
        Mistake("the temporaries' traffic was left out of the loop",
                "In a loop a temporary like `d = v.sqrt()` is a full tensor: it is written by one pass "
                "and read by the next. Only the fused pass keeps it in registers.", _temporaries_free),
        Mistake("the fused pass counted the temporaries too",
                "A fused kernel computes a temporary in registers and never stores it: count only the "
                "tensors in memory before the step (read once) and those of them it writes (once).",
                _fused_temporaries),
        Mistake("the fused pass counted only the reads",
                "The fused pass still writes back what the rule updates (w and each state buffer): "
                "Adam's is 4 reads + 3 writes = 7 streams.", _fused_reads_only),
    ),
))
