"""Reusing recordings: re-run a deterministic sandbox recording and compare (``cinema verify``),
and turn one into a regression test (``cinema gen-test``).

Qt-free. ``rerun`` reads how to re-run a recording from its header, ``divergence`` finds the
first event at which two recordings part, ``verify`` puts the two together.
"""

from cinema.reuse.divergence import Divergence, first_divergence
from cinema.reuse.rerun import RerunError, RerunPlan, plan_rerun, rerun
from cinema.reuse.verify import Verification, divergence_report, verify_recording

__all__ = [
    "Divergence",
    "RerunError",
    "RerunPlan",
    "Verification",
    "divergence_report",
    "first_divergence",
    "plan_rerun",
    "rerun",
    "verify_recording",
]
