# Helpers shared by the rule files (input functions, paths). No statistics here.
import hashlib
from pathlib import Path

from credit_recovery.disclosure.provenance import package_sources_text
from credit_recovery.truth.jobs import replicate_jobs

# The package's code stamp, an input of every script step. Its name carries the hash of the
# package's sources, so changing the package reruns those steps (Snakemake tracks only the scripts).
PACKAGE_STAMP = (
    "results/code/credit_recovery-"
    + hashlib.sha256(package_sources_text().encode("utf-8")).hexdigest()[:16]
    + ".txt"
)

def state_sources():
    """data.sources: district name -> extract folder or "synthetic" (empty: a single-district study)."""
    return dict(config["data"].get("sources") or {})


def is_state():
    """Whether this is a state-wide study of several districts (docs/state.md)."""
    return bool(state_sources())


def districts():
    return list(state_sources())


def synthetic_experiment():
    """Whether the synthetic district plants a randomized experiment (simulation.experiment.enabled)."""
    return bool((config["simulation"].get("experiment") or {}).get("enabled", False))


# The synthetic extract's tables (diplomas is optional in the contract; the synthetic district always has it;
# assignments when it plants an experiment).
TABLE_NAMES = ["students", "student_years", "mentors", "course_records", "platform_events", "diplomas"] + (
    ["assignments"] if config["data"]["source"] == "synthetic" and synthetic_experiment() and not is_state() else []
)


def has_assignments():
    """Whether the extract has the optional assignments table (synthetic: the experiment mode is on; a state
    study is observational)."""
    if is_state():
        return False
    if config["data"]["source"] == "synthetic":
        return synthetic_experiment()
    folder = Path(config["data"]["source"])
    return folder.is_dir() and any(p.name.split(".")[0] == "assignments" for p in folder.iterdir())


def study_design():
    """observational or randomized (data.design; auto follows the assignments table)."""
    from credit_recovery.data.experiment import resolve_design

    if is_state() and config["data"]["design"] == "randomized":
        raise ValueError("data.design: randomized is for a single district's extract; a state study "
                         "(data.sources) is observational (docs/state.md)")
    return resolve_design(config["data"]["design"], has_assignments())


def is_randomized():
    return study_design() == "randomized"


def validity_matrix_files(wildcards=None):
    """The validity matrix the reports draw on (reports.validity_matrix; relative to the project), or none."""
    path = config["reports"]["validity_matrix"]
    if not path:
        return []
    return [path if Path(path).is_absolute() else str(Path(workflow.basedir) / path)]


def is_synthetic():
    """Whether the data are synthetic with a planted truth (a state: every district synthetic)."""
    if is_state():
        return all(source == "synthetic" for source in state_sources().values())
    return config["data"]["source"] == "synthetic"


def source_files(wildcards):
    """Input files of the validate rule: the synthetic extract or the district's folder (a state study: every
    district's)."""
    if is_state():
        return [f for d in districts() for f in district_files(d)]
    if is_synthetic():
        return expand("results/synthetic/{table}.parquet", table=TABLE_NAMES)
    return folder_files(config["data"]["source"], "data.source")


def folder_files(source, key):
    """Every file of an extract folder (config key ``key`` names it), or a clear error when it is missing."""
    folder = Path(source)
    if not folder.is_dir():
        raise ValueError(
            f"{key}: folder {str(folder)!r} does not exist; point it at a folder of input tables "
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
ESTIMATE_PARTS = ["ocr", "panel", "mentor", "engagement", "subgroups"]


def estimate_parts():
    return expand("results/models/parts/{part}.csv", part=ESTIMATE_PARTS)


def estimate_samples():
    return expand("results/models/samples/{part}.parquet", part=ESTIMATE_PARTS)


# Public files (results/public/...) are found from the rules themselves, so a stage's new public tables
# and figures reach the appendix, the privacy scan and the manifest without editing a list here.
# Rules that run only on request (not part of `all`) are left out, so they are not pulled into every run.
ON_DEMAND_RULES = ["monte_carlo", "monte_carlo_replicate", "spec_curve", "spec_curve_job"]
REPORT_RULES = ["public_estimates", "brief", "appendix"]


# The randomized design's rules, and the only rules whose public files a randomized study publishes.
EXPERIMENT_RULES = ["experiment", "experiment_report", "experiment_truth"]
RANDOMIZED_PUBLIC_RULES = ["cohort", "experiment_report"]


def design_skips(rule_name):
    """Whether the study's design leaves a rule's public files out (a randomized study publishes the
    experiment's; an observational one everything else)."""
    if is_randomized():
        return rule_name not in RANDOMIZED_PUBLIC_RULES
    return rule_name in EXPERIMENT_RULES


def public_file_rules(wildcards=None):
    """{path: rule} for every fixed file under results/public/ that a (non on-demand) rule of the study's
    design writes."""
    out = {}
    for r in workflow.rules:
        if r.name in ON_DEMAND_RULES or r.name in ("privacy_scan", "manifest") or design_skips(r.name):
            continue
        for f in r.output:
            path = str(f)
            if path.startswith("results/public/") and "{" not in path:
                out[path] = r.name
    return dict(sorted(out.items()))


def public_files(wildcards):
    """Every public file of the run (inputs of the privacy scan)."""
    return list(public_file_rules())


def stage_public_files(wildcards):
    """Public files made by the analysis stages (not by the report rules): shown in the appendix."""
    return [p for p, made_by in public_file_rules().items() if made_by not in REPORT_RULES]


def produced(*paths):
    """Those of ``paths`` that the workflow writes; optional inputs, present when their stage is."""
    made = {str(f) for r in workflow.rules if r.name not in ON_DEMAND_RULES for f in r.output}
    return [p for p in paths if p in made]


# The engagement settings that define sessions (the typology and model settings are not among them, so
# changing those reruns neither the simulation nor the sessions).
SESSION_SETTINGS = ["session_gap_minutes", "idle_threshold_minutes", "timezone", "school_day_start",
                    "school_day_end", "pass_mark"]


def session_settings():
    return {k: config["engagement"][k] for k in SESSION_SETTINGS}


def engagement_session_files(wildcards):
    """Session files of every school year with platform events (known once the engagement_years checkpoint ran)."""
    import csv

    if is_state():
        return [f for d in districts() for f in district_session_files(None, d)]
    with open(checkpoints.engagement_years.get().output[0]) as f:
        years = [row["school_year"] for row in csv.DictReader(f)]
    return expand("results/engagement/sessions/school_year={year}.parquet", year=years)


def engagement_types(wildcards):
    return produced("results/engagement/types.parquet")


def truth_comparison_inputs(wildcards):
    """Estimates against the planted truth, when the data are synthetic (nothing otherwise)."""
    return ["results/truth_comparison/truth_vs_estimates.csv"] if is_synthetic() else []


def design_results(wildcards=None):
    """The design's main result files (inputs of the manifest)."""
    if is_randomized():
        return ["results/cohort/cohort.parquet", "results/experiment/estimates.csv"]
    return ["results/cohort/cohort.parquet", "results/matching/balance.csv", "results/models/estimates.csv"]


def final_outputs():
    if is_randomized():
        out = ["results/data", "results/cohort/cohort.parquet", "results/experiment/estimates.csv",
               "results/public/experiment/brief.html", "results/manifest.json"]
        if is_synthetic():
            out.append("results/experiment/truth_check.csv")
        return out
    out = [
        "results/data",
        "results/cohort/cohort.parquet",
        "results/matching/balance.csv",
        "results/models/estimates.csv",
        "results/models/effect_sizes.csv",
        "results/models/sensitivity.csv",
        "results/public/estimates.csv",
        "results/public/brief.html",
        "results/public/appendix.html",
        "results/manifest.json",
    ]
    if is_synthetic():
        out.append("results/truth_comparison/truth_vs_estimates.csv")
        out.append("results/truth_comparison/engagement.csv")
    out.append("results/engagement/typology_diagnostics.csv")
    if is_state():
        out += ["results/state/estimates.csv", "results/public/state/district_estimates.csv"]
        if is_synthetic():
            out.append("results/state/truth_check.csv")
    return out


def spec_curve_files(wildcards=None):
    """One table per specification of the specification_curve grid (rule spec_curve_job)."""
    from credit_recovery.specs.curve import curve_grid

    return [f"results/spec_curve/specs/{s}.csv" for s in curve_grid(config.get("specification_curve"))["spec_id"]]


def monte_carlo_replicate_files(wildcards=None):
    """The replicate tables the monte_carlo summary needs: every scenario x scale x batch of seeds."""
    return [
        f"results/monte_carlo/replicates/{scenario}/{scale}/seeds_{first}-{last}.csv"
        for scenario, scale, first, last in replicate_jobs(config)
    ]


# State-wide studies (data.sources; docs/state.md): per-district inputs and outputs.
def district_is_synthetic(district):
    return state_sources()[district] == "synthetic"


def synthetic_districts():
    return [d for d in districts() if district_is_synthetic(d)]


def district_source_folder(district):
    return f"results/state/synthetic/{district}" if district_is_synthetic(district) else state_sources()[district]


def district_source_param(wildcards):
    """The folder a district's validation reads (rule district_check_inputs)."""
    return district_source_folder(wildcards.district)


def district_wildcard(wildcards):
    return wildcards.district


def district_source_files(wildcards):
    """Input files of a district's validation: its synthetic extract or its folder."""
    return district_files(wildcards.district)


def district_files(d):
    if district_is_synthetic(d):
        return expand(f"results/state/synthetic/{d}/{{table}}.parquet", table=TABLE_NAMES)
    return folder_files(state_sources()[d], f"data.sources.{d}")


def district_session_files(wildcards, district=None):
    """Session files of one district's school years with platform events (after its checkpoint)."""
    import csv

    d = district or wildcards.district
    with open(checkpoints.district_engagement_years.get(district=d).output[0]) as f:
        years = [row["school_year"] for row in csv.DictReader(f)]
    return [f"results/state/engagement/{d}/sessions/school_year={y}.parquet" for y in years]


def state_files(pattern):
    """``pattern`` (with ``{district}``) for every district, in data.sources order."""
    return [pattern.format(district=d) for d in districts()]


def state_report_files(wildcards=None):
    """A state study's public table and figure (inputs of the brief; none in a single-district study)."""
    if not is_state():
        return []
    return ["results/public/state/district_estimates.csv", "results/public/figures/state_districts.png"]
