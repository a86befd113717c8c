"""One module per `onestop` subcommand, each with HELP, add_arguments(parser) and run(args)."""
