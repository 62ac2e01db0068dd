if not is_state():  # a state study (data.sources) has per-district rules instead (state.smk)
    rule check_inputs:
        input:
            source_files,
            code=PACKAGE_STAMP,
        output:
            tables=directory("results/data"),
            report="results/checks/input_report.csv",
        params:
            source=source_folder(),
            failures="results/checks/input_failures.csv",
        conda:
            "../../environment.yml"
        benchmark:
            "results/logs/benchmarks/check_inputs.tsv"
        log:
            "results/logs/check_inputs.log",
        script:
            "../scripts/check_inputs.py"
