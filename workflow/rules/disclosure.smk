# Disclosure control after the reports: the scan of everything public for identifiers and small cells,
# then the provenance manifest.


rule privacy_scan:
    input:
        data="results/data",
        public=public_files,
        code=PACKAGE_STAMP,
    output:
        "results/disclosure/privacy_scan.csv",
    params:
        folder="results/public",
        min_cell_size=config["privacy"]["min_cell_size"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/privacy_scan.tsv"
    log:
        "results/logs/privacy_scan.log",
    script:
        "../scripts/privacy_scan.py"


rule manifest:
    input:
        privacy="results/disclosure/privacy_scan.csv",
        source=source_files,
        data="results/data",
        results=design_results,
        truth=truth_inputs,
        validity=validity_matrix_files,
        public=public_files,
        code=PACKAGE_STAMP,
    output:
        "results/manifest.json",
    params:
        config=config,
        public_rules=public_file_rules,
        repo=workflow.basedir,
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/manifest.tsv"
    log:
        "results/logs/manifest.log",
    script:
        "../scripts/manifest.py"
