"""What tells the service's own messages from any other, beneath the log and the audit alike:
the canonical form a message is hashed in and the hash chain's link (chain.py), the seal on
every message the service writes (seal.py), and the key files both rest on (keyfiles.py).

The log's writers and readers (adapters.jetstream) seal and check; the audit (adapters.audit)
chains, signs and verifies. Neither is imported from here.
"""
