#!/usr/bin/env python3
"""Check an onestop audit export without onestop: the Python standard library and one Ed25519
package (pycryptodome). Every byte it checks is specified in docs/audit-chain.md.

    python3 verify_export.py EXPORT.jsonl --public-key signing-key.pub.pem

For each change, it hashes the message the change carries, links it to the chain hash the
signed checkpoints give for the position before, and requires the result to be the chain hash
they give for its own position. Exit 0: every change proven, or not covered by a checkpoint
yet (counted); 1: a change or a checkpoint that does not check (each named); 2: the export or
the key cannot be read.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys

from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

GENESIS = bytes(32)


def canonical(subject_tail: str, headers: dict[str, str], body: bytes) -> bytes:
    parts = [subject_tail.encode()]
    names = sorted(headers)
    parts.append(len(names).to_bytes(4, "big"))
    for name in names:
        parts += [name.encode(), headers[name].encode()]
    parts.append(body)
    return b"".join(len(part).to_bytes(8, "big") + part for part in parts)


def link(previous: bytes, position: int, message_digest: bytes) -> bytes:
    return hashlib.sha256(previous + position.to_bytes(8, "big") + message_digest).digest()


def signed_bytes(checkpoint: dict) -> bytes:
    fields = {name: value for name, value in checkpoint.items() if name != "signature"}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def signature_valid(public_key, checkpoint: dict) -> bool:
    try:
        eddsa.new(public_key, "rfc8032").verify(signed_bytes(checkpoint),
                                                bytes.fromhex(checkpoint["signature"]))
    except (ValueError, KeyError):
        return False
    return True


def check(lines: list[dict], public_key) -> tuple[list[str], dict[str, int]]:
    problems: list[str] = []
    hashes: dict[int, bytes] = {0: GENESIS}  # position -> chain hash, from valid checkpoints
    for line in lines:
        if line.get("kind") != "checkpoint":
            continue
        checkpoint = line["checkpoint"]
        if not signature_valid(public_key, checkpoint):
            problems.append(f"checkpoint at position {line['position']}: bad signature")
            continue
        for offset, value in enumerate(checkpoint["hashes"]):
            hashes[checkpoint["first"] + offset] = bytes.fromhex(value)
    counts = {"proven": 0, "not covered yet": 0, "outside the chain": 0}
    for line in lines:
        kind = line.get("kind")
        if kind == "checkpoint":
            continue
        if kind != "change" or "message" not in line:
            counts["outside the chain"] += 1  # the audit trail: refusals, reads, feeds
            continue
        position, message = line["position"], line["message"]
        if position not in hashes or position - 1 not in hashes:
            counts["not covered yet"] += 1
            continue
        digest = hashlib.sha256(canonical(message["subject"], message["headers"],
                                          base64.b64decode(message["body"]))).digest()
        if link(hashes[position - 1], position, digest) != hashes[position]:
            problems.append(f"change at position {position}: its message is not the one "
                            "signed for that position")
        elif str(line.get("version")) != message["headers"].get("Onestop-Version", "?"):
            problems.append(f"change at position {position}: says version {line.get('version')}"
                            f", its message {message['headers'].get('Onestop-Version')}")
        else:
            counts["proven"] += 1
    return problems, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", help="the JSON Lines of `onestop audit export`")
    parser.add_argument("--public-key", required=True, help="the service's public key (PEM)")
    args = parser.parse_args(argv)
    try:
        with open(args.export, encoding="utf-8") as file:
            lines = [json.loads(text) for text in file if text.strip()]
        with open(args.public_key, encoding="utf-8") as file:
            public_key = ECC.import_key(file.read())
    except (OSError, ValueError) as error:
        print(f"verify_export: cannot read its input ({error})", file=sys.stderr)
        return 2
    problems, counts = check(lines, public_key)
    for problem in problems:
        print(problem)
    print(", ".join(f"{count} {what}" for what, count in counts.items()))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
