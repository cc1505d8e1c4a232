"""The redactor on encoded payloads: rules, markers, the report, the prefilter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinema.model.errors import ModelError
from cinema.model.export.redact import Redactor, Rules, length_class
from recorder.payload import Opaque, Pid, Record, decode_payload, encode_payload


@dataclass
class Login:
    user: str
    apiKey: str
    pin: int


def _redact(value: Any, *specs: str, roots: tuple[str, ...] = ("data",)) -> tuple[Any, Redactor]:
    r = Redactor(Rules.parse(specs))
    raw = encode_payload(value)
    out = r.payload(raw, [roots], "send", 7)
    return decode_payload(out), r


def test_key_names_match_case_and_separators_loosely() -> None:
    value = {"Password": "pw-1", "x-api-key": "k-22", "db_API_KEY": "k-333", "tokens": "t",
             "user": "ann", "Authorization": "Bearer x"}  # fmt: skip
    out, r = _redact(value)
    assert out["user"] == "ann"
    for key in ("Password", "x-api-key", "db_API_KEY", "tokens", "Authorization"):
        assert out[key].startswith("[redacted str "), key
    assert r.report.by_rule()["key:api_key"] == 2


def test_markers_keep_type_and_length_class() -> None:
    value = {"secret": "x" * 20, "token": b"\x00" * 70, "password": 1234, "api_key": [1, 2, 3],
             "authorization": Login("ann", "k", 1)}  # fmt: skip
    out, _ = _redact(value)
    assert out["secret"] == "[redacted str 16-31]"
    assert out["token"] == b"[redacted bytes 64-255]"
    assert out["password"] == Opaque("int", "[redacted int]")
    assert out["api_key"] == Opaque("list", "[redacted list 1-7]")
    assert out["authorization"].type_name.endswith("Login")


def test_record_fields_and_nested_places() -> None:
    out, r = _redact(("login", Login("ann", "AKIA-1", 42), {"creds": {"token": "t-1"}}))
    assert out[1].fields[1] == ("apiKey", "[redacted str 1-7]")
    assert out[1].fields[2] == ("pin", 42)
    assert out[2]["creds"]["token"] == "[redacted str 1-7]"
    places = {(p["rule"], p["path"]) for p in r.report.to_json()["places"]}
    assert ("key:api_key", "data.*.apiKey") in places


def test_field_paths_from_their_roots() -> None:
    cards = [{"number": "1"}, {"number": "2"}]
    state = {"card": {"number": "4111", "holder": "ann"}, "cards": cards}
    out, _ = _redact({"trigger": "call", "state": state}, "none", "path:state.card.number",
                     "path:state.cards.*.number")  # fmt: skip
    assert out["state"]["card"] == {"number": "[redacted str 1-7]", "holder": "ann"}
    assert [c["number"] for c in out["state"]["cards"]] == ["[redacted str 1-7]"] * 2
    # the same rule on a keyframe state (root "state")
    out, _ = _redact(state, "none", "path:state.card.number", roots=("state",))
    assert out["card"]["number"].startswith("[redacted")
    # a message path does not touch a state
    out, r = _redact(state, "none", "path:message.card.number", roots=("state",))
    assert out == state and r.report.total == 0


def _ext(code: int, inner: Any) -> msgpack.ExtType:
    return msgpack.ExtType(code, msgpack.packb(inner, use_bin_type=True))


def test_regex_cuts_matches_inside_every_string() -> None:
    value = {"text": "pay 4111111111111111 now", "k 4111111111111111": 1,
             "why": _ext(8, ["socket", "<socket 4111111111111111>"]),
             "big": _ext(10, str(4111111111111111 * 10**30)),
             "cut": _ext(9, ["str", 9000, "head 4111111111111111"]), "who": _ext(6, 3)}  # fmt: skip
    r = Redactor(Rules.parse(["none", r"re:\d{16}"]))
    out = decode_payload(r.payload(msgpack.packb(value, use_bin_type=True), [("data",)], "send"))
    assert out["text"] == "pay [redacted str 16-31] now"
    assert "k [redacted str 16-31]" in out
    assert out["why"].text == "<socket [redacted str 16-31]>"
    assert isinstance(out["big"], Opaque) and "4111111111111111" not in out["big"].text
    assert out["cut"].preview == "head [redacted str 16-31]"
    assert out["who"] == Pid(3)
    assert r.report.total == 6  # the big integer holds two runs of 16 digits


def test_untouched_payloads_keep_their_bytes() -> None:
    raw = encode_payload({"user": "ann", "history": [("deposit", 10)], "at": (Pid(1), 2.5)})
    r = Redactor(Rules.parse(["re:nomatch"]))
    r2 = Redactor(Rules.parse(["none"]))
    assert r.payload(raw, [("data",)], "state") is raw
    assert not r2.active and r2.payload(raw, [("data",)], "state") is raw


def test_an_unreadable_payload_that_a_rule_might_touch_is_replaced_whole() -> None:
    r = Redactor(Rules())
    bad = b"\xc1password"  # 0xc1 is never used in msgpack
    out = r.payload(bad, [("data",)], "send", 3)
    assert b"password" not in out
    assert isinstance(decode_payload(out), Opaque)


@pytest.mark.parametrize(
    "spec",
    ["path:nowhere.x", "path:state", "re:(", "key:", "re:", "glob:*", "regex:\\d+", "card*",
     "key:pin,card?"],
)  # fmt: skip
def test_bad_rules_are_user_errors(spec: str) -> None:
    with pytest.raises(ModelError):
        Rules.parse([spec])


def test_a_rule_of_no_known_kind_is_refused_not_taken_for_a_key() -> None:
    """``glob:*`` read as the key name "glob:*" would redact nothing and say nothing."""
    with pytest.raises(ModelError, match=r"unknown kind 'glob'.*key:NAME.*re:REGEX"):
        Rules.parse(["glob:*"])
    with pytest.raises(ModelError, match=r"not a pattern.*key:card also matches card_id"):
        Rules.parse(["card*"])
    # what the rules do take stays as it was: a colon inside a key:, a regex, a path wildcard
    rules = Rules.parse(["key:x-api:key", "/a:b/", "path:state.*.number", "data.v2"])
    assert "x-api:key" in rules.keys and rules.patterns == ("a:b",)
    assert ("state", "*", "number") in rules.paths and ("data", "v2") in rules.paths


def test_length_classes() -> None:
    assert [length_class(n) for n in (0, 1, 7, 8, 15, 16, 63, 64, 255, 256)] == [
        "0", "1-7", "1-7", "8-15", "8-15", "16-31", "32-63", "64-255", "64-255", "256+",
    ]  # fmt: skip


#: Map keys: plain ones, ones the default rules match (one spelled with the KELVIN SIGN, two
#: overlapping), parts of a rule.
_KEYS = ["a", "password", "note", "Api-Key", "x", "TO\u212aEN", "api", "key", "secretoken", "s"]
_values = st.recursive(
    st.none() | st.integers() | st.text(max_size=12) | st.binary(max_size=8) | st.booleans(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(_KEYS),
            inner,
            max_size=4,
        )
        | st.tuples(inner, inner)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(_values, min_size=1, max_size=6))
def test_the_prefilter_never_misses_a_payload_a_rule_touches(values: list[Any]) -> None:
    r = Redactor(Rules.parse([r"re:[0-9]{2}"]))
    raws = [encode_payload(v) for v in values]
    offsets = np.cumsum([0, *map(len, raws)]).astype(np.int64)
    candidates = set(r.candidates(b"".join(raws), offsets).tolist())
    for i, raw in enumerate(raws):
        if r.payload(raw, [("data",)], "send") != raw:
            assert i in candidates


def test_a_key_that_lower_cases_to_a_rule_is_a_candidate_and_cut() -> None:
    """str.lower makes the KELVIN SIGN a "k" and U+0130 an "i": the key rule matches such a
    name, so the prefilter over the encoded bytes must not pass the payload by."""
    r = Redactor(Rules.parse(["key:ki"]))  # and the default keys (token)
    raws = [encode_payload({"user": "ann"}), encode_payload({"TO\u212aEN": "s3cret-1"}),
            encode_payload({"K\u0130N": "s3cret-2"})]  # fmt: skip
    offsets = np.cumsum([0, *map(len, raws)]).astype(np.int64)
    assert r.candidates(b"".join(raws), offsets).tolist() == [1, 2]
    for raw in raws[1:]:
        assert b"s3cret" not in r.payload(raw, [("data",)], "send")


def test_a_record_keeps_its_type_name_when_a_field_is_cut() -> None:
    out, _ = _redact(Login("ann", "k", 1))
    assert isinstance(out, Record) and out.type_name.endswith("Login")
