from pathlib import Path

import pytest

from domain.application import OneStop
from domain.reference import ReferenceDataError, load_reference
from tests.domain.support import IN_MEMORY

SHIPPED = Path(__file__).parents[2] / "domain" / "reference.toml"


def test_the_shipped_reference_names_the_lead_bureau_and_14_departments():
    reference = load_reference()

    assert reference.lead.code == "samr"
    assert len(reference.departments) == 14
    assert all(d.zh and d.en for d in reference.departments)


def test_the_catalogue_has_8_services_each_with_a_lead_department_and_days():
    services = load_reference().services

    assert [s.code for s in services] == [
        "metrology", "standards", "inspection_testing", "certification", "quality_management",
        "training_consultation", "dispute_mediation", "recall_handling"]
    assert all(s.sla_days > 0 for s in services)


def test_there_are_6_channels_and_a_window_3_promotion_centres_and_23_town_posts():
    reference = load_reference()

    kinds = [s.kind for s in reference.stations]
    assert len(reference.channels) == 6
    assert (kinds.count("window"), kinds.count("promotion_centre"), kinds.count("town_post")) \
        == (1, 3, 23)
    assert len(reference.towns) == 23


def test_a_syntax_error_names_the_line(tmp_path):
    broken = tmp_path / "reference.toml"
    broken.write_text('[lead]\ncode = "samr"\nzh = "市场监管局\n')

    with pytest.raises(ReferenceDataError, match="line 3"):
        load_reference(broken)


def test_a_wrong_value_names_the_key_at_fault(tmp_path):
    edited = tmp_path / "reference.toml"
    edited.write_text(SHIPPED.read_text().replace("sla_days = 15", "sla_days = 0", 1))

    with pytest.raises(ReferenceDataError, match=r"services\[1\]\.sla_days"):
        load_reference(edited)


def test_a_service_led_by_an_unknown_department_is_refused(tmp_path):
    edited = tmp_path / "reference.toml"
    edited.write_text(SHIPPED.read_text().replace('lead = "sfj"', 'lead = "nobody"'))

    with pytest.raises(ReferenceDataError, match=r"services\[6\]\.lead.*'nobody'"):
        load_reference(edited)


def test_a_duplicate_code_is_refused(tmp_path):
    edited = tmp_path / "reference.toml"
    edited.write_text(SHIPPED.read_text().replace('code = "kjj"', 'code = "fgw"'))

    with pytest.raises(ReferenceDataError, match=r"departments\[2\]\.code.*duplicate"):
        load_reference(edited)


def test_an_unknown_key_is_refused_by_name(tmp_path):
    edited = tmp_path / "reference.toml"
    edited.write_text(SHIPPED.read_text().replace("sla_days = 10", "sla_dayz = 10", 1))

    with pytest.raises(ReferenceDataError, match=r"services\[0\]\.sla_dayz"):
        load_reference(edited)


def test_a_district_points_the_application_at_its_own_file(tmp_path):
    own = tmp_path / "district.toml"
    own.write_text(SHIPPED.read_text().replace("sla_days = 30", "sla_days = 21"))

    app = OneStop(env=IN_MEMORY | {"REFERENCE_DATA": str(own)})

    assert app.reference.service("quality_management").sla_days == 21


def test_the_reference_file_ships_inside_the_package():
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()

    assert '"*" = ["*.json", "*.toml", "*.yaml"]' in pyproject
    assert load_reference().lead.en.startswith("Yongchuan")
