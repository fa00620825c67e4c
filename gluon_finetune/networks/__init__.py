"""Networks: the zoo's, your own symbol + params export, and the sizes each needs.

Owns building the fine-tune and scratch networks and finding their head
(``model``), a symbol export cut before its classifier (``symbol_source``),
the list of zoo networks (``catalog``) and the default network and image sizes
(``sizes``).

May import: ``runs`` (a run as a source), ``data`` (downloads) and the leaves.
"""
