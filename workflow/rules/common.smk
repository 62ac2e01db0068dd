# Helpers shared by the rule files (input functions, paths). No statistics here.
from pathlib import Path

TABLE_NAMES = ["students", "student_years", "mentors", "course_records", "platform_events"]


def is_synthetic():
    return config["data"]["source"] == "synthetic"


def source_files(wildcards):
    """Input files of the validate rule: the synthetic extract or the district's folder."""
    if is_synthetic():
        return expand("results/synthetic/{table}.parquet", table=TABLE_NAMES)
    folder = Path(config["data"]["source"])
    if not folder.is_dir():
        raise ValueError(
            f"data.source: folder {str(folder)!r} does not exist; point it at a folder of input tables "
            "(see docs/data-contract.md) or use 'synthetic'"
        )
    return sorted(str(p) for p in folder.rglob("*") if p.is_file())


def source_folder():
    return "results/synthetic" if is_synthetic() else config["data"]["source"]


def truth_inputs(wildcards):
    """Planted truth, when the data are synthetic (nothing otherwise)."""
    if is_synthetic():
        return ["results/truth/truth.json", "results/truth/unit_effects.parquet"]
    return []


# Stages that contribute estimate rows: each writes results/models/parts/<name>.csv (tidy schema)
# and results/models/samples/<name>.parquet (sample, outcome, student_id, recovery_record_id, online).
ESTIMATE_PARTS = ["ocr", "panel", "mentor"]


def estimate_parts():
    return expand("results/models/parts/{part}.csv", part=ESTIMATE_PARTS)


def estimate_samples():
    return expand("results/models/samples/{part}.parquet", part=ESTIMATE_PARTS)


def final_outputs():
    out = [
        "results/data",
        "results/cohort/cohort.parquet",
        "results/matching/balance.csv",
        "results/models/estimates.csv",
        "results/models/effect_sizes.csv",
        "results/public/estimates.csv",
        "results/public/brief.html",
        "results/manifest.json",
    ]
    if is_synthetic():
        out.append("results/validation/truth_vs_estimates.csv")
    return out
