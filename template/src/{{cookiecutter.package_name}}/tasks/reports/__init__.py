"""How each task reads its predictions: one file per task (``classification.py``, ...), each a
``Report`` (``base.py``, the shared skeleton). A report writes the interpretation report
(eval.py's ``interpret=true``), picks the clean-data candidates (clean.py, the clean feature),
and turns one target or one raw output into what a person or a client reads (plot titles,
predict.py's CSV, serve.py's JSON). A task names its report class in ``Task.report_class``."""

from .base import Report

__all__ = ["Report"]
