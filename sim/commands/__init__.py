"""One module per ``heping-sd`` subcommand: ``add_arguments(parser)`` and ``main(args) -> int``."""
