rule models:
    input:
        cohort="results/cohort/cohort.parquet",
        matched="results/matching/matched.parquet",
        scores="results/matching/propensity.parquet",
        pairs="results/matching/pairs.parquet",
        # the balance gate passed (rule balance stops the run otherwise): no effect is estimated on an imbalanced match
        gate="results/matching/balance_gate.csv",
        code=PACKAGE_STAMP,
    output:
        estimates="results/models/parts/ocr.csv",
        samples="results/models/samples/ocr.parquet",
    params:
        outcomes=config["models"]["outcomes"],
        matching=config["matching"],
        models=config["models"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/models.tsv"
    log:
        "results/logs/models.log",
    script:
        "../scripts/models.py"


rule models_panel:
    input:
        data="results/data",
        cohort="results/cohort/cohort.parquet",
        code=PACKAGE_STAMP,
    output:
        estimates="results/models/parts/panel.csv",
        samples="results/models/samples/panel.parquet",
    params:
        models=config["models"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/models_panel.tsv"
    log:
        "results/logs/models_panel.log",
    script:
        "../scripts/models_panel.py"


rule models_mentor:
    input:
        data="results/data",
        cohort="results/cohort/cohort.parquet",
        code=PACKAGE_STAMP,
    output:
        estimates="results/models/parts/mentor.csv",
        samples="results/models/samples/mentor.parquet",
    params:
        models=config["models"],
        covariates=config["matching"]["covariates"],
        pass_mark=config["engagement"]["pass_mark"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/models_mentor.tsv"
    log:
        "results/logs/models_mentor.log",
    script:
        "../scripts/models_mentor.py"


rule estimates:
    input:
        parts=estimate_parts(),
        samples=estimate_samples(),
        code=PACKAGE_STAMP,
    output:
        estimates="results/models/estimates.csv",
        samples="results/models/samples.parquet",
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/estimates.tsv"
    log:
        "results/logs/estimates.log",
    script:
        "../scripts/estimates.py"


rule models_tables:
    input:
        estimates="results/models/estimates.csv",
        cohort="results/cohort/cohort.parquet",
        code=PACKAGE_STAMP,
    output:
        effect_sizes="results/models/effect_sizes.csv",
        public_effect_sizes="results/public/effect_sizes.csv",
        tables=multiext("results/public/tables/estimates_table", ".csv", ".md", ".tex"),
        forest=report(
            multiext("results/public/figures/forest_plot", ".png", ".svg"),
            caption="../report/forest_plot.rst",
            category="Effects",
        ),
        event_study=report(
            multiext("results/public/figures/event_study", ".png", ".svg"),
            caption="../report/event_study.rst",
            category="Effects",
        ),
    params:
        min_cell_size=config["privacy"]["min_cell_size"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/models_tables.tsv"
    log:
        "results/logs/models_tables.log",
    script:
        "../scripts/models_tables.py"


rule sensitivity:
    input:
        matched="results/matching/matched.parquet",
        scores="results/matching/propensity.parquet",
        pairs="results/matching/pairs.parquet",
        estimates="results/models/estimates.csv",
        # the mentor contrasts' comparison groups (online takers, their courses' tests), for the E-values
        cohort="results/cohort/cohort.parquet",
        data="results/data",
        code=PACKAGE_STAMP,
    output:
        table="results/models/sensitivity.csv",
        benchmarks="results/models/sensitivity_benchmarks.csv",
    params:
        matching=config["matching"],
        models=config["models"],
        sensitivity=config.get("sensitivity", {}),
        pass_mark=config["engagement"]["pass_mark"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/sensitivity.tsv"
    log:
        "results/logs/sensitivity.log",
    script:
        "../scripts/sensitivity.py"


rule models_subgroups:
    input:
        scores="results/matching/propensity.parquet",
        # the balance gate passed, as for the rule models
        gate="results/matching/balance_gate.csv",
        code=PACKAGE_STAMP,
    output:
        estimates="results/models/parts/subgroups.csv",
        samples="results/models/samples/subgroups.parquet",
        table="results/models/subgroups.csv",
        public="results/public/subgroups.csv",
    params:
        matching=config["matching"],
        models=config["models"],
        subgroups=config.get("subgroups", {}),
        min_cell_size=config["privacy"]["min_cell_size"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/models_subgroups.tsv"
    log:
        "results/logs/models_subgroups.log",
    script:
        "../scripts/models_subgroups.py"
