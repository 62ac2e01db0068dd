if not is_state():  # a state study (data.sources) has per-district rules instead (state.smk)
    rule simulate:
        input:
            code=PACKAGE_STAMP,
        output:
            tables=expand("results/synthetic/{table}.parquet", table=TABLE_NAMES),
            truth="results/truth/truth.json",
            unit_effects="results/truth/unit_effects.parquet",
            types="results/truth/types.parquet",
        params:
            simulation=config["simulation"],
            engagement=session_settings(),
            cohort=config["cohort"],
        conda:
            "../../environment.yml"
        benchmark:
            "results/logs/benchmarks/simulate.tsv"
        log:
            "results/logs/simulate.log",
        script:
            "../scripts/simulate.py"
