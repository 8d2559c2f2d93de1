"""The semantic rules, one module per group; importing this package registers them all."""

from exo_spec.check.rules import cells, contract, reach, refs, states

__all__ = ["cells", "contract", "reach", "refs", "states"]
