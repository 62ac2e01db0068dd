# Monte Carlo study of the estimators over a suite of scenarios (synthetic only): `snakemake monte_carlo`.
# Not part of rule all. One job per scenario x scale x batch of replicate seeds (monte_carlo.scenarios,
# .scales, .replicates, .first_seed, .batch_size; seeds {first} to {last} inclusive), then one summary job:
# the validity matrix and its figures (docs/validity.md).
# Quick preset (every scenario, 2 replicates, scale tiny):
#   snakemake --configfile config.yaml workflow/presets/monte_carlo_quick.yaml --cores 2 monte_carlo


rule monte_carlo_replicate:
    input:
        code=PACKAGE_STAMP,
    output:
        "results/monte_carlo/replicates/{scenario}/{scale}/seeds_{first}-{last}.csv",
    wildcard_constraints:
        scenario=r"[a-z][a-z0-9_]*",
        scale=r"tiny|small|medium|default|paper",
        first=r"\d+",
        last=r"\d+",
    params:
        config=config,
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/monte_carlo/{scenario}/{scale}/seeds_{first}-{last}.tsv"
    log:
        "results/logs/monte_carlo/{scenario}/{scale}/seeds_{first}-{last}.log",
    script:
        "../scripts/monte_carlo_replicate.py"


rule monte_carlo:
    input:
        replicates=monte_carlo_replicate_files(),
        code=PACKAGE_STAMP,
    output:
        summary="results/monte_carlo/monte_carlo.csv",
        validity="results/monte_carlo/validity_matrix.csv",
        intervals="results/monte_carlo/interval_check.csv",
        replicates="results/monte_carlo/replicates.parquet",
        figure=multiext("results/monte_carlo/monte_carlo", ".png", ".svg"),
        heatmap=multiext("results/monte_carlo/validity_matrix", ".png", ".svg"),
    params:
        scenarios=list(config["monte_carlo"]["scenarios"]),
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/monte_carlo.tsv"
    log:
        "results/logs/monte_carlo.log",
    script:
        "../scripts/monte_carlo.py"
