"""Every figure of the book, in one colour language, by subject: ``theme`` (the residue
and class colours, the white style, log axes), ``render`` (how a figure reaches the page),
``embeddings`` (the addition table, the demo's two panels, galleries), ``training``
(curves and animations), ``sweeps`` (class shares across settings), ``forces`` (forces,
particles and their agreement with networks). Chapters use them as ``plots.<name>``.

* One cyclic colour scale for residues mod n (:func:`residue_colors`): a loop through
  CIELAB, so neighbours on the clock have neighbouring colours, in every figure, told apart
  with red-green colour blindness too.
* The demo's two panels (:func:`model_view`): embeddings on the left; on the right the sum
  vectors ``E_a + E_b`` coloured by their answer, over the plane coloured by the class the
  network predicts at each point.
* Dynamics as plotly animations (:func:`training_animation`): frames, a play button and a
  slider, which work on the static site with no kernel.

Figures have a white background so they stay readable in the site's dark mode.
:func:`use_book_renderer` makes the book's renderer (:class:`BookRenderer`) plotly's default:
beside plotly's JSON it emits an HTML ``<div>`` that uses the site's one local copy of
plotly.js. The book build calls it in every chapter's kernel (an IPython startup file that
scripts/book.sh installs). Elsewhere importing this module changes one thing only: in a
Jupyter kernel, plotly's own default (``plotly_mimetype+notebook``), which since plotly 6
embeds all of plotly.js (4.6 MB) in every figure's output, becomes :class:`NotebookRenderer`
(``"modadd_notebook"``): each figure a ``<div>`` and its data, drawn with the page's
plotly.js, which the first figure on a page loads once from plotly's CDN. An executed
chapter stays small enough to hand in (chapter 2: under 2 MB, not 26 MB). Every other
renderer (set by the reader, ``PLOTLY_RENDERER``, Colab's) is left alone.
"""
from .embeddings import addition_table, decision_grid, embedding_gallery, model_view
from .forces import (BASELINE_COLOR, FAMILY_COLORS, FIT_COLOR, START_SYMBOLS, agreement_figure,
                     coefficient_figure, explained_curves, force_arrows, force_law_figure,
                     forces_alone_figure, hinge_switching_figure, score_race_figure)
from .render import OFFLINE_MESSAGE, BookRenderer, NotebookRenderer, use_book_renderer
from .sweeps import (beside, class_fraction_figure, metric_by_class_figure, predicted_vs_measured,
                     relative_bias_figure, rho_outcome_figure, setting_curves_figure)
from .theme import (CLASS_COLORS, CONFIG, FONT, RESIDUE_LOOP, log_ticks, residue_colors,
                    residue_colorscale, residue_rgb, themed)
from .training import FRAME_MS, curves, embedding_animation, frame_indices, training_animation

__all__ = ["BASELINE_COLOR", "BookRenderer", "CLASS_COLORS", "CONFIG", "FAMILY_COLORS", "FIT_COLOR", "FONT",
           "FRAME_MS", "NotebookRenderer", "OFFLINE_MESSAGE", "RESIDUE_LOOP", "START_SYMBOLS", "addition_table",
           "agreement_figure", "beside", "class_fraction_figure", "coefficient_figure", "curves", "decision_grid",
           "embedding_animation", "embedding_gallery", "explained_curves", "force_arrows", "force_law_figure",
           "forces_alone_figure", "frame_indices", "hinge_switching_figure", "log_ticks", "metric_by_class_figure",
           "model_view", "predicted_vs_measured", "relative_bias_figure", "residue_colors", "residue_colorscale",
           "residue_rgb", "rho_outcome_figure", "score_race_figure", "setting_curves_figure", "themed",
           "training_animation", "use_book_renderer"]
