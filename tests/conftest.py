import os

import matplotlib

matplotlib.use("Agg")  # tests draw figures without a screen
os.environ.setdefault("MPLBACKEND", "Agg")

