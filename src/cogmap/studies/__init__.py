"""The studies of trained controllers: what happens inside them while they learn and while they walk.

- :mod:`cogmap.studies.learning_dynamics`: fixed points, Jacobian spectra, integration
  timescales and policy landscapes over a run's checkpoints (Huang, Singh & Rajan's pendulum);
- :mod:`cogmap.studies.walking`: gait cycles, trajectory tangling per layer, speed axes and the
  push of a commanded walker (Rush, Jayaram & Humbert; Russo et al. 2018).

Each study takes trained objects (from :func:`cogmap.load`) and returns frozen dataclasses with
``to_json()``; their figures are in :mod:`cogmap.viz.control`.
"""
