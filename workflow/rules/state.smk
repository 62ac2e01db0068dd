# State-wide studies (data.sources; docs/state.md). Each district is simulated (synthetic state), validated,
# its cohort built and its platform events sessionized (per school year) in jobs of its own; each district's
# effects are estimated in a job of its own; the state_* rules stack the districts (identifiers prefixed with
# the district's name) into results/data, results/cohort and results/engagement, where the single-district
# stages estimate the pooled effects. Nothing here runs in a single-district study.

if is_state():

    wildcard_constraints:
        district=r"[A-Za-z][A-Za-z0-9_]*",

    rule district_simulate:
        input:
            code=PACKAGE_STAMP,
        output:
            tables=expand("results/state/synthetic/{{district}}/{table}.parquet", table=TABLE_NAMES),
            truth="results/state/truth/{district}/truth.json",
            unit_effects="results/state/truth/{district}/unit_effects.parquet",
            types="results/state/truth/{district}/types.parquet",
        params:
            simulation=config["simulation"],
            districts=synthetic_districts(),
            engagement=session_settings(),
            cohort=config["cohort"],
        resources:
            mem_mb=4096,
        conda:
            "../../environment.yml"
        log:
            "results/logs/state/{district}/simulate.log",
        benchmark:
            "results/logs/benchmarks/state/{district}/simulate.tsv"
        script:
            "../scripts/district_simulate.py"

    rule district_check_inputs:
        input:
            district_source_files,
            code=PACKAGE_STAMP,
        output:
            tables=directory("results/state/data/{district}"),
            report="results/state/checks/{district}/input_report.csv",
        params:
            source=district_source_param,
            failures="results/state/checks/{district}/input_failures.csv",
            district=district_wildcard,
        resources:
            mem_mb=4096,
        conda:
            "../../environment.yml"
        log:
            "results/logs/state/{district}/check_inputs.log",
        benchmark:
            "results/logs/benchmarks/state/{district}/check_inputs.tsv"
        script:
            "../scripts/check_inputs.py"

    rule district_cohort:
        input:
            "results/state/data/{district}",
            code=PACKAGE_STAMP,
        output:
            cohort="results/state/cohort/{district}/cohort.parquet",
            ledger="results/state/cohort/{district}/ledger.parquet",
            ledger_counts="results/state/cohort/{district}/ledger_counts.csv",
            flow="results/state/cohort/{district}/flow.csv",
        params:
            cohort=config["cohort"],
        conda:
            "../../environment.yml"
        log:
            "results/logs/state/{district}/cohort.log",
        benchmark:
            "results/logs/benchmarks/state/{district}/cohort.tsv"
        script:
            "../scripts/district_cohort.py"

    checkpoint district_engagement_years:
        input:
            data="results/state/data/{district}",
        output:
            "results/state/engagement/{district}/school_years.csv",
        conda:
            "../../environment.yml"
        benchmark:
            "results/logs/benchmarks/state/{district}/engagement_years.tsv"
        log:
            "results/logs/state/{district}/engagement_years.log",
        script:
            "../scripts/engagement_years.py"

    rule district_sessions:
        input:
            data="results/state/data/{district}",
            years="results/state/engagement/{district}/school_years.csv",
            code=PACKAGE_STAMP,
        output:
            "results/state/engagement/{district}/sessions/school_year={year}.parquet",
        wildcard_constraints:
            year=r"\d+",
        params:
            engagement=session_settings(),
        threads: 1
        resources:
            mem_mb=2048,
        conda:
            "../../environment.yml"
        log:
            "results/logs/state/{district}/sessions/school_year={year}.log",
        benchmark:
            "results/logs/benchmarks/state/{district}/sessions/school_year={year}.tsv"
        script:
            "../scripts/sessions.py"

    rule district_engagement_features:
        input:
            data="results/state/data/{district}",
            sessions=district_session_files,
            code=PACKAGE_STAMP,
        output:
            "results/state/engagement/{district}/features.parquet",
        params:
            engagement=session_settings(),
        threads: 1
        resources:
            mem_mb=2048,
        conda:
            "../../environment.yml"
        benchmark:
            "results/logs/benchmarks/state/{district}/engagement_features.tsv"
        log:
            "results/logs/state/{district}/engagement_features.log",
        script:
            "../scripts/engagement_features.py"

    rule district_estimates:
        input:
            cohort="results/state/cohort/{district}/cohort.parquet",
            code=PACKAGE_STAMP,
        output:
            estimates="results/state/estimates/{district}.csv",
            samples="results/state/samples/{district}.parquet",
        params:
            matching=config["matching"],
            models=config["models"],
        resources:
            mem_mb=2048,
        conda:
            "../../environment.yml"
        log:
            "results/logs/state/{district}/estimates.log",
        benchmark:
            "results/logs/benchmarks/state/{district}/estimates.tsv"
        script:
            "../scripts/district_estimates.py"

    rule district_truth:
        input:
            estimates="results/state/estimates/{district}.csv",
            samples="results/state/samples/{district}.parquet",
            unit_effects="results/state/truth/{district}/unit_effects.parquet",
            code=PACKAGE_STAMP,
        output:
            "results/state/truth/{district}/truth_vs_estimates.csv",
        conda:
            "../../environment.yml"
        benchmark:
            "results/logs/benchmarks/state/{district}/truth.tsv"
        log:
            "results/logs/state/{district}/truth.log",
        script:
            "../scripts/district_truth.py"

    rule state_data:
        input:
            tables=state_files("results/state/data/{district}"),
            reports=state_files("results/state/checks/{district}/input_report.csv"),
            code=PACKAGE_STAMP,
        output:
            tables=directory("results/data"),
            report="results/checks/input_report.csv",
        params:
            districts=districts(),
        conda:
            "../../environment.yml"
        benchmark:
            "results/logs/benchmarks/state/state_data.tsv"
        log:
            "results/logs/state/state_data.log",
        script:
            "../scripts/state_data.py"

    rule state_cohort:
        input:
            cohorts=state_files("results/state/cohort/{district}/cohort.parquet"),
            ledgers=state_files("results/state/cohort/{district}/ledger.parquet"),
            ledger_counts=state_files("results/state/cohort/{district}/ledger_counts.csv"),
            flows=state_files("results/state/cohort/{district}/flow.csv"),
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
            districts=districts(),
            min_cell_size=config["privacy"]["min_cell_size"],
        conda:
            "../../environment.yml"
        benchmark:
            "results/logs/benchmarks/state/state_cohort.tsv"
        log:
            "results/logs/state/state_cohort.log",
        script:
            "../scripts/state_cohort.py"

    rule state_engagement:
        input:
            features=state_files("results/state/engagement/{district}/features.parquet"),
            code=PACKAGE_STAMP,
        output:
            "results/engagement/features.parquet",
        params:
            districts=districts(),
        conda:
            "../../environment.yml"
        benchmark:
            "results/logs/benchmarks/state/state_engagement.tsv"
        log:
            "results/logs/state/state_engagement.log",
        script:
            "../scripts/state_engagement.py"

    rule state_truth_pool:
        input:
            truths=state_files("results/state/truth/{district}/truth.json"),
            unit_effects=state_files("results/state/truth/{district}/unit_effects.parquet"),
            types=state_files("results/state/truth/{district}/types.parquet"),
            code=PACKAGE_STAMP,
        output:
            truth="results/truth/truth.json",
            unit_effects="results/truth/unit_effects.parquet",
            types="results/truth/types.parquet",
        params:
            districts=districts(),
        conda:
            "../../environment.yml"
        benchmark:
            "results/logs/benchmarks/state/state_truth_pool.tsv"
        log:
            "results/logs/state/state_truth_pool.log",
        script:
            "../scripts/state_truth_pool.py"

    rule state_estimates:
        input:
            districts=state_files("results/state/estimates/{district}.csv"),
            pooled="results/models/estimates.csv",
            balance="results/matching/balance.csv",
            code=PACKAGE_STAMP,
        output:
            table="results/state/estimates.csv",
            public="results/public/state/district_estimates.csv",
            figure=report(
                multiext("results/public/figures/state_districts", ".png", ".svg"),
                caption="../report/state_districts.rst",
                category="Effects",
            ),
        params:
            districts=districts(),
            primary=config["models"]["primary"],
            min_cell_size=config["privacy"]["min_cell_size"],
        conda:
            "../../environment.yml"
        benchmark:
            "results/logs/benchmarks/state/state_estimates.tsv"
        log:
            "results/logs/state/state_estimates.log",
        script:
            "../scripts/state_estimates.py"

    rule state_truth:
        input:
            districts=state_files("results/state/truth/{district}/truth_vs_estimates.csv"),
            pooled="results/truth_comparison/truth_vs_estimates.csv",
            code=PACKAGE_STAMP,
        output:
            table="results/state/truth_check.csv",
            summary="results/state/truth_coverage.csv",
        params:
            districts=districts(),
        conda:
            "../../environment.yml"
        benchmark:
            "results/logs/benchmarks/state/state_truth.tsv"
        log:
            "results/logs/state/state_truth.log",
        script:
            "../scripts/state_truth.py"
