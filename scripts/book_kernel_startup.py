"""IPython startup file of the book build's kernels: scripts/book.sh copies it into the
IPYTHONDIR it sets, so every chapter's figures use the site's one local plotly.js."""
from modadd.plots import use_book_renderer

use_book_renderer()
