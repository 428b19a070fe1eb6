"""Every study of cogmap, in one shape (:mod:`cogmap.studies.base`): a config dataclass in, ``run(config)``
out, a :class:`~cogmap.studies.base.Result` that saves itself, draws its figures and summarises itself.

Path integrators (the reference setup of :mod:`cogmap.pathint`):

- :mod:`~cogmap.studies.path_integration`: evaluation next to chance, stay-still and the
  decoding floor (``cogmap evaluate``), and the trivial predictors alone (``cogmap baseline``);
- :mod:`~cogmap.studies.hidden_states`: PCA, t-SNE, tuning, probes, harmonics, symmetry,
  topology and grid cells of the hidden states (``cogmap analyze``);
- :mod:`~cogmap.studies.place_cells`: how many cells a kernel keeps active (``cogmap cells``).

Tree World: :mod:`~cogmap.studies.treeworld` (``cogmap treeworld run``, ``survival``, ``localize``).

Trained controllers:

- :mod:`~cogmap.studies.policy_evaluation`: returns over many episodes (``cogmap control evaluate``);
- :mod:`~cogmap.studies.learning_dynamics`: fixed points, Jacobian spectra, integration
  timescales and policy landscapes over a run's checkpoints (Huang, Singh & Rajan's pendulum;
  ``cogmap control analyze``);
- :mod:`~cogmap.studies.walking`: gait cycles, trajectory tangling per layer, speed axes and the
  push of a commanded walker (Rush, Jayaram & Humbert; Russo et al. 2018; ``cogmap control tangling``).

World models: :mod:`~cogmap.studies.world_models` (``cogmap equivariance evaluate``,
``ambiguity``, ``samples``).
"""
