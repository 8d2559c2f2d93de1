"""The inference engine: MLX (mlx, mlx-lm), model downloads (huggingface_hub), the local hub.

Importing this package must stay cheap: only ``exo_spec.engine.mlx_engine`` imports mlx.
"""
