"""read_extract / write_extract: formats, coercion, read-level errors, determinism."""
from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_recovery import DataValidationError, read_extract, validate_tables, write_extract
from extract_factory import tiny_extract, write_raw


def assert_extract_equal(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_valid_extract_reads_back_unchanged(tmp_path, fmt):
    tables = tiny_extract()
    write_raw(tables, tmp_path, fmt)
    back = read_extract(tmp_path)
    assert_extract_equal(tables, back)
    assert validate_tables(back).ok


def test_write_read_round_trip_and_byte_identical_rewrite(tmp_path):
    tables = tiny_extract()
    write_extract(tables, tmp_path / "a")
    back = read_extract(tmp_path / "a")
    assert_extract_equal(tables, back)
    # rewrite what was read (and a shuffled copy): same bytes
    shuffled = {k: v.sample(frac=1.0, random_state=1) for k, v in back.items()}
    write_extract(shuffled, tmp_path / "b")
    first = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    write_extract(back, tmp_path / "a")  # replace in place
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(f"{n}.parquet" for n in tables)
    for p in (tmp_path / "a").iterdir():
        assert p.read_bytes() == first[p.name], p.name
        assert (tmp_path / "b" / p.name).read_bytes() == first[p.name], p.name
    # no temporary siblings left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
    # contract parquet types and no pandas metadata
    schema = pq.read_schema(tmp_path / "a" / "platform_events.parquet")
    assert schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert schema.field("event_id").type == pa.int64()
    assert pq.read_schema(tmp_path / "a" / "course_records.parquet").field("enrolled_date").type == pa.date32()
    assert b"pandas" not in (schema.metadata or {})


def test_write_rejects_unknown_table(tmp_path):
    with pytest.raises(ValueError, match="allowed: students, student_years"):
        write_extract({"studnets": pd.DataFrame({"a": [1]})}, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_hive_partitioned_directory(tmp_path):
    tables = tiny_extract()
    write_raw({k: v for k, v in tables.items() if k != "student_years"}, tmp_path, "parquet")
    pq.write_to_dataset(pa.Table.from_pandas(tables["student_years"], preserve_index=False),
                        tmp_path / "student_years", partition_cols=["school_year"])
    back = read_extract(tmp_path)
    sy = back["student_years"].sort_values(["student_id", "school_year"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(sy, tables["student_years"][sy.columns], check_exact=True)
    assert list(sy.columns[:3]) == ["student_id", "school_year", "school_id"]


def test_csv_spellings_are_parsed_without_guessing(tmp_path):
    tables = tiny_extract()
    write_raw(tables, tmp_path, "csv")
    m = pd.read_csv(tmp_path / "mentors.csv", dtype=str)
    m["instructionally_supportive"] = ["1", "FALSE"]
    m.to_csv(tmp_path / "mentors.csv", index=False)
    e = pd.read_csv(tmp_path / "platform_events.csv", dtype=str)
    e["timestamp"] = tables["platform_events"]["timestamp"].dt.tz_convert("America/Chicago") \
        .map(lambda t: t.isoformat()).to_numpy()
    e.loc[0, "timestamp"] = tables["platform_events"]["timestamp"][0].strftime("%Y-%m-%dT%H:%M:%SZ")
    e.to_csv(tmp_path / "platform_events.csv", index=False)
    back = read_extract(tmp_path)
    assert back["mentors"]["instructionally_supportive"].tolist() == [True, False]
    pd.testing.assert_series_equal(back["platform_events"]["timestamp"], tables["platform_events"]["timestamp"])
    assert str(back["platform_events"]["event_id"].dtype) == "Int64"


# ---------------------------------------------------------------- read-level errors

def _message(excinfo) -> str:
    return str(excinfo.value)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_missing_file_names_table_files_and_folder(tmp_path, fmt):
    tables = tiny_extract()
    del tables["students"]
    del tables["calendar"]  # optional: its absence is fine
    write_raw(tables, tmp_path, fmt)
    with pytest.raises(DataValidationError) as ei:
        read_extract(tmp_path)
    msg = _message(ei)
    assert "'students'" in msg and "missing file" in msg
    assert "students.parquet, students.csv, students/" in msg and str(tmp_path) in msg
    assert "calendar" not in msg
    assert ei.value.failures[["table", "n_rows"]].values.tolist() == [["students", 0]]


def test_missing_folder(tmp_path):
    with pytest.raises(DataValidationError, match="extract folder not found"):
        read_extract(tmp_path / "nope")


def test_ambiguous_files(tmp_path):
    tables = tiny_extract()
    write_raw(tables, tmp_path, "csv")
    write_raw({"mentors": tables["mentors"]}, tmp_path, "parquet")
    with pytest.raises(DataValidationError, match=r"ambiguous: more than one of mentors.parquet, mentors.csv"):
        read_extract(tmp_path)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_wrong_type_names_column_rule_count_and_rows(tmp_path, fmt):
    tables = tiny_extract()
    sy = tables["student_years"].astype({"grade": "str", "days_absent": "str"})
    sy.loc[[2, 5], "grade"] = ["ninth", "10.5"]
    sy.loc[7, "days_absent"] = "a few"
    tables["student_years"] = sy
    write_raw(tables, tmp_path, fmt)
    with pytest.raises(DataValidationError) as ei:
        read_extract(tmp_path)
    msg = _message(ei)
    assert "table 'student_years', column(s) grade: must be an integer -- 2 rows" in msg
    assert "row 3: student_id='S02', school_year=2014, grade='ninth'" in msg
    assert "row 6: student_id='S03', school_year=2015, grade='10.5'" in msg
    assert "column(s) days_absent: must be an integer -- 1 row" in msg
    assert "row 8:" in msg and "days_absent='a few'" in msg
    f = ei.value.failures
    assert f["n_rows"].tolist() == [2, 1]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_empty_table(tmp_path, fmt):
    tables = tiny_extract()
    tables["mentors"] = tables["mentors"].iloc[:0]
    write_raw(tables, tmp_path, fmt)
    with pytest.raises(DataValidationError) as ei:
        read_extract(tmp_path)
    msg = _message(ei)
    assert "table 'mentors'" in msg and f"table is empty: mentors.{fmt} has no rows" in msg


def test_empty_csv_without_header(tmp_path):
    write_raw(tiny_extract(), tmp_path, "csv")
    (tmp_path / "students.csv").write_bytes(b"")
    with pytest.raises(DataValidationError, match="table is empty: students.csv has no header line"):
        read_extract(tmp_path)


def test_non_utf8_csv_names_file_offset_and_line(tmp_path):
    tables = tiny_extract()
    write_raw(tables, tmp_path, "csv")
    path = tmp_path / "course_records.csv"
    text = path.read_text(encoding="utf-8").replace("English 9", "Français 9", 1)
    data = text.encode("latin-1")
    path.write_bytes(data)
    offset = data.index("ç".encode("latin-1"))
    line = data[:offset].count(b"\n") + 1
    with pytest.raises(DataValidationError) as ei:
        read_extract(tmp_path)
    msg = _message(ei)
    assert "table 'course_records'" in msg
    assert f"file is not valid UTF-8 text: course_records.csv, byte offset {offset} (line {line})" in msg


def test_non_utf8_found_beyond_first_megabyte(tmp_path):
    from credit_recovery.data.extract_io import _first_bad_utf8
    p = tmp_path / "x.csv"
    body = ("é\n" * 400_000).encode("utf-8")  # 1.2 MB, multibyte chars across chunk borders
    p.write_bytes(body + b"ok\n\xff\n")
    assert _first_bad_utf8(p) == (len(body) + 3, 400_002)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_timestamps_without_time_zone(tmp_path, fmt):
    tables = tiny_extract()
    ev = tables["platform_events"]
    if fmt == "csv":
        ts = ev["timestamp"].map(lambda t: t.isoformat()).astype("str")
        ts[[1, 4, 9]] = ts[[1, 4, 9]].str.slice(0, 19)
        ev["timestamp"] = ts
        n = 3
    else:
        ev["timestamp"] = ev["timestamp"].dt.tz_localize(None)
        n = len(ev)
    write_raw(tables, tmp_path, fmt)
    with pytest.raises(DataValidationError) as ei:
        read_extract(tmp_path)
    msg = _message(ei)
    assert f"table 'platform_events', column(s) timestamp: timestamp must carry a time zone -- {n} rows" in msg
    first = 2 if fmt == "csv" else 1
    assert re.search(rf"row {first}: event_id=\d+, timestamp=", msg)


def test_unparseable_dates_bools_and_numbers(tmp_path):
    tables = tiny_extract()
    cr = tables["course_records"].astype({"enrolled_date": "str", "credits_attempted": "str"})
    cr.loc[0, "enrolled_date"] = "09/03/2013"
    cr.loc[1, "credits_attempted"] = "one"
    tables["course_records"] = cr
    m = tables["mentors"].astype({"instructionally_supportive": "str"})
    m.loc[1, "instructionally_supportive"] = "yes"
    tables["mentors"] = m
    write_raw(tables, tmp_path, "csv")
    with pytest.raises(DataValidationError) as ei:
        read_extract(tmp_path)
    msg = _message(ei)
    assert "column(s) enrolled_date: must be a date (YYYY-MM-DD) -- 1 row" in msg
    assert "enrolled_date='09/03/2013'" in msg
    assert "column(s) credits_attempted: must be a number -- 1 row" in msg
    assert "column(s) instructionally_supportive: must be a boolean (true/false/1/0) -- 1 row" in msg
    assert "row 2: mentor_id='M2', instructionally_supportive='yes'" in msg


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["true", "false", "1", "0", "True", "FALSE", " true ", "yes", "2", "t", ""]),
                min_size=1, max_size=12))
def test_bool_parsing_property(values):
    from credit_recovery.data.contract import Column
    from credit_recovery.data.coercion import coerce_column
    out, bad = coerce_column(pd.Series(values, dtype="str"), Column("b", "bool", ""))
    norm = [v.strip().lower() for v in values]
    expect_bad = [v not in ("true", "false", "1", "0", "") for v in norm]
    assert bad[0][0].tolist() == expect_bad
    for v, o in zip(norm, out.tolist()):
        if v in ("true", "1"):
            assert o is True or o == True  # noqa: E712
        elif v in ("false", "0"):
            assert o is False or o == False  # noqa: E712
        else:
            assert pd.isna(o)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1), min_size=1, max_size=20))
def test_int_parsing_is_exact(values):
    from credit_recovery.data.contract import Column
    from credit_recovery.data.coercion import coerce_column
    out, bad = coerce_column(pd.Series([str(v) for v in values], dtype="str"), Column("i", "int", ""))
    assert not bad[0][0].any()
    assert out.tolist() == values
    _, bad = coerce_column(pd.Series(["9223372036854775808", "1e3", "+7"], dtype="str"), Column("i", "int", ""))
    assert bad[0][0].tolist() == [True, True, False]
