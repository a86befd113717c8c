"""Benchmarks, run by `onestop bench <what>`: each prints its figures beside a reference
measured in the same run on the same machine (raw JetStream, the library's PostgreSQL
recorder, a no-op request/reply), never against a number written down elsewhere.

- event_store.py   `bench store`: saves and aggregate loads, beside raw publishes and the
                   PostgreSQL recorder
- command_path.py  `bench bus`: commands end to end over NATS, beside raw JetStream publishes
- view_queries.py  `bench views`: rebuilding the views and query latency, beside raw reads
- chain_verify.py  `bench audit`: verifying the hash chain, beside raw reads

Nothing the service runs imports this package; only the command line does.
"""
