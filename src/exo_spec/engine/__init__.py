"""The inference engine: MLX (mlx, mlx-lm) and model downloads (huggingface_hub).

Importing this package must stay cheap: only ``exo_spec.engine.mlx_engine`` (and ``.group``,
which it imports) import mlx.
"""

# Submodules are the API (``exo_spec.engine.mlx_engine`` with ``.group`` and ``.errors``;
# ``.download`` with its errors in ``.download_errors``, its bounded HTTP in ``.hub_http`` and
# its byte path (wide reads, hashing while writing) in ``.hub_io``;
# ``.weights``); nothing is re-exported here, so importing the package loads none of them. The
# local hub server for tests and demos is ``exo_spec.testing.hub``.
__all__: list[str] = []
