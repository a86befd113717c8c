"""The command line, `onestop`: main.py, and one module per subcommand, each with HELP,
add_arguments(parser) and run(args) (listed in main.SUBCOMMANDS). What several of them share:
operator.py (finding the running service), progress.py (a progress line), stories.py (the demo).
"""
