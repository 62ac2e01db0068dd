rule report:
    input:
        estimates="results/models/estimates.csv",
    output:
        estimates="results/public/estimates.csv",
        brief="results/public/brief.html",
    params:
        min_cell_size=config["privacy"]["min_cell_size"],
    conda:
        "../../environment.yml"
    log:
        "results/logs/report.log",
    script:
        "../scripts/report.py"


rule privacy:
    input:
        data="results/data",
        public=[
            "results/public/estimates.csv",
            "results/public/brief.html",
            multiext("results/public/figures/cohort_flow", ".png", ".svg"),
            multiext("results/public/figures/love_plot", ".png", ".svg"),
            multiext("results/public/figures/propensity_overlap", ".png", ".svg"),
            "results/public/effect_sizes.csv",
            multiext("results/public/tables/estimates_table", ".csv", ".md", ".tex"),
            multiext("results/public/figures/forest_plot", ".png", ".svg"),
            multiext("results/public/figures/event_study", ".png", ".svg"),
        ],
    output:
        "results/validation/privacy_scan.csv",
    params:
        min_cell_size=config["privacy"]["min_cell_size"],
    conda:
        "../../environment.yml"
    log:
        "results/logs/privacy.log",
    script:
        "../scripts/privacy.py"


rule manifest:
    input:
        privacy="results/validation/privacy_scan.csv",
        data="results/data",
        results=[
            "results/cohort/cohort.parquet",
            "results/matching/balance.csv",
            "results/models/estimates.csv",
        ],
        truth=truth_inputs,
    output:
        "results/manifest.json",
    params:
        config=config,
    conda:
        "../../environment.yml"
    log:
        "results/logs/manifest.log",
    script:
        "../scripts/manifest.py"
