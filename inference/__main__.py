"""`python -m inference COMMAND ...` (inference.cli)."""

import os
import sys

from .cli import main

code = main()
# Finalising an interpreter that has loaded torch takes ~0.3 s (libtorch's teardown; its atexit handlers take
# 0.006 s of it): 15% of a `fit` run (bench/RESULTS.md). By now every output is written and verified and every
# child process reaped, so once the exit handlers have run and the streams are flushed the process ends at once.
_run_exit_handlers = getattr(__import__("atexit"), "_run_exitfuncs", None)
if "torch" in sys.modules and _run_exit_handlers is not None:
    _run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: what the normal exit would also have lost
            pass
    os._exit(code)
raise SystemExit(code)
