"""onestop on NATS, in three packages by role: the published contract (`contract/`), the
running service that speaks it (`service/`), and the command line that runs and operates the
service (`cli/`). Each imports only those before it in that list; nothing else imports `bus`."""
