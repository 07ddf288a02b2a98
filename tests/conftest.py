import os

# Deterministic, quiet, single-threaded tests on the 2-core CI machine.
os.environ.setdefault("LP_NUM_THREADS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
