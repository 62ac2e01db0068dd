# Synthetic district only: each estimate against the planted truth over its own sample, and the
# engagement stage's recovered user types and idle-share effect against the planted ones.


rule truth_comparison:
    input:
        estimates="results/models/estimates.csv",
        samples="results/models/samples.parquet",
        unit_effects="results/truth/unit_effects.parquet",
        code=PACKAGE_STAMP,
    output:
        "results/truth_comparison/truth_vs_estimates.csv",
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/truth_comparison.tsv"
    log:
        "results/logs/truth_comparison.log",
    script:
        "../scripts/truth_comparison.py"


rule engagement_truth:
    input:
        types="results/engagement/types.parquet",
        planted="results/truth/types.parquet",
        truth="results/truth/truth.json",
        estimates="results/models/parts/engagement.csv",
        code=PACKAGE_STAMP,
    output:
        "results/truth_comparison/engagement.csv",
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/engagement_truth.tsv"
    log:
        "results/logs/engagement_truth.log",
    script:
        "../scripts/engagement_truth.py"
