# Reports for three audiences: the plain-language brief and the technical appendix (Jupyter notebooks in
# notebooks/ executed with parameters and exported to self-contained HTML), the publishable estimate table,
# and Snakemake's own report (`make snakemake-report`). The privacy scan and the manifest are in disclosure.smk.


rule public_estimates:
    input:
        estimates="results/models/estimates.csv",
        code=PACKAGE_STAMP,
    output:
        estimates="results/public/estimates.csv",
    params:
        min_cell_size=config["privacy"]["min_cell_size"],
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/public_estimates.tsv"
    log:
        "results/logs/public_estimates.log",
    script:
        "../scripts/public_estimates.py"


rule brief:
    input:
        notebook=f"{workflow.basedir}/notebooks/brief.ipynb",
        estimates="results/models/estimates.csv",
        balance="results/matching/balance.csv",
        data="results/data",
        types=engagement_types,
        validity=validity_matrix_files,
        sensitivity="results/models/sensitivity.csv",
        sensitivity_benchmarks="results/models/sensitivity_benchmarks.csv",
        subgroups="results/public/subgroups.csv",
        match_summary="results/matching/match_summary.csv",
        state=state_report_files,
        code=PACKAGE_STAMP,
    output:
        html=report(
            "results/public/brief.html",
            caption="../report/brief.rst",
            category="Reports",
        ),
        figure=report(
            multiext("results/public/figures/brief_effects", ".png", ".svg"),
            caption="../report/brief_effects.rst",
            category="Effects",
        ),
    params:
        title="Online credit recovery: what changed for students",
        parameters={"config": config, "min_cell_size": config["privacy"]["min_cell_size"]},
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/brief.tsv"
    log:
        "results/logs/brief.log",
    script:
        "../scripts/render_notebook.py"


rule appendix:
    input:
        notebook=f"{workflow.basedir}/notebooks/appendix.ipynb",
        estimates="results/models/estimates.csv",
        balance="results/matching/balance.csv",
        data="results/data",
        truth=truth_comparison_inputs,
        attrition="results/matching/attrition.csv",
        lee_bounds="results/matching/lee_bounds.csv",
        sensitivity="results/models/sensitivity.csv",
        sensitivity_benchmarks="results/models/sensitivity_benchmarks.csv",
        subgroups="results/public/subgroups.csv",
        stage_files=stage_public_files,
        validity=validity_matrix_files,
        code=PACKAGE_STAMP,
    output:
        html=report(
            "results/public/appendix.html",
            caption="../report/appendix.rst",
            category="Reports",
        ),
    params:
        title="Online credit recovery: technical appendix",
        parameters={"config": config, "min_cell_size": config["privacy"]["min_cell_size"]},
    conda:
        "../../environment.yml"
    benchmark:
        "results/logs/benchmarks/appendix.tsv"
    log:
        "results/logs/appendix.log",
    script:
        "../scripts/render_notebook.py"
