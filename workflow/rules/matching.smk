rule propensity:
    input:
        cohort="results/cohort/cohort.parquet",
        code=PACKAGE_STAMP,
    output:
        scores="results/matching/propensity.parquet",
        coefficients="results/matching/propensity_coefficients.csv",
    params:
        covariates=config["matching"]["covariates"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/propensity.tsv"
    log:
        "results/logs/propensity.log",
    script:
        "../scripts/propensity.py"


rule match:
    input:
        scores="results/matching/propensity.parquet",
        code=PACKAGE_STAMP,
    output:
        matched="results/matching/matched.parquet",
        pairs="results/matching/pairs.parquet",
        summary="results/matching/match_summary.csv",
        unmatched="results/matching/unmatched.parquet",
    params:
        options=config["matching"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/match.tsv"
    log:
        "results/logs/match.log",
    script:
        "../scripts/match.py"


rule balance:
    input:
        scores="results/matching/propensity.parquet",
        matched="results/matching/matched.parquet",
        code=PACKAGE_STAMP,
    output:
        table="results/matching/balance.csv",
        gate="results/matching/balance_gate.csv",
        support="results/matching/common_support.csv",
        love=report(
            multiext("results/public/figures/love_plot", ".png", ".svg"),
            caption="../report/love_plot.rst",
            category="Matching",
        ),
        overlap=report(
            multiext("results/public/figures/propensity_overlap", ".png", ".svg"),
            caption="../report/propensity_overlap.rst",
            category="Matching",
        ),
    params:
        options=config["matching"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/balance.tsv"
    log:
        "results/logs/balance.log",
    script:
        "../scripts/balance.py"


rule attrition:
    input:
        cohort="results/cohort/cohort.parquet",
        matched="results/matching/matched.parquet",
        code=PACKAGE_STAMP,
    output:
        table="results/matching/attrition.csv",
        bounds="results/matching/lee_bounds.csv",
    params:
        outcomes=config["models"]["outcomes"],
        cluster=config["models"]["cluster"],
        reps=config["models"]["bootstrap_reps"],
        seed=config["models"]["seed"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/attrition.tsv"
    log:
        "results/logs/attrition.log",
    script:
        "../scripts/attrition.py"
