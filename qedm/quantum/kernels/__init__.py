"""Layer kernels of the statevector backend: autograd Functions with hand-written backwards, one module per job.

- `kron_layers.apply_kron_layers`: Rot layers as (phase, real RY kron per wire group, CNOT row
  gather) on a basis-first state [2**n, C], one GEMM per group (tables in `KronPlan`).
- `fused_layers.apply_fused_layers`: small registers, all layers fused into one 2**n x 2**n
  unitary (tables in `FusedPlan`).
- `reupload_layers.apply_reupload_kernel`: the reupload encoding, its per-row RY(x) folded into
  the layered kernel's steps as a real rotation (tables in `KronPlan`).
- `compiled_layers.apply_compiled_layers`: the angle / reupload circuit's expectations of a small
  register on the CPU, all layers forward and backward each in one numba call (no per-call overhead).
- `tables`: what they share (wire-group GEMMs, RY krons, bit-flip tables, the scratch `Workspace`).
All are checked against the reference backend (`simulator.run_ops`) and PennyLane in the tests.
"""

from qedm.quantum.kernels.fused_layers import FusedPlan, apply_fused_layers
from qedm.quantum.kernels.kron_layers import LAYER_GROUP, HeadPlan, KronPlan, apply_kron_layers
from qedm.quantum.kernels.reupload_layers import apply_reupload_kernel
from qedm.quantum.kernels.tables import Workspace

__all__ = ["LAYER_GROUP", "FusedPlan", "HeadPlan", "KronPlan", "Workspace", "apply_fused_layers", "apply_kron_layers",
           "apply_reupload_kernel"]
