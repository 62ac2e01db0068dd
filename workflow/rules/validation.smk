rule validation:
    input:
        estimates="results/models/estimates.csv",
        samples="results/models/samples.parquet",
        unit_effects="results/truth/unit_effects.parquet",
        code=PACKAGE_STAMP,
    output:
        "results/validation/truth_vs_estimates.csv",
    conda:
        "../../environment.yml"
    log:
        "results/logs/validation.log",
    script:
        "../scripts/validation.py"
