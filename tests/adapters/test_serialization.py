import pytest

from adapters.serialization import OrjsonTranscoder


def test_json_values_round_trip_as_plain_json():
    transcoder = OrjsonTranscoder()
    value = {"yuan": "38810000.00", "stages": ["raw_materials"], "rating": 2, "ok": None}
    encoded = transcoder.encode(value)
    assert encoded == b'{"yuan":"38810000.00","stages":["raw_materials"],"rating":2,"ok":null}'
    assert transcoder.decode(encoded) == value


def test_a_value_that_is_not_json_is_refused_with_a_hint():
    with pytest.raises(TypeError, match="pydantic mapper"):
        OrjsonTranscoder().encode({"when": object()})
