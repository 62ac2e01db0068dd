# Monte Carlo study of the estimators (synthetic only): `snakemake validation_mc`. Not part of rule all.
# One job per replicate seed; each job runs every confounding level of validation_mc in-process.


rule validation_mc_replicate:
    input:
        code=PACKAGE_STAMP,
    output:
        "results/validation/mc/replicate_{seed}.csv",
    wildcard_constraints:
        seed=r"\d+",
    params:
        config=config,
    conda:
        "../../environment.yml"
    log:
        "results/logs/mc/replicate_{seed}.log",
    script:
        "../scripts/mc_replicate.py"


rule validation_mc:
    input:
        replicates=expand(
            "results/validation/mc/replicate_{seed}.csv",
            seed=range(
                config["validation_mc"]["first_seed"],
                config["validation_mc"]["first_seed"] + config["validation_mc"]["replicates"],
            ),
        ),
        code=PACKAGE_STAMP,
    output:
        summary="results/validation/monte_carlo.csv",
        replicates="results/validation/monte_carlo_replicates.parquet",
        figure=multiext("results/validation/monte_carlo", ".png", ".svg"),
    conda:
        "../../environment.yml"
    log:
        "results/logs/validation_mc.log",
    script:
        "../scripts/mc_summary.py"
