# Specification curve (on demand: `snakemake spec_curve`; docs/specification-curve.md). One job per
# specification of the specification_curve section's grid (caliper x ratio x replacement x covariates x fixed
# effects x cluster), then one job that gathers them into a table, a summary and a figure per outcome.


rule spec_curve_job:
    input:
        cohort="results/cohort/cohort.parquet",
        code=PACKAGE_STAMP,
    output:
        "results/spec_curve/specs/{spec}.csv",
    wildcard_constraints:
        spec=r"cal[0-9.]+_r\d+_(rep|norep)_[a-z_]+_fe-[a-z_]+_cl-[a-z_]+",
    params:
        matching=config["matching"],
        models=config["models"],
        curve=config.get("specification_curve", {}),
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/spec_curve/{spec}.tsv"
    log:
        "results/logs/spec_curve/{spec}.log",
    script:
        "../scripts/spec_curve_job.py"


rule spec_curve:
    input:
        specs=spec_curve_files(),
        code=PACKAGE_STAMP,
    output:
        curve="results/spec_curve/curve.csv",
        summary="results/spec_curve/summary.csv",
        figures=directory("results/spec_curve/figures"),
    params:
        curve=config.get("specification_curve", {}),
        min_cell_size=config["privacy"]["min_cell_size"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/spec_curve.tsv"
    log:
        "results/logs/spec_curve.log",
    script:
        "../scripts/spec_curve.py"
