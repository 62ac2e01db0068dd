# Engagement analytics from the platform logs (docs/methods.md): sessions per school year (one job each,
# DuckDB over parquet), student-course features, user types, associations with course results, public
# figures. The check against the planted types and idle-share effect is in truth_comparison.smk.


if not is_state():  # a state study (data.sources) has per-district rules instead (state.smk)
    checkpoint engagement_years:
        input:
            data="results/data",
        output:
            "results/engagement/school_years.csv",
        conda:
            "../../environment.yml"
        benchmark:
            "results/logs/benchmarks/engagement_years.tsv"
        log:
            "results/logs/engagement_years.log",
        script:
            "../scripts/engagement_years.py"


if not is_state():  # a state study (data.sources) has per-district rules instead (state.smk)
    rule sessions:
        input:
            data="results/data",
            years="results/engagement/school_years.csv",
            code=PACKAGE_STAMP,
        output:
            "results/engagement/sessions/school_year={year}.parquet",
        wildcard_constraints:
            year=r"\d+",
        params:
            engagement=session_settings(),
        threads: 1
        resources:
            mem_mb=2048,
        conda:
            "../../environment.yml"
        log:
            "results/logs/sessions/school_year={year}.log",
        benchmark:
            "results/logs/benchmarks/sessions/school_year={year}.tsv"
        script:
            "../scripts/sessions.py"


if not is_state():  # a state study (data.sources) has per-district rules instead (state.smk)
    rule engagement_features:
        input:
            data="results/data",
            sessions=engagement_session_files,
            code=PACKAGE_STAMP,
        output:
            "results/engagement/features.parquet",
        params:
            engagement=session_settings(),
        threads: 2
        resources:
            mem_mb=2048,
        conda:
            "../../environment.yml"
        log:
            "results/logs/engagement_features.log",
        benchmark:
            "results/logs/benchmarks/engagement_features.tsv"
        script:
            "../scripts/engagement_features.py"


rule typology:
    input:
        features="results/engagement/features.parquet",
        code=PACKAGE_STAMP,
    output:
        types="results/engagement/types.parquet",
        diagnostics="results/engagement/typology_diagnostics.csv",
        profiles="results/engagement/typology_profiles.csv",
    params:
        engagement=config["engagement"],
    conda:
        "../../environment.yml"
    log:
        "results/logs/typology.log",
    benchmark:
        "results/logs/benchmarks/typology.tsv"
    script:
        "../scripts/typology.py"


rule engagement_models:
    input:
        data="results/data",
        features="results/engagement/features.parquet",
        types="results/engagement/types.parquet",
        code=PACKAGE_STAMP,
    output:
        estimates="results/models/parts/engagement.csv",
        samples="results/models/samples/engagement.parquet",
    params:
        models=config["models"],
        engagement=config["engagement"],
    conda:
        "../../environment.yml"
    log:
        "results/logs/engagement_models.log",
    benchmark:
        "results/logs/benchmarks/engagement_models.tsv"
    script:
        "../scripts/engagement_models.py"


rule engagement_figures:
    input:
        features="results/engagement/features.parquet",
        types="results/engagement/types.parquet",
        sessions=engagement_session_files,
        code=PACKAGE_STAMP,
    output:
        profiles=multiext("results/public/figures/engagement_type_profiles", ".png", ".svg"),
        idle_pass=multiext("results/public/figures/engagement_idle_pass", ".png", ".svg"),
        login_hours=multiext("results/public/figures/engagement_login_hours", ".png", ".svg"),
        efficiency=multiext("results/public/figures/engagement_efficiency", ".png", ".svg"),
    params:
        engagement=config["engagement"],
        min_cell_size=config["privacy"]["min_cell_size"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/engagement_figures.tsv"
    log:
        "results/logs/engagement_figures.log",
    script:
        "../scripts/engagement_figures.py"
