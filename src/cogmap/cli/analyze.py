"""``cogmap analyze``: what the hidden states of a trained path integrator encode."""

from __future__ import annotations

import argparse
from pathlib import Path

from cogmap.cli.common import add_study_arguments, run_study, source_label
from cogmap.studies import hidden_states
from cogmap.studies.hidden_states import HiddenStatesConfig

HELP = "PCA, t-SNE, tuning curves and a linear probe of a trained model's hidden states"
DESCRIPTION = """\
Run a checkpoint on fresh validation trajectories (trajectories=200, its own data settings),
then: PCA of the hidden states (spectrum, cumulative variance, components for 95%,
participation ratio); 2-D PCA and t-SNE scatters coloured by the true state (each joint's
rotation angle and axis on SO(3), its angles on tori, its position in a box); single-trajectory
paths; tuning curves of the most selective units; and the held-out R^2 of a linear probe of
the states (rotation matrices on SO(3)). Figures, config.yaml and summary.json go to --out
(default runs/analyze/<checkpoint name>). Settings are keys of HiddenStatesConfig
(cogmap.studies.hidden_states), given as KEY=VALUE or in --config; 0 skips an optional part.
About 15 s at the defaults on 2 CPU cores for these (t-SNE is most of it; tsne_points=0 skips
it), plus about a minute for the SO(3) analyses below or 15 s for the grid analysis.

Models on SO(3) also get the harmonic analysis (harmonics.png, summary.json's "harmonics"):
each unit's variance per degree of the Wigner harmonics up to harmonics_degree, as a function
of each joint's rotation and of both joints together (up to degree 2), the fraction of units
peaking at degree 1 (smooth, place-like) or at 2 or more (periodic), beside an untrained network
of the same shape and the place-cell code itself.

They also get the symmetry test (symmetry.png, summary.json's "symmetry"): each joint's whole
trajectory turned by a random rotation on the left (symmetry_elements of them), which leaves the
network's inputs unchanged and moves only its start; a linear map rho(g) from the states of the
original runs to those of the turned runs is fitted on 1,000 trajectories and tested on 300 others:
equivariance error, distance-invariance error and the change rho leaves unexplained, beside the
poses themselves, the place-cell code and an untrained network.

With ripser installed (pip install 'cogmap[topology]') they get the persistent homology of
their states (topology.png, summary.json's "topology"), one joint moving and the other still:
topology_trajectories states (one per trajectory) reduced to 9 principal components, their
densest 90%, topology_landmarks max-min landmarks, Rips persistence in H1-H3 with Z/2 and Z/3
coefficients; a class counts when it stands above a clear gap and outlives the longest bar of a
coordinate-shuffled copy. Beside the raw states: their tuning map (each state averaged over
the 20 nearest poses, as a rate map averages over visits), an untrained network's tuning map,
the poses (RP^3: 1, 1, 1 classes with Z/2, 0, 0, 1 with Z/3) and the place-cell code. About
2 minutes for two joints; arm_landmarks adds the whole arm (H1 only).

Models of one position in a box or one joint on the 2-torus also get the grid-cell analysis
(Banino et al. 2018): every hidden unit's rate map over grid_trajectories fresh trajectories
(bins a side, the mean activity per bin), its spatial autocorrelogram and grid scores
(60 and 90 degrees, the reference's annuli), the most grid-like units (grid_units.png), the
score histograms (grid_scores.png), and the position decoded from the predicted place cells
(mean of the 3 most active centres) against holding the start position and guessing the
arena's centre (position_error.png); summary.json's "grid" section has the numbers.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("analyze", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_study_arguments(p, HiddenStatesConfig, "runs/analyze/<checkpoint name>",
                        source=("checkpoint", "a .ckpt written by cogmap train (or in pretrained/)"))
    p.set_defaults(run=run)


def run(args) -> int:
    return run_study(args, hidden_states.run, lambda config: Path("runs/analyze") / source_label(Path(config.checkpoint)))
