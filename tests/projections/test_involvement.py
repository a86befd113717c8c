from projections.involvement import Involvement


def test_routing_involves_the_lead_and_collaborators_who_see_the_history():
    case = Involvement()
    assert case.apply("case.submitted", {}).recipients == frozenset()
    routed = case.apply("case.accepted", {"lead_department": "jxw",
                                          "collaborators": ["samr", "zjw"]})
    assert routed.recipients == routed.newcomers == {"jxw", "samr", "zjw"}


def test_a_transfer_is_seen_by_the_old_lead_who_then_sees_nothing_more():
    case = Involvement()
    case.apply("case.accepted", {"lead_department": "jxw", "collaborators": ["zjw"]})
    moved = case.apply("case.transferred", {"from_department": "jxw", "to_department": "jtj"})
    assert moved.recipients == {"jxw", "jtj", "zjw"}
    assert moved.newcomers == {"jtj"}
    assert case.apply("case.appointment_scheduled", {}).recipients == {"jtj", "zjw"}
