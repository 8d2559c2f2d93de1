"""One module per ``exo-spec`` subcommand: ``add_arguments(parser)`` and ``run(args) -> int``."""

__all__: list[str] = []
