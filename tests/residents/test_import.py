"""Import of households and residents from a sheet: parse, check by steps, preview, apply all-or-nothing."""

import datetime as dt
import io

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from residents import imports, services
from residents.choices import Gender, ImportStatus, Relation
from residents.models import Household, ImportBatch, Resident
from tests import factories
from tests.factories import make_id_number

HEADER = [
    "楼号",
    "单元",
    "室号",
    "姓名",
    "性别",
    "出生日期",
    "电话",
    "身份证号",
    "与户主关系",
    "关爱标签",
    "备注",
]
ID_WANG = make_id_number(2, dt.date(1950, 3, 16))  # even sequence digit: female
ID_LI = make_id_number(1, dt.date(1952, 5, 1))  # odd: male


def csv_upload(rows, header=HEADER, name="sheet.csv", encoding="utf-8-sig") -> SimpleUploadedFile:
    lines = [",".join(header)] + [",".join(str(cell) for cell in row) for row in rows]
    return SimpleUploadedFile(name, ("\r\n".join(lines) + "\r\n").encode(encoding), content_type="text/csv")


def xlsx_upload(rows, name="sheet.xlsx") -> SimpleUploadedFile:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    workbook.save(data)
    return SimpleUploadedFile(name, data.getvalue())


GOOD_ROWS = [
    ["1号楼", "2", "301", "王芳", "女", "", "１３８ ００００ １２３４", ID_WANG, "户主", "独居老人", ""],
    ["1", "2", "301", "李强", "男", "1952-05-01", "", ID_LI, "配偶", "", ""],
    ["1号楼", "", "102", "赵敏", "", "", "010-65001234", "", "子女", "", "腿脚不便"],
]


@pytest.fixture
def tag(db):
    return factories.CareTagFactory()


def check_all(batch: ImportBatch, limit: int = imports.CHECK_STEP) -> ImportBatch:
    for _step in range(100):
        if batch.status != ImportStatus.VALIDATING:
            return batch
        batch = imports.import_batch_check(batch=batch, limit=limit)
    raise AssertionError("the check never finished")


def upload_and_check(user, community, upload) -> ImportBatch:
    return check_all(imports.import_batch_create(actor=user, community=community, upload=upload))


def counts() -> tuple[int, int]:
    return Resident.objects.count(), Household.objects.count()


# --- Reading the sheet ------------------------------------------------------------------------------------


def test_csv_sheet_imports_with_normalised_values(community_a, building_a, worker_a, tag):
    batch = upload_and_check(worker_a.user, community_a, csv_upload(GOOD_ROWS))

    assert batch.errors == []
    assert batch.status == ImportStatus.READY
    assert [row["row"] for row in batch.rows] == [2, 3, 4]
    assert {
        k: batch.summary[k]
        for k in ("households_new", "residents_new", "residents_updated", "residents_unchanged")
    } == {"households_new": 2, "residents_new": 3, "residents_updated": 0, "residents_unchanged": 0}

    result = imports.import_batch_apply(actor=worker_a.user, batch=batch)

    assert result == {
        "households_new": 2,
        "residents_new": 3,
        "residents_updated": 0,
        "residents_unchanged": 0,
    }
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE
    wang = Resident.objects.get(name="王芳")
    assert wang.phone == "13800001234"  # full-width digits and spaces normalised
    assert wang.id_number == ID_WANG
    assert wang.birth_date == dt.date(1950, 3, 16)  # from the ID number
    assert wang.gender == Gender.FEMALE
    assert wang.relation == Relation.HEAD
    assert wang.community == community_a
    assert list(wang.care_tags.all()) == [tag]
    assert wang.name_pinyin == "wangfang"
    li = Resident.objects.get(name="李强")
    assert li.household == wang.household  # "1" means 1号楼
    assert (li.household.building, li.household.entrance, li.household.room) == (building_a, 2, "301")
    assert (li.gender, li.birth_date, li.relation, li.phone) == (
        Gender.MALE,
        dt.date(1952, 5, 1),
        Relation.SPOUSE,
        "",
    )
    zhao = Resident.objects.get(name="赵敏")
    assert (zhao.household.entrance, zhao.household.room) == (1, "102")  # empty entrance means 1
    assert (zhao.phone, zhao.gender, zhao.birth_date, zhao.notes) == (
        "010-65001234",
        Gender.UNKNOWN,
        None,
        "腿脚不便",
    )
    assert counts() == (3, 2)


def test_xlsx_sheet_with_title_row_english_headers_and_typed_cells(community_a, building_a, worker_a, tag):
    upload = xlsx_upload(
        [
            ["安华里社区居民信息表"],
            [
                "Building",
                "Entrance",
                "Room",
                "Name",
                "Gender",
                "Birth date",
                "Phone",
                "ID card number",
                "relation",
                "care_tags",
                "notes",
                "something else",
            ],
            [
                "1号楼",
                3,
                501,
                "Ayşe·Müller",
                "female",
                dt.datetime(1980, 1, 2),
                13912345678,
                "",
                "other",
                "elderly-alone",
                "",
                "ignored",
            ],
            [None, None, None, None],
            ["1号楼", 3, 502.0, "陈晨", "male", "1990/7/8", None, None, None, None, None],
        ]
    )

    batch = upload_and_check(worker_a.user, community_a, upload)

    assert batch.status == ImportStatus.READY, batch.errors
    assert [row["row"] for row in batch.rows] == [3, 5]  # sheet row numbers; the empty row is skipped
    assert batch.rows[0]["room"] == "501" and batch.rows[0]["birth_date"] == "1980-01-02"
    assert batch.rows[0]["phone"] == "13912345678"
    imports.import_batch_apply(actor=worker_a.user, batch=batch)
    ayse = Resident.objects.get(name="Ayşe·Müller")
    assert (ayse.household.entrance, ayse.household.room) == (3, "501")
    assert (ayse.gender, ayse.birth_date, ayse.phone) == (Gender.FEMALE, dt.date(1980, 1, 2), "13912345678")
    assert list(ayse.care_tags.all()) == [tag]
    chen = Resident.objects.get(name="陈晨")
    assert (chen.gender, chen.birth_date, chen.household.room) == (Gender.MALE, dt.date(1990, 7, 8), "502")


def test_gb18030_csv_is_read(community_a, building_a, worker_a):
    upload = csv_upload([["1号楼", "1", "101", "刘洋", "男", "", "", "", "", "", ""]], encoding="gb18030")
    batch = imports.import_batch_create(actor=worker_a.user, community=community_a, upload=upload)
    assert batch.rows[0]["name"] == "刘洋"
    assert batch.filename == "sheet.csv"
    assert batch.created_by == worker_a.user


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (SimpleUploadedFile("sheet.xlsx", b"not a zip file at all"), "unreadable"),
        (SimpleUploadedFile("sheet.csv", "\ufeff姓名,电话\r\n张三,138\r\n".encode("utf-16")), "unreadable"),
        (SimpleUploadedFile("sheet.csv", b""), "empty"),
        (SimpleUploadedFile("sheet.csv", "楼号,室号,姓名\r\n".encode()), "empty"),
        (SimpleUploadedFile("sheet.csv", "楼号,姓名,电话\r\n1号楼,张三,\r\n".encode()), "missing_columns"),
        (
            SimpleUploadedFile("sheet.csv", "楼号,室号,姓名,name\r\n1号楼,1,张三,张三\r\n".encode()),
            "duplicate_columns",
        ),
        (SimpleUploadedFile("sheet.xls", b"whatever"), "file_type"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(community_a, worker_a, upload, code):
    with pytest.raises(ValidationError) as info:
        imports.import_batch_create(actor=worker_a.user, community=community_a, upload=upload)
    assert info.value.code == code
    assert ImportBatch.objects.count() == 0


def test_missing_columns_are_named(community_a, worker_a):
    upload = SimpleUploadedFile("sheet.csv", "楼号,姓名\r\n1号楼,张三\r\n".encode())
    with pytest.raises(ValidationError) as info:
        imports.import_batch_create(actor=worker_a.user, community=community_a, upload=upload)
    assert "室号 (room)" in info.value.messages[0]


def test_more_than_20000_rows_is_refused(community_a, worker_a):
    rows = [
        ["1号楼", "1", str(i), f"居民{i}", "", "", "", "", "", "", ""] for i in range(imports.MAX_ROWS + 1)
    ]
    with pytest.raises(ValidationError) as info:
        imports.import_batch_create(actor=worker_a.user, community=community_a, upload=csv_upload(rows))
    assert info.value.code == "too_many_rows"


# --- Checking ---------------------------------------------------------------------------------------------


def test_bad_rows_are_listed_by_row_number_and_nothing_is_written(
    community_a, building_a, worker_a, tag, community_b, building_b
):
    rows = [
        ["5号楼", "1", "101", "甲", "", "", "", "", "", "", ""],  # row 2: no such building
        ["1号楼", "1", "102", "乙", "", "", "12345", "", "", "", ""],  # row 3: bad phone
        ["1号楼", "1", "103", "丙", "", "", "", ID_WANG, "", "", ""],  # row 4: fine
        ["1号楼", "1", "104", "丁", "", "", "", ID_WANG, "", "", ""],  # row 5: same ID as row 4
        ["1号楼", "9", "105", "戊", "", "", "", "", "", "", ""],  # row 6: building has entrances 1-3
        ["1号楼", "1", "106", "己", "妖", "1990-13-01", "", "", "舅舅", "不存在", ""],  # row 7: four errors
        ["1号楼", "1", "107", "", "", "", "", "", "", "", ""],  # row 8: no name
        ["1号楼", "1", "108", "庚", "", "1960-01-01", "", ID_LI, "", "", ""],  # row 9: date vs ID
        ["9号楼", "1", "101", "辛", "", "", "", "", "", "", ""],  # row 10: another community's building
    ]
    before = counts()

    batch = upload_and_check(worker_a.user, community_a, csv_upload(rows))

    assert batch.status == ImportStatus.INVALID
    assert [(e["row"], e["field"]) for e in batch.errors] == [
        (2, "building"),
        (3, "phone"),
        (5, "id_number"),
        (6, "entrance"),
        (7, "gender"),
        (7, "birth_date"),
        (7, "relation"),
        (7, "care_tags"),
        (8, "name"),
        (9, "birth_date"),
        (10, "building"),
    ]
    assert "4" in batch.errors[2]["message"]  # "already on row 4"
    assert batch.summary["errors_total"] == 11
    with pytest.raises(ValidationError):
        imports.import_batch_apply(actor=worker_a.user, batch=batch)
    assert counts() == before


def test_id_number_of_another_communitys_resident_is_an_error(community_a, building_a, worker_a, resident_b):
    rows = [["1号楼", "1", "101", resident_b.name, "", "", "", resident_b.id_number, "", "", ""]]
    batch = upload_and_check(worker_a.user, community_a, csv_upload(rows))
    assert batch.status == ImportStatus.INVALID
    assert [(e["row"], e["field"]) for e in batch.errors] == [(2, "id_number")]


def test_same_person_twice_in_a_household_is_an_error(community_a, building_a, worker_a):
    rows = [
        ["1号楼", "1", "101", "张三", "", "", "", "", "", "", ""],
        ["1号楼", "1", "101", "张三", "", "", "", "", "", "", ""],
    ]
    batch = upload_and_check(worker_a.user, community_a, csv_upload(rows))
    assert [(e["row"], e["field"]) for e in batch.errors] == [(3, "name")]


def test_duplicates_are_found_across_check_steps(community_a, building_a, worker_a):
    rows = [["1号楼", "1", str(100 + i), f"居民{i}", "", "", "", "", "", "", ""] for i in range(7)]
    rows.append(["1号楼", "1", "100", "居民0", "", "", "", "", "", "", ""])
    batch = upload_and_check(worker_a.user, community_a, csv_upload(rows))
    before_steps = batch.errors
    batch = check_all(
        imports.import_batch_create(actor=worker_a.user, community=community_a, upload=csv_upload(rows)),
        limit=3,
    )
    assert (
        batch.errors == before_steps == [{"row": 9, "field": "name", "message": batch.errors[0]["message"]}]
    )
    assert batch.summary["households_new"] == 7


def test_existing_resident_is_matched_by_household_and_name(community_a, worker_a, resident_a):
    address = [
        resident_a.household.building.number,
        str(resident_a.household.entrance),
        resident_a.household.room,
    ]
    same = [[*address, resident_a.name, "", "", "", "", "", "", ""]]
    # The factory row lacks the birth date and gender its ID number gives: the first import fills them in.
    batch = upload_and_check(worker_a.user, community_a, csv_upload(same))
    assert (batch.summary["residents_new"], batch.summary["residents_updated"]) == (0, 1)
    imports.import_batch_apply(actor=worker_a.user, batch=batch)
    resident_a.refresh_from_db()
    assert resident_a.birth_date == dt.date(1950, 3, 15)
    batch = upload_and_check(worker_a.user, community_a, csv_upload(same))
    assert (batch.summary["residents_new"], batch.summary["residents_unchanged"]) == (0, 1)

    changed = [[*address, resident_a.name, "", "", "13700000000", "", "", "", ""]]
    batch = upload_and_check(worker_a.user, community_a, csv_upload(changed))
    assert (batch.summary["residents_new"], batch.summary["residents_updated"]) == (0, 1)
    imports.import_batch_apply(actor=worker_a.user, batch=batch)
    resident_a.refresh_from_db()
    assert resident_a.phone == "13700000000"
    assert Resident.objects.count() == 1


def test_check_runs_a_constant_number_of_queries_per_step(community_a, building_a, worker_a, tag):
    def queries_for(n: int) -> int:
        rows = [
            [
                "1号楼",
                str(i % 3 + 1),
                str(100 + i),
                f"居民{i}",
                "",
                "",
                "",
                make_id_number(i),
                "",
                "独居老人",
                "",
            ]
            for i in range(n)
        ]
        batch = imports.import_batch_create(
            actor=worker_a.user, community=community_a, upload=csv_upload(rows)
        )
        with CaptureQueriesContext(connection) as captured:
            imports.import_batch_check(batch=batch, limit=n)
        return len(captured)

    factories.HouseholdFactory(building=building_a, entrance=1, room="100")
    assert queries_for(5) == queries_for(200)


# --- Applying ---------------------------------------------------------------------------------------------


def test_reimporting_the_same_sheet_changes_nothing(community_a, building_a, worker_a, tag):
    first = upload_and_check(worker_a.user, community_a, csv_upload(GOOD_ROWS))
    imports.import_batch_apply(actor=worker_a.user, batch=first)
    stamps = dict(Resident.objects.values_list("pk", "updated_at"))
    household_stamps = dict(Household.objects.values_list("pk", "updated_at"))

    again = upload_and_check(worker_a.user, community_a, csv_upload(GOOD_ROWS))
    expected = {"households_new": 0, "residents_new": 0, "residents_updated": 0, "residents_unchanged": 3}
    assert {k: again.summary[k] for k in expected} == expected
    assert again.summary["actions"] == ["unchanged"] * 3
    result = imports.import_batch_apply(actor=worker_a.user, batch=again)

    assert result == expected
    assert dict(Resident.objects.values_list("pk", "updated_at")) == stamps
    assert dict(Household.objects.values_list("pk", "updated_at")) == household_stamps


def test_a_changed_row_updates_only_that_resident(community_a, building_a, worker_a, tag):
    first = upload_and_check(worker_a.user, community_a, csv_upload(GOOD_ROWS))
    imports.import_batch_apply(actor=worker_a.user, batch=first)
    stamps = dict(Resident.objects.values_list("name", "updated_at"))

    rows = [list(row) for row in GOOD_ROWS]
    rows[1][6] = "13911112222"  # 李强 gets a phone
    rows[1][2] = "302"  # ...and moves next door
    again = upload_and_check(worker_a.user, community_a, csv_upload(rows))
    assert {
        k: again.summary[k]
        for k in ("households_new", "residents_new", "residents_updated", "residents_unchanged")
    } == {"households_new": 1, "residents_new": 0, "residents_updated": 1, "residents_unchanged": 2}
    imports.import_batch_apply(actor=worker_a.user, batch=again)

    li = Resident.objects.get(name="李强")
    assert (li.phone, li.household.room) == ("13911112222", "302")
    assert li.updated_at > stamps["李强"]
    assert dict(Resident.objects.exclude(name="李强").values_list("name", "updated_at")) == {
        k: v for k, v in stamps.items() if k != "李强"
    }
    assert counts() == (3, 3)


def test_apply_rechecks_and_writes_nothing_when_a_row_went_stale(
    community_a, building_a, worker_a, tag, resident_b
):
    batch = upload_and_check(worker_a.user, community_a, csv_upload(GOOD_ROWS))
    assert batch.status == ImportStatus.READY
    # Between the check and the apply, somebody registers 李强's ID number in another community.
    resident_b.id_number = ID_LI
    resident_b.save()
    before = counts()

    with pytest.raises(ValidationError):
        imports.import_batch_apply(actor=worker_a.user, batch=batch)

    assert counts() == before
    batch.refresh_from_db()
    assert batch.status == ImportStatus.INVALID
    assert [(e["row"], e["field"]) for e in batch.errors] == [(3, "id_number")]


def test_apply_is_all_or_nothing_when_a_write_fails(community_a, building_a, worker_a, tag, monkeypatch):
    batch = upload_and_check(worker_a.user, community_a, csv_upload(GOOD_ROWS))
    real_create = services.resident_create
    calls = []

    def failing_create(**kwargs):
        calls.append(kwargs["name"])
        if len(calls) == 3:
            raise ValidationError({"phone": "boom"})
        return real_create(**kwargs)

    monkeypatch.setattr(services, "resident_create", failing_create)

    with pytest.raises(ValidationError):
        imports.import_batch_apply(actor=worker_a.user, batch=batch)

    assert counts() == (0, 0)  # the first two residents and both households were rolled back
    batch.refresh_from_db()
    assert batch.status == ImportStatus.INVALID
    assert batch.errors == [{"row": 4, "field": "phone", "message": "boom"}]


def test_apply_twice_is_refused(community_a, building_a, worker_a, tag):
    batch = upload_and_check(worker_a.user, community_a, csv_upload(GOOD_ROWS))
    imports.import_batch_apply(actor=worker_a.user, batch=batch)
    with pytest.raises(ValidationError) as info:
        imports.import_batch_apply(actor=worker_a.user, batch=batch)
    assert info.value.code == "not_ready"
    assert counts() == (3, 2)


# --- Views ------------------------------------------------------------------------------------------------


def test_list_page_renders_for_worker(as_user, worker_a, community_a, building_a):
    upload_and_check(worker_a.user, community_a, csv_upload(GOOD_ROWS[2:]))
    response = as_user(worker_a.user).get(reverse("residents:import_list"))
    assert response.status_code == 200
    assert "身份证号" in response.text
    assert "sheet.csv" in response.text


def test_list_rejects_resident_user(as_user, resident_user_a):
    assert as_user(resident_user_a).get(reverse("residents:import_list")).status_code == 403


def test_upload_creates_a_batch_and_redirects(as_user, worker_a, community_a, building_a):
    response = as_user(worker_a.user).post(reverse("residents:import_list"), {"file": csv_upload(GOOD_ROWS)})
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("residents:import_detail", args=[batch.pk])
    assert (batch.community, batch.created_by, batch.status, len(batch.rows)) == (
        community_a,
        worker_a.user,
        ImportStatus.VALIDATING,
        3,
    )


def test_upload_of_an_unusable_file_shows_the_reason(as_user, worker_a, community_a):
    upload = SimpleUploadedFile("sheet.csv", "姓名\r\n张三\r\n".encode())
    response = as_user(worker_a.user).post(reverse("residents:import_list"), {"file": upload})
    assert response.status_code == 200
    assert "室号 (room)" in response.text
    assert ImportBatch.objects.count() == 0


def test_other_community_gets_404(as_user, worker_a, worker_b, community_a, building_a):
    batch = imports.import_batch_create(
        actor=worker_a.user, community=community_a, upload=csv_upload(GOOD_ROWS)
    )
    client = as_user(worker_b.user)
    assert client.get(reverse("residents:import_detail", args=[batch.pk])).status_code == 404
    assert client.post(reverse("residents:import_check", args=[batch.pk])).status_code == 404
    assert client.post(reverse("residents:import_apply", args=[batch.pk])).status_code == 404
    batch.refresh_from_db()
    assert batch.rows_checked == 0


def test_check_and_apply_reject_get(as_user, worker_a, community_a, building_a):
    batch = imports.import_batch_create(
        actor=worker_a.user, community=community_a, upload=csv_upload(GOOD_ROWS)
    )
    client = as_user(worker_a.user)
    assert client.get(reverse("residents:import_check", args=[batch.pk])).status_code == 405
    assert client.get(reverse("residents:import_apply", args=[batch.pk])).status_code == 405


def test_check_and_apply_reject_missing_permission(
    as_user, resident_user_a, worker_a, community_a, building_a
):
    batch = imports.import_batch_create(
        actor=worker_a.user, community=community_a, upload=csv_upload(GOOD_ROWS)
    )
    client = as_user(resident_user_a)
    assert client.post(reverse("residents:import_check", args=[batch.pk])).status_code == 403
    assert client.post(reverse("residents:import_apply", args=[batch.pk])).status_code == 403


def test_check_view_advances_step_by_step_then_asks_for_refresh(as_user, worker_a, community_a, building_a):
    rows = [
        ["1号楼", str(i % 3 + 1), str(1000 + i), f"居民{i}", "", "", "", "", "", "", ""] for i in range(1200)
    ]
    batch = imports.import_batch_create(actor=worker_a.user, community=community_a, upload=csv_upload(rows))
    client = as_user(worker_a.user)
    url = reverse("residents:import_check", args=[batch.pk])

    page = client.get(reverse("residents:import_detail", args=[batch.pk]))
    assert f'hx-post="{url}"' in page.text and "<progress" in page.text

    first = client.post(url, headers={"HX-Request": "true"})
    batch.refresh_from_db()
    assert first.status_code == 200
    assert batch.rows_checked == 500 and batch.status == ImportStatus.VALIDATING
    assert 'hx-trigger="load delay:50ms"' in first.text
    assert 'value="500" max="1200"' in first.text
    assert "<html" not in first.text  # only the fragment

    client.post(url, headers={"HX-Request": "true"})
    batch.refresh_from_db()
    assert batch.rows_checked == 1000

    last = client.post(url, headers={"HX-Request": "true"})
    batch.refresh_from_db()
    assert last.headers["HX-Refresh"] == "true"
    assert (batch.rows_checked, batch.status) == (1200, ImportStatus.READY)
    assert batch.summary["residents_new"] == 1200


def test_check_without_htmx_redirects_to_the_page(as_user, worker_a, community_a, building_a, tag):
    batch = imports.import_batch_create(
        actor=worker_a.user, community=community_a, upload=csv_upload(GOOD_ROWS)
    )
    response = as_user(worker_a.user).post(reverse("residents:import_check", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == ImportStatus.READY


def test_ready_page_shows_preview_masked_and_apply_button(as_user, worker_a, community_a, building_a, tag):
    batch = upload_and_check(worker_a.user, community_a, csv_upload(GOOD_ROWS))
    response = as_user(worker_a.user).get(reverse("residents:import_detail", args=[batch.pk]))
    assert response.status_code == 200
    assert reverse("residents:import_apply", args=[batch.pk]) in response.text
    assert "王芳" in response.text and "010-****1234" in response.text
    assert ID_WANG not in response.text and "65001234" not in response.text


def test_invalid_page_lists_errors_by_row(as_user, worker_a, community_a, building_a):
    rows = [
        ["1号楼", "1", "101", "甲", "", "", "", "", "", "", ""],
        ["5号楼", "1", "101", "乙", "", "", "", "", "", "", ""],
    ]
    batch = upload_and_check(worker_a.user, community_a, csv_upload(rows))
    response = as_user(worker_a.user).get(reverse("residents:import_detail", args=[batch.pk]))
    assert response.status_code == 200
    assert '<th scope="row">3</th>' in response.text
    assert "5号楼" in response.text
    assert reverse("residents:import_apply", args=[batch.pk]) not in response.text


def test_apply_view_imports_and_shows_the_result(as_user, worker_a, community_a, building_a, tag):
    batch = upload_and_check(worker_a.user, community_a, csv_upload(GOOD_ROWS))
    client = as_user(worker_a.user)
    response = client.post(reverse("residents:import_apply", args=[batch.pk]), follow=True)
    assert response.redirect_chain == [(reverse("residents:import_detail", args=[batch.pk]), 302)]
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE
    assert counts() == (3, 2)
    assert "alert-success" in response.text

    again = client.post(reverse("residents:import_apply", args=[batch.pk]), follow=True)
    assert "alert-danger" in again.text
    assert counts() == (3, 2)


def test_namesake_with_another_id_number_is_an_error_not_a_second_person(community_a, worker_a, resident_a):
    household = resident_a.household
    other_id = make_id_number(7, dt.date(1970, 1, 1))
    rows = [
        [
            household.building.number,
            str(household.entrance),
            household.room,
            resident_a.name,
            "",
            "",
            "",
            other_id,
            "",
            "",
            "",
        ]
    ]
    batch = upload_and_check(worker_a.user, community_a, csv_upload(rows))
    assert [(e["row"], e["field"]) for e in batch.errors] == [(2, "id_number")]


def test_list_page_query_count_does_not_grow_with_imports(
    as_user, worker_a, community_a, building_a, django_assert_num_queries
):
    client = as_user(worker_a.user)
    url = reverse("residents:import_list")
    imports.import_batch_create(actor=worker_a.user, community=community_a, upload=csv_upload(GOOD_ROWS))
    client.get(url)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _i in range(5):
        imports.import_batch_create(actor=worker_a.user, community=community_a, upload=csv_upload(GOOD_ROWS))
    with django_assert_num_queries(len(one)):
        response = client.get(url)
    assert response.text.count("sheet.csv") == 6
