"""Kernels that the build starts talk over an encrypted channel.

ipykernel 7.4 logs `[IPKernelApp] WARNING | Kernel is running over TCP without
encryption ...` when its kernel manager starts it on plain TCP: once per executed chapter,
into a build that is otherwise free of warnings. The cause is real (code and outputs cross
a loopback socket in plain text), so we remove the cause instead of filtering the log:
kernel managers in this process provision CurveZMQ keys (`transport_encryption = "auto"`,
jupyter_client 8.10), which the kernelspec `python3` of ipykernel declares it supports
(`metadata.supported_encryption: ["curve"]`).

Why here: Jupyter Book 1 executes chapters through myst-nb's cache mode, which calls
jupyter-cache's `single_nb_execution`, which calls nbclient with no kernel-manager options
and no traitlets config; `_config.yml` has no key that reaches the kernel manager. Sphinx
runs in the `jupyter-book build` process, so this extension sets the manager's default
there. (IPC instead of TCP was tried: nbclient's manager has no connection file before the
launch, so its IPC sockets get the relative name `kernel-ipc-1..5`, which the manager
and a kernel started in the chapter's folder resolve to different files: the kernel never
answers.) `tests/test_book.py` starts its kernels with the same setting, and its build test
fails on the warning.
"""
from __future__ import annotations

import zmq
from jupyter_client.manager import KernelManager


def setup(app):
    if zmq.has("curve"):  # without libsodium, "auto" is refused; the kernel stays on TCP
        KernelManager.transport_encryption.default_value = "auto"
    return {"parallel_read_safe": True, "parallel_write_safe": True}
