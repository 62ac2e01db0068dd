"""Everyday words for the brief: outcomes with their units, the comparisons, user types, covariates.

Plain data and look-ups, no numbers: :data:`OUTCOMES` says how each outcome's
effect is put in words (unit, direction words, scale, rounding),
:data:`COMPARISONS` names each comparison group, :data:`USER_TYPES` describes
the engagement types, :func:`covariate_words` names a matching covariate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

__all__ = ["COMPARISONS", "OUTCOMES", "Outcome", "USER_TYPES", "covariate_words", "outcome_words", "sentence_label"]


@dataclass(frozen=True)
class Outcome:
    """How an outcome is described in the brief.

    ``effect`` and ``idle`` are sentence fragments with ``{n}`` (the number,
    already tagged) and ``{dir}`` (``up`` or ``down`` word) placeholders;
    ``scale`` is 100 for proportions shown in percentage points.
    """

    label: str
    unit: str
    effect: str
    idle: str
    up: str = "higher"
    down: str = "lower"
    scale: float = 1.0
    digits: int = 2
    percentile: bool = False


def _prop(label: str, verb: str, digits: int = 1) -> Outcome:
    return Outcome(label, "percentage points", "were {n} percentage points {dir} likely to " + verb,
                   "a {n} percentage point {dir} chance to " + verb, up="more", down="less", scale=100.0,
                   digits=digits)


#: Everyday words for each outcome. Outcomes not listed are described generically.
OUTCOMES: dict[str, Outcome] = {
    "math": Outcome("Math score", "standard deviations", "scored {n} standard deviations {dir} in math the next year",
                    "a math score {n} standard deviations {dir}", percentile=True),
    "reading": Outcome("Reading score", "standard deviations",
                       "scored {n} standard deviations {dir} in reading the next year",
                       "a reading score {n} standard deviations {dir}", percentile=True),
    "credits": Outcome("Credits earned", "credits", "earned {n} {dir} credits in the next school year",
                       "{n} {dir} credits", up="more", down="fewer"),
    "gpa": Outcome("GPA", "grade points", "had a GPA {n} grade points {dir} the next year",
                   "a GPA {n} grade points {dir}"),
    "credit_recovered": _prop("Recovered the failed credit", "recover the failed credit"),
    "cum_credits_2y": Outcome("Credits earned over two years", "credits",
                              "earned {n} {dir} credits over the recovery year and the year after",
                              "{n} {dir} credits over two years", up="more", down="fewer"),
    "on_track": _prop("On track to graduate", "be on track to graduate at the end of the recovery year"),
    "graduated": _prop("Graduated within four years", "graduate within four years of starting high school"),
    "tests_taken": Outcome("Tests taken", "tests", "took {n} {dir} tests", "{n} {dir} tests taken", up="more",
                           down="fewer", digits=1),
    "test_pass_rate": Outcome("Share of tests passed", "percentage points",
                              "passed a share of their tests {n} percentage points {dir}",
                              "a share of tests passed {n} percentage points {dir}", scale=100.0, digits=1),
    "pass": _prop("Passed the online course", "pass the online course"),
    "passed": _prop("Passed the online course", "pass the online course"),
    "completed": _prop("Completed the online course", "complete the online course"),
    "completion": _prop("Completed the online course", "complete the online course"),
    "grade": Outcome("Course grade", "grade points", "had a course grade {n} grade points {dir}",
                     "a course grade {n} grade points {dir}"),
    "grade_points": Outcome("Course grade", "grade points", "had a course grade {n} grade points {dir}",
                            "a course grade {n} grade points {dir}"),
    "course_grade": Outcome("Course grade", "grade points", "had a course grade {n} grade points {dir}",
                            "a course grade {n} grade points {dir}"),
}

#: The comparisons the brief reports, with the comparison group named in words.
COMPARISONS: dict[str, dict[str, str]] = {
    "online": {
        "title": "Online recovery compared with retaking the course in a classroom",
        "who": "students who recovered the course online",
        "group": "similar students who retook the course in a classroom",
    },
    "mentor": {
        "title": "What in-person mentor support changed",
        "who": "online students whose mentor gave instructional support",
        "group": "similar online students whose mentor did not",
    },
    "idle": {
        "title": "What idle time predicts",
        "who": "",
        "group": "otherwise similar online students with less idle time",
    },
}

#: Planted/recovered user types: label and description (from the Milwaukee log study).
USER_TYPES: dict[str, tuple[str, str]] = {
    "engaged": ("Engaged users", "least idle time, more activities a day, fewer sessions to finish"),
    "moonlighter": ("Moonlighters", "productive, but most log-ins outside the school day"),
    "nominal_exerter": ("Nominal exerters", "much idle time, many sessions, few activities a day"),
    "incompatible_struggler": ("Incompatible strugglers",
                               "much idle time and little progress, more often in the first two years of high school and in math"),
}

_COVARIATE_WORDS = {
    "math_pre": "prior math score",
    "reading_pre": "prior reading score",
    "gpa_pre": "prior GPA",
    "credits_pre": "credits earned before",
    "absence_rate_pre": "prior absences",
    "grade": "grade level",
    "frl": "free or reduced-price lunch",
    "ell": "English learner status",
    "sped": "special education status",
    "gender": "gender",
    "race_ethnicity": "race and ethnicity",
    "subject": "subject of the course",
    "school_id": "school",
    "school_year": "school year",
    "logit": "propensity score",
}


def outcome_words(name: str) -> Outcome:
    """How outcome ``name`` is described: its :data:`OUTCOMES` entry, or generic words (``units``) if unlisted."""
    if name in OUTCOMES:
        return OUTCOMES[name]
    words = name.replace("_", " ")
    return Outcome(words[:1].upper() + words[1:], "units", "had " + words + " {n} units {dir}",
                   words + " {n} units {dir}")


def sentence_label(outcome: str) -> str:
    """The outcome's label inside a sentence: first letter in lower case unless the first word is an acronym."""
    label = outcome_words(outcome).label
    return label if label.split()[0].isupper() else label[0].lower() + label[1:]


def covariate_words(name: str, covariates: Sequence[str] = ()) -> str:
    """Everyday name of a covariate or of a dummy of a categorical one (``race_ethnicityBlack``)."""
    if name in _COVARIATE_WORDS:
        return _COVARIATE_WORDS[name]
    for base in sorted(set(covariates) | set(_COVARIATE_WORDS), key=len, reverse=True):
        if name.startswith(base) and len(name) > len(base):
            level = name[len(base):].lstrip("_").replace("_", " ")
            return f"{_COVARIATE_WORDS.get(base, base.replace('_', ' '))}: {level}"
    return name.replace("_", " ")
