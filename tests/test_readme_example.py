"""The README's "connect a department system" example runs as printed, against the service."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from adapters.nats_address import NatsAddress
from tests.bus.service.test_bus_secured import running  # noqa: F401  (the fixture)

README = Path(__file__).parent.parent / "README.md"


def example() -> str:
    text = README.read_text()
    marker = text.index("<!-- example: connect-a-department -->")
    return re.search(r"```python\n(.*?)```", text[marker:], re.S).group(1)


def test_the_readme_example_sends_a_command_and_reads_the_feed(running, tmp_path):  # noqa: F811
    address = NatsAddress.parse(running.url("jxw"))
    (tmp_path / "jxw.json").write_text(json.dumps({
        "servers": list(address.servers), "user": address.user, "password": address.password,
        "inbox_prefix": "_INBOX.jxw",
        "feed": {"stream": "FEED_JXW", "subjects": "onestop.feed.jxw.>"},
    }))
    (tmp_path / "example.py").write_text(example())

    result = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert "'ok': True" in result.stdout.splitlines()[0]
