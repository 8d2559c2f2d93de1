"""The machines exo-spec generates for its own specs (``exo-spec generate``; do not edit them).

``runner_machine`` is generated from ``spec/runner.yaml``: the runner's lifecycle, on the
shared base :mod:`exo_spec.machine`.
"""
