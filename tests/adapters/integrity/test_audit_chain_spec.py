"""docs/audit-chain.md and its test vectors (docs/audit-chain-vectors.json) say what the code
does, byte for byte; the independent verifier (docs/verify_export.py) computes the same."""

from __future__ import annotations

import base64
import importlib.util
import json
from dataclasses import replace
from pathlib import Path

from Crypto.PublicKey import ECC

from adapters.audit.checkpoints import Checkpoint
from adapters.audit.signing import SigningKey
from adapters.integrity.chain import GENESIS, UNHASHED, canonical, digest, link

DOCS = Path(__file__).resolve().parents[3] / "docs"
VECTORS = DOCS / "audit-chain-vectors.json"
SEED = bytes(range(32))  # a key for the vectors only: never a service's
SIGNED_AT = "2026-12-05T00:00:00+00:00"
MESSAGES = [  # (subject as stored, headers as stored, body)
    ("ONESTOP.events.case-1", {"ce-type": "cn.gov.yongchuan.onestop.case.submitted.v1",
                               "Onestop-Version": "1", "Nats-Msg-Id": "a",
                               "Nats-Expected-Last-Subject-Sequence": "0"},
     '{"description":"页岩砖强度不足"}'.encode()),
    ("ONESTOP.events.case-1", {"ce-type": "cn.gov.yongchuan.onestop.case.accepted.v1",
                               "Onestop-Version": "2", "Nats-Msg-Id": "b"},
     b'{"lead":"jxw"}'),
    ("ONESTOP.tracking.onestop", {"Nats-Msg-Id": "c"}, b"3"),
]


# The list in docs/audit-chain.md, written out as an outsider would copy it.
UNHASHED_AS_DOCUMENTED = {
    "Nats-Expected-Stream", "Nats-Expected-Last-Msg-Id", "Nats-Expected-Last-Sequence",
    "Nats-Expected-Last-Subject-Sequence", "Nats-Expected-Last-Subject-Sequence-Subject",
    "Nats-Batch-Id", "Nats-Batch-Sequence", "Nats-Batch-Commit", "Nats-Stream",
    "Nats-Sequence", "Nats-Subject", "Nats-Time-Stamp", "Nats-Num-Pending",
    "Nats-Last-Sequence"}


def test_the_documented_list_is_the_codes():
    assert UNHASHED_AS_DOCUMENTED == UNHASHED


def verifier():
    spec = importlib.util.spec_from_file_location("verify_export", DOCS / "verify_export.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def computed() -> dict:
    key = SigningKey(ECC.construct(curve="Ed25519", seed=SEED))
    previous, messages, hashes = GENESIS, [], []
    for position, (subject, headers, body) in enumerate(MESSAGES, start=1):
        message_digest = digest(subject, headers, body)
        previous = link(previous, position, message_digest)
        hashes.append(previous)
        messages.append({"position": position, "subject": subject, "headers": headers,
                         "body_base64": base64.b64encode(body).decode(),
                         "canonical_hex": canonical(subject, headers, body).hex(),
                         "digest": message_digest.hex(), "chain_hash": previous.hex()})
    checkpoint = replace(Checkpoint.signed(key, "ONESTOP", 1, hashes), signed_at=SIGNED_AT)
    checkpoint = replace(checkpoint, signature=key.sign(checkpoint.signed_bytes()).hex())
    return {"public_key_pem": key.public_key.export_key(format="PEM"),
            "messages": messages,
            "checkpoint": json.loads(checkpoint.body()),
            "checkpoint_signed_bytes": checkpoint.signed_bytes().decode()}


def test_the_vectors_in_the_docs_are_what_the_code_computes():
    assert json.loads(VECTORS.read_text()) == computed(), (
        "regenerate: python -c 'from tests.adapters.integrity.test_audit_chain_spec import write; write()'")


def test_the_independent_verifier_computes_the_same_bytes():
    vectors = json.loads(VECTORS.read_text())
    independent = verifier()
    previous = independent.GENESIS
    for message in vectors["messages"]:
        tail = message["subject"].partition(".")[2]
        hashed = {name: value for name, value in message["headers"].items()
                  if name not in UNHASHED_AS_DOCUMENTED}
        body = base64.b64decode(message["body_base64"])
        assert independent.canonical(tail, hashed, body).hex() == message["canonical_hex"]
        previous = independent.link(previous, message["position"],
                                    bytes.fromhex(message["digest"]))
        assert previous.hex() == message["chain_hash"]
    key = ECC.import_key(vectors["public_key_pem"])
    assert independent.signed_bytes(vectors["checkpoint"]).decode() == \
        vectors["checkpoint_signed_bytes"]
    assert independent.signature_valid(key, vectors["checkpoint"])


def write() -> None:
    VECTORS.write_text(json.dumps(computed(), ensure_ascii=False, indent=2) + "\n")
