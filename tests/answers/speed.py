"""Answers for the exercises of chapter `speed`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np


def _step_bytes(optimizer, amsgrad, number_bytes):
    state = {"sgd": [], "momentum": ["buf"], "nesterov": ["buf"], "adagrad": ["sum"], "rmsprop": ["square_avg"],
             "lion": ["exp_avg"], "adam": ["m", "v"], "adamw": ["m", "v"], "nadam": ["m", "v"]}[optimizer]
    if amsgrad:
        state = state + ["v_max"]
    moved = ["read p", "read g", "write p"] + [f"{rw} {s}" for s in state for rw in ("read", "write")]
    return len(moved) * number_bytes


SOLUTIONS = {
    "step_bytes": _step_bytes,
}

# worked out by hand: fp32 Adam reads p, g, m, v and writes p, m, v: 7 x 4 = 28; with AMSGrad 9 x 4 = 36;
# plain SGD reads p, g and writes p: 3 x 4 = 12; bf16 Lion: (p, g, m read; p, m written) 5 x 2 = 10
HAND_COMPUTED = {
    "step_bytes": [
        (("adam", False, np.array([4.0])), (np.array([28.0]),)),
        (("adam", True, np.array([4.0])), (np.array([36.0]),)),
        (("sgd", False, np.array([4.0])), (np.array([12.0]),)),
        (("lion", False, np.array([2.0])), (np.array([10.0]),)),
    ],
}


def _step_time_bound(n_params, bytes_per_param, bandwidth_GBps, step_ms):
    seconds = np.asarray(n_params, dtype=float) * bytes_per_param / bandwidth_GBps / 1e9
    bound_ms = seconds * 1000.0
    return bound_ms, np.asarray(bound_ms) / np.asarray(step_ms)


def _loop_bytes(rule, number_bytes):
    streams, temporaries, seen = 0, set(), set()
    for op in rule:
        output, _, right = op.partition("=")
        output, inputs = output.strip(), right.split()
        streams += len(dict.fromkeys(inputs)) + 1
        seen.update(inputs)
        if output not in seen:
            temporaries.add(output)
        seen.add(output)
    in_memory = seen - temporaries
    updated = {op.partition("=")[0].strip() for op in rule} - temporaries
    return streams * number_bytes, (len(in_memory) + len(updated)) * number_bytes


SOLUTIONS.update({
    "step_time_bound": _step_time_bound,
    "loop_bytes": _loop_bytes,
})

_ADAM_LOOP = ["m = m g", "v = v", "v = v g g", "d = v", "d = d", "d = d", "w = w m d"]
HAND_COMPUTED.update({
    # 4.2M fp32 Adam parameters move 4.2e6 x 28 = 117.6 MB; at 15 GB/s that is 7.84 ms; a 9.8 ms step reaches 0.8
    "step_time_bound": [
        ((np.array([4.2e6]), 28.0, 15.0, np.array([9.8])), (np.array([7.84]), np.array([0.8]))),
        # 1e9 x 12 bytes at 100 GB/s: 120 ms; a 60 ms step is "twice as fast as the bound"
        ((np.array([1e9]), 12.0, 100.0, np.array([60.0])), (np.array([120.0]), np.array([2.0]))),
    ],
    # torch's Adam loop: m.lerp_(g) 3, v.mul_ 2, v.addcmul_(g, g) 3, d = v.sqrt() 2, d.div_ 2, d.add_ 2,
    # w.addcdiv_(m, d) 4: 18 streams, 72 bytes in fp32; fused: read w, g, m, v, write w, m, v: 7, 28 bytes
    "loop_bytes": [
        ((_ADAM_LOOP, np.array([4.0])), (np.array([72.0]), np.array([28.0]))),
        # Lion: c = lerp(m, g) 3, u = sign(c) 2, w -= lr u 3, m.lerp_(g) 3: 11 streams; fused: 3 reads + 2 writes
        ((["c = m g", "u = c", "w = w u", "m = m g"], np.array([2.0])),
         (np.array([22.0]), np.array([10.0]))),
    ],
})
