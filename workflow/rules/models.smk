rule models:
    input:
        cohort="results/cohort/cohort.parquet",
        matched="results/matching/matched.parquet",
    output:
        estimates="results/models/parts/ocr.csv",
        samples="results/models/samples/ocr.parquet",
    params:
        outcomes=config["models"]["outcomes"],
        matching=config["matching"],
    conda:
        "../../environment.yml"
    log:
        "results/logs/models.log",
    script:
        "../scripts/models.py"


rule estimates:
    input:
        parts=estimate_parts(),
        samples=estimate_samples(),
    output:
        estimates="results/models/estimates.csv",
        samples="results/models/samples.parquet",
    conda:
        "../../environment.yml"
    log:
        "results/logs/estimates.log",
    script:
        "../scripts/estimates.py"
