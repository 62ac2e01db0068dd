rule validate:
    input:
        source_files,
        code=PACKAGE_STAMP,
    output:
        tables=directory("results/data"),
        report="results/validation/input_report.csv",
    params:
        source=source_folder(),
        failures="results/validation/input_failures.csv",
    conda:
        "../../environment.yml"
    log:
        "results/logs/validate.log",
    script:
        "../scripts/validate.py"
