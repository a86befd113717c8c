"""NATS_URL as a list of servers, the user and password written once and given to every one."""

from __future__ import annotations

import pytest

from adapters.nats_address import AddressError, NatsAddress, connect_options, redacted


def test_a_list_of_servers_takes_its_password_out_of_the_urls():
    address = NatsAddress.parse("nats://jxw:s%40cret@10.0.0.1:4222, nats://10.0.0.2,"
                                "tls://node3.example:4333")
    assert address.servers == ("nats://10.0.0.1:4222", "nats://10.0.0.2:4222",
                               "tls://node3.example:4333")
    assert (address.user, address.password) == ("jxw", "s@cret")
    # Given to nats-py as options: they hold for the servers the cluster tells it about too.
    assert connect_options("nats://jxw:pw@a:1,nats://b:2") == {
        "servers": ["nats://a:1", "nats://b:2"], "user": "jxw", "password": "pw"}


def test_one_server_without_a_user_is_itself():
    assert connect_options("nats://127.0.0.1:4244") == {"servers": ["nats://127.0.0.1:4244"]}
    assert connect_options("127.0.0.1:4244") == {"servers": ["nats://127.0.0.1:4244"]}
    assert connect_options("nats://sometoken@h:1") == {"servers": ["nats://h:1"],
                                                       "token": "sometoken"}


def test_the_same_user_may_be_written_on_each_server_but_not_two_users():
    same = NatsAddress.parse("nats://a:pw@h1:1,nats://a:pw@h2:2")
    assert (same.user, same.password) == ("a", "pw")
    with pytest.raises(AddressError, match="different users"):
        NatsAddress.parse("nats://a:pw@h1:1,nats://b:pw@h2:2")


@pytest.mark.parametrize("text, says", [
    ("nats://h:1,,nats://h:2", "empty entry"),
    ("nats://h:1,", "empty entry"),
    ("http://h:1", "must start with one of"),
    ("nats://h:99999", "port"),
    ("nats://h:port", "port"),
    ("nats://:4222", "names no host"),
    ("nats://h:1/path", "nothing after the port"),
])
def test_what_cannot_be_a_nats_url_is_refused_saying_why(text, says):
    with pytest.raises(AddressError, match=says):
        NatsAddress.parse(text)


def test_printed_the_password_never_shows():
    text = "nats://jxw:secret@h1:1,nats://h2:2"
    assert redacted(text) == "nats://jxw:***@h1:1,nats://jxw:***@h2:2"
    assert "secret" not in redacted("nats://jxw:secret@h1:1,,")
    # Back as text, with the user and password on each server (for one-URL clients).
    address = NatsAddress.parse(text)
    assert NatsAddress.parse(address.text()) == address
    assert address.as_user("kjj", "p w").text() == "nats://kjj:p%20w@h1:1,nats://kjj:p%20w@h2:2"
