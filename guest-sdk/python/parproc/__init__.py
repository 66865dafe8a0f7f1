"""`import parproc as pp` in a job script built with the parproc-host Python SDK: this is
`parproc_guest` under parproc's own name, so existing scripts keep their import."""

from parproc_guest import *  # noqa: F401,F403
from parproc_guest import __all__  # noqa: F401
