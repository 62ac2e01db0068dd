if not is_state():  # a state study (data.sources) has per-district rules instead (state.smk)
    rule cohort:
        input:
            "results/data",
            code=PACKAGE_STAMP,
        output:
            cohort="results/cohort/cohort.parquet",
            ledger="results/cohort/ledger.parquet",
            ledger_counts="results/cohort/ledger_counts.csv",
            flow="results/cohort/flow.csv",
            figure=report(
                multiext("results/public/figures/cohort_flow", ".png", ".svg"),
                caption="../report/cohort_flow.rst",
                category="Cohort",
            ),
        params:
            min_cell_size=config["privacy"]["min_cell_size"],
            cohort=config["cohort"],
        conda:
            "../../environment.yml"
        benchmark:
            "results/logs/benchmarks/cohort.tsv"
        log:
            "results/logs/cohort.log",
        script:
            "../scripts/cohort.py"
