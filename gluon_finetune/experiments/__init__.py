"""Experiments: the demo (the book's hotdog fine-tuning, end to end), compare, the report.

``demo`` runs the demo pipeline (its data, its source network, both runs, the
report), ``compare`` runs fine-tuning against training from scratch, ``report``
writes the HTML page.

May import: ``training``, ``inference`` and everything below them. Not ``cli``.
"""
