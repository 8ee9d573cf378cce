"""Evaluation suite: run YAML cases through the app's Advisor, score them, report, and gate CI.

``advisor eval`` and the admin Evaluation tab both call ``suite.run_suite``: it loads cases
(schema: ``cases.Case``), runs each through the same ``Advisor`` the app uses, scores them
(``checks``, ``metrics``), gates the run on ``evals/baseline.json`` (``gate``), compares it with
an earlier run (``compare``) and writes report.json/.md/.html (``report``, ``render_markdown``,
``render_html``, ``charts``). The gate fails when a metric is worse than the baseline by more
than its tolerance, or when any case expected at ``prohibited`` is answered below ``escalate``.
The baseline keeps each case's outcome by id, so a run on part of the suite (one case file,
a tag) is gated on the baseline's metrics over the same cases. Level accuracy, under- and
over-escalation and the confusion matrix share one classification (``outcome``). Check and
metric functions are pure so they can be unit-tested on hand-made answers.

Callers import from the modules; the package re-exports only the entry point, the report
model and the default paths.
"""

from advisor.evaluation.gate import DEFAULT_BASELINE
from advisor.evaluation.report import EvalReport, load_report
from advisor.evaluation.suite import DEFAULT_REPORTS, run_suite

__all__ = ["DEFAULT_BASELINE", "DEFAULT_REPORTS", "EvalReport", "load_report", "run_suite"]
