import os

import torch
from hypothesis import settings

# Property tests run a fixed, modest number of examples so that the suite stays fast and
# deterministic on CI.
settings.register_profile("cogmap", max_examples=60, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "cogmap"))
torch.set_num_threads(min(2, torch.get_num_threads()))
