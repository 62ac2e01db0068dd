# The package's code stamp: results/code/credit_recovery-<hash of its sources>.txt (see common.smk).


rule code_stamp:
    output:
        PACKAGE_STAMP,
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/code_stamp.tsv"
    log:
        "results/logs/code_stamp.log",
    script:
        "../scripts/code_stamp.py"
