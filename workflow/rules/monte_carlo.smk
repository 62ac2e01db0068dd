# Monte Carlo study of the estimators (synthetic only): `snakemake monte_carlo`. Not part of rule all.
# One job per replicate seed; each job runs every confounding level of monte_carlo in-process.


rule monte_carlo_replicate:
    input:
        code=PACKAGE_STAMP,
    output:
        "results/monte_carlo/replicates/replicate_{seed}.csv",
    wildcard_constraints:
        seed=r"\d+",
    params:
        config=config,
    conda:
        "../../environment.yml"
    log:
        "results/logs/monte_carlo/replicate_{seed}.log",
    script:
        "../scripts/monte_carlo_replicate.py"


rule monte_carlo:
    input:
        replicates=expand(
            "results/monte_carlo/replicates/replicate_{seed}.csv",
            seed=range(
                config["monte_carlo"]["first_seed"],
                config["monte_carlo"]["first_seed"] + config["monte_carlo"]["replicates"],
            ),
        ),
        code=PACKAGE_STAMP,
    output:
        summary="results/monte_carlo/monte_carlo.csv",
        replicates="results/monte_carlo/replicates.parquet",
        figure=multiext("results/monte_carlo/monte_carlo", ".png", ".svg"),
    conda:
        "../../environment.yml"
    log:
        "results/logs/monte_carlo.log",
    script:
        "../scripts/monte_carlo.py"
