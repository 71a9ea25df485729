"""Scientific data made by qedm's own simulators: TFIM ground-state snapshots and their physics checks."""

from qedm.science.physics import nearest_field_baseline, physics_report
from qedm.science.snapshots import sample_snapshots, tfim_dataset
from qedm.science.tfim import GroundState, TFIMChain, free_fermion_energy, ground_state, hamiltonian

__all__ = ["GroundState", "TFIMChain", "free_fermion_energy", "ground_state", "hamiltonian",
           "nearest_field_baseline", "physics_report", "sample_snapshots", "tfim_dataset"]
