rule models:
    input:
        cohort="results/cohort/cohort.parquet",
        matched="results/matching/matched.parquet",
    output:
        estimates="results/models/estimates.csv",
        samples="results/models/samples.parquet",
    params:
        outcomes=config["models"]["outcomes"],
        matching=config["matching"],
    conda:
        "../../environment.yml"
    log:
        "results/logs/models.log",
    script:
        "../scripts/models.py"
