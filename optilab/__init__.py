"""optilab: an interactive optimisation course-lab.

Importing ``optilab`` is cheap: the parts (``optilab.autograd``, ...) load when imported.
"""

__version__ = "0.1.0"
