"""The data contract: the input tables a district extract (or the synthetic
district) must provide, in machine-readable form.

``docs/data-contract.md`` is the human-readable version of this module and a
test keeps the two in step. Validation (:func:`credit_recovery.validate_tables`)
checks every rule stated here; the per-table rules of each :class:`Column`
(presence, nullability, allowed values, range) and the table's key are turned
into pandera schemas by :mod:`credit_recovery.data.schemas`.

Conventions
-----------
* ``school_year`` is the calendar year in which the school year ends
  (``2014`` is the 2013-14 school year).
* Booleans are ``true``/``false`` (CSV also accepts ``1``/``0``).
* Dates are ISO 8601 ``YYYY-MM-DD``; event timestamps are ISO 8601 with a UTC
  offset (``2014-10-06T09:15:02-05:00``) in CSV, or a time-zone-aware timestamp
  in parquet.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SUBJECTS = ("math", "ela", "science", "social_studies", "elective")
CORE_SUBJECTS = ("math", "ela", "science", "social_studies")
MARKS = ("A", "B", "C", "D", "F", "W")
#: Grade points of each mark (W, withdrawn, carries none).
MARK_POINTS = {"A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0, "F": 0.0}
#: Program models of an online recovery course (iNACOL 2015: blended and competency-based programs do better).
PROGRAM_MODELS = ("fully_online", "blended", "competency_based")
EVENT_TYPES = ("login", "logout", "click", "activity_completed", "quiz_submitted", "test_submitted")
#: Score scale of the yearly standardized tests.
SCORE_MIN, SCORE_MAX = 100.0, 400.0


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # one of: string, int, float, bool, date, timestamp
    description: str
    nullable: bool = False
    allowed: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    unit: str = ""
    #: An optional column may be left out of the extract (a district that does not record it); when present
    #: it is checked like any other.
    optional: bool = False


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    table: str
    ref_columns: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = field(default_factory=tuple)
    required: bool = True

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


STUDENTS = Table(
    name="students",
    description="One row per student ever enrolled in a district high school.",
    key=("student_id",),
    columns=(
        Column("student_id", "string", "District student identifier (confidential)."),
        Column("gender", "string", "Gender as recorded by the district.", allowed=("F", "M", "X")),
        Column(
            "race_ethnicity",
            "string",
            "Race/ethnicity as recorded by the district.",
            allowed=("Black", "Hispanic", "White", "Asian", "Other"),
        ),
        Column("grade9_year", "int", "School year in which the student was (or would have been) in grade 9.",
               min=1990, max=2100),
    ),
)

STUDENT_YEARS = Table(
    name="student_years",
    description="One row per student and school year of high-school enrolment (grades 9-12).",
    key=("student_id", "school_year"),
    foreign_keys=(ForeignKey(("student_id",), "students", ("student_id",), "every student-year belongs to a known student"),),
    columns=(
        Column("student_id", "string", "Student identifier."),
        Column("school_year", "int", "School year (year in which it ends).", min=1990, max=2100),
        Column("school_id", "string", "School attended (the school of record for the year)."),
        Column("grade", "int", "Grade level.", min=9, max=12),
        Column("frl", "bool", "Eligible for free or reduced-price lunch."),
        Column("ell", "bool", "English learner."),
        Column("sped", "bool", "Receives special-education services (has an IEP)."),
        Column("days_enrolled", "int", "Days enrolled in the year.", min=1, max=220, unit="days"),
        Column("days_absent", "int", "Days absent (not more than days enrolled).", min=0, max=220, unit="days"),
        Column("math_score", "float", "Spring standardized math scale score; missing if not tested.",
               nullable=True, min=SCORE_MIN, max=SCORE_MAX, unit="scale points"),
        Column("reading_score", "float", "Spring standardized reading scale score; missing if not tested.",
               nullable=True, min=SCORE_MIN, max=SCORE_MAX, unit="scale points"),
        Column("gpa", "float", "Year grade point average over completed courses; missing if none.",
               nullable=True, min=0.0, max=4.0, unit="grade points"),
        Column("credits_earned", "float", "Course credits earned in the year, including recovered credits.",
               min=0.0, max=12.0, unit="credits"),
    ),
)

MENTORS = Table(
    name="mentors",
    description="In-lab mentors who supervise students taking online courses.",
    key=("mentor_id",),
    columns=(
        Column("mentor_id", "string", "Mentor identifier (confidential)."),
        Column("school_id", "string", "School where the mentor runs the online-course lab."),
        Column("certified_subject", "string", "Subject of the mentor's teaching certificate, or none.",
               allowed=CORE_SUBJECTS + ("none",)),
        Column("instructionally_supportive", "bool",
               "Observed to give instructional support (not only supervision) in the lab."),
    ),
)

COURSE_RECORDS = Table(
    name="course_records",
    description=(
        "One row per course attempt: original attempts and credit-recovery retakes, "
        "in a classroom or online."
    ),
    key=("course_record_id",),
    foreign_keys=(
        ForeignKey(("student_id", "school_year"), "student_years", ("student_id", "school_year"),
                   "every course attempt falls in an enrolled student-year"),
        ForeignKey(("recovers_record_id",), "course_records", ("course_record_id",),
                   "a recovery attempt points at the failed original attempt it retakes"),
        ForeignKey(("mentor_id",), "mentors", ("mentor_id",), "online attempts name a known mentor"),
    ),
    columns=(
        Column("course_record_id", "string", "Course-attempt identifier (confidential)."),
        Column("student_id", "string", "Student identifier."),
        Column("school_year", "int", "School year of the attempt.", min=1990, max=2100),
        Column("school_id", "string", "School that records the attempt."),
        Column("term", "string", "Term of the attempt.", allowed=("fall", "spring", "summer")),
        Column("course_name", "string", "Course title, e.g. 'Algebra I'."),
        Column("subject", "string", "Subject area.", allowed=SUBJECTS),
        Column("attempt", "string", "Original attempt or credit-recovery retake.", allowed=("original", "recovery")),
        Column("recovers_record_id", "string", "For a recovery attempt, the failed attempt it retakes.", nullable=True),
        Column("delivery", "string", "How the course was delivered.", allowed=("classroom", "online")),
        Column("mentor_id", "string", "In-lab mentor of an online attempt; empty for classroom attempts.", nullable=True),
        Column("enrolled_date", "date", "Date of enrolment in the course."),
        Column("completed_date", "date", "Date the course ended for the student; empty if withdrawn.", nullable=True),
        Column("mark", "string", "Final mark (W = withdrawn).", allowed=MARKS),
        Column("program_model", "string",
               "Program model of an online recovery course (fully online, blended with in-person teaching, or "
               "competency-based); empty for classroom and original attempts. Optional: leave the column out if "
               "the district does not record it.", nullable=True, allowed=PROGRAM_MODELS, optional=True),
        Column("credits_attempted", "float", "Credit value of the course.", min=0.25, max=2.0, unit="credits"),
        Column("credits_earned", "float", "Credits earned: the credit value if passed (A-D), else 0.",
               min=0.0, max=2.0, unit="credits"),
    ),
)

PLATFORM_EVENTS = Table(
    name="platform_events",
    description="Raw event log of the online-course platform, one row per event.",
    key=("event_id",),
    foreign_keys=(
        ForeignKey(("student_id",), "students", ("student_id",), "events belong to known students"),
        ForeignKey(("course_record_id",), "course_records", ("course_record_id",),
                   "events belong to a known online course attempt"),
    ),
    columns=(
        Column("event_id", "int", "Event identifier, unique in the log.", min=0),
        Column("student_id", "string", "Student identifier."),
        Column("course_record_id", "string", "Online course attempt the event belongs to."),
        Column("timestamp", "timestamp", "When the event happened, with its UTC offset / time zone."),
        Column("event_type", "string", "Kind of event.", allowed=EVENT_TYPES),
        Column("score", "float", "Percent score of a quiz or test submission; empty for other events.",
               nullable=True, min=0.0, max=100.0, unit="percent"),
    ),
)

CALENDAR = Table(
    name="calendar",
    description="Optional: days on which schools are closed (holidays, breaks), for the school-day definition.",
    key=("date",),
    required=False,
    columns=(
        Column("date", "date", "A date on which schools are closed."),
        Column("description", "string", "Why (e.g. 'Thanksgiving').", nullable=True),
    ),
)

DIPLOMAS = Table(
    name="diplomas",
    description=(
        "Optional: one row per high-school diploma the district awarded in the extract's school years, "
        "for the graduation outcome."
    ),
    key=("student_id",),
    required=False,
    foreign_keys=(ForeignKey(("student_id", "school_year"), "student_years", ("student_id", "school_year"),
                             "a diploma is awarded in a school year the student was enrolled"),),
    columns=(
        Column("student_id", "string", "Student identifier."),
        Column("school_year", "int", "School year in which the diploma was awarded.", min=1990, max=2100),
    ),
)

ASSIGNMENTS = Table(
    name="assignments",
    description=(
        "Optional: the random assignment of a district experiment (a lottery for online or classroom "
        "recovery seats, as in Back on Track), one row per randomized student. Its presence makes the "
        "study randomized (config design: auto)."
    ),
    key=("student_id",),
    required=False,
    foreign_keys=(
        ForeignKey(("student_id",), "students", ("student_id",), "an assigned student is a known student"),
        ForeignKey(("failed_record_id",), "course_records", ("course_record_id",),
                   "the randomized failure is a known course record"),
    ),
    columns=(
        Column("student_id", "string", "Student identifier; each student is assigned once."),
        Column("failed_record_id", "string", "The failed course attempt (mark F) whose recovery was randomized."),
        Column("block", "string", "Randomization block (e.g. school by summer); each block has both arms."),
        Column("assigned_arm", "string", "The arm drawn for the student.", allowed=("online", "classroom")),
        Column("assignment_date", "date", "Date of the draw; on or before the enrolment in the recovery course."),
    ),
)

#: All tables, in dependency order.
TABLES: dict[str, Table] = {
    t.name: t for t in (STUDENTS, STUDENT_YEARS, MENTORS, COURSE_RECORDS, PLATFORM_EVENTS, CALENDAR, DIPLOMAS,
                        ASSIGNMENTS)
}

#: Identifier columns that must never appear in anything published.
IDENTIFIER_COLUMNS = ("student_id", "course_record_id", "mentor_id", "recovers_record_id", "event_id",
                      "failed_record_id")
