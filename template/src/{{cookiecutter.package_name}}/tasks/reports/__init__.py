"""How each task reads its predictions: one ``Report`` per task, on the skeleton in ``base.py``."""
