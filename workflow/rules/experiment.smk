# The randomized design (data.design: randomized, or auto with an assignments table; docs/experiment.md):
# intention-to-treat and complier effects by assigned arm, instead of matching and the observational models.


rule experiment:
    input:
        data="results/data",
        cohort="results/cohort/cohort.parquet",
        ledger="results/cohort/ledger.parquet",
        code=PACKAGE_STAMP,
    output:
        units="results/experiment/units.parquet",
        excluded="results/experiment/excluded.csv",
        estimates="results/experiment/estimates.csv",
        first_stage="results/experiment/first_stage.csv",
        compliance="results/experiment/compliance.csv",
        balance="results/experiment/balance.csv",
        joint_test="results/experiment/joint_test.csv",
        attrition="results/experiment/attrition.csv",
    params:
        experiment=config["experiment"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/experiment.tsv"
    log:
        "results/logs/experiment.log",
    script:
        "../scripts/experiment.py"


rule experiment_report:
    input:
        excluded="results/experiment/excluded.csv",
        estimates="results/experiment/estimates.csv",
        first_stage="results/experiment/first_stage.csv",
        compliance="results/experiment/compliance.csv",
        balance="results/experiment/balance.csv",
        joint_test="results/experiment/joint_test.csv",
        attrition="results/experiment/attrition.csv",
        units="results/experiment/units.parquet",
        code=PACKAGE_STAMP,
    output:
        estimates="results/public/experiment/estimates.csv",
        first_stage="results/public/experiment/first_stage.csv",
        compliance="results/public/experiment/compliance.csv",
        balance="results/public/experiment/balance.csv",
        joint_test="results/public/experiment/joint_test.csv",
        attrition="results/public/experiment/attrition.csv",
        brief="results/public/experiment/brief.html",
    params:
        min_cell_size=config["privacy"]["min_cell_size"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/experiment_report.tsv"
    log:
        "results/logs/experiment_report.log",
    script:
        "../scripts/experiment_report.py"


rule experiment_truth:
    input:
        estimates="results/experiment/estimates.csv",
        truth="results/truth/truth.json",
        code=PACKAGE_STAMP,
    output:
        "results/experiment/truth_check.csv",
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/experiment_truth.tsv"
    log:
        "results/logs/experiment_truth.log",
    script:
        "../scripts/experiment_truth.py"
