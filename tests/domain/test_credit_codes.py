import pytest

from domain.credit_code import problem_with

REAL_CODES = [
    "9144030071526726XG",  # Shenzhen Tencent Computer Systems
    "91330100799655058B",  # Alibaba (China)
    "914403001922038216",  # Huawei Technologies
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_accepts_real_unified_social_credit_codes(code):
    assert problem_with(code) is None


@pytest.mark.parametrize("code, problem", [
    ("9144030071526726XH", "check character"),  # last character mistyped
    ("9144030071526762XG", "check character"),  # two characters swapped
    ("9144030071526726X", "18 characters"),
    ("9144030071526726XGG", "18 characters"),
    ("91440300715267I6XG", "characters not used"),  # I is never used
    ("9144O30071526726XG", "characters not used"),  # nor O
    ("91AB030071526726XG", "division code"),
])
def test_refuses_codes_that_are_not_valid(code, problem):
    assert problem in problem_with(code)
