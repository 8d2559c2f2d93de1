"""The inference engine: MLX (mlx, mlx-lm), model downloads (huggingface_hub), the local hub.

Importing this package must stay cheap: only ``exo_spec.engine.mlx_engine`` imports mlx.
"""

# Submodules are the API (``exo_spec.engine.mlx_engine``, ``.download``, ``.weights``,
# ``.hubserver``); nothing is re-exported here, so importing the package loads none of them.
__all__: list[str] = []
