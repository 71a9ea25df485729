import qedm.scaling as sc
sc.MAX_EPOCHS = 1000  # small tables: about STEP_BUDGET steps too
from qedm.training import torch_threads
from qedm.suite import run_suite
with torch_threads(1):
    out = run_suite("tables", ["hybrid", "classical", "gaussian_copula", "ctgan", "tvae"], 3, "runs/suite_small_steps",
                    tables=["student_placements", "diabetes"], progress=False)
print(out.files)
