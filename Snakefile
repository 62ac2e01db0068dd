# Credit recovery study: wiring only. Stages live in workflow/rules/, statistics in credit_recovery.
from snakemake.utils import validate

from credit_recovery.data.state import match_within_districts
from credit_recovery.data.timing import check_adjustment_timing


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml", set_default=True)
check_adjustment_timing(config)  # only pre-treatment covariates in the designs (docs/cohort.md)
match_within_districts(config)  # a state study matches within districts (docs/state.md)


include: "workflow/rules/common.smk"
include: "workflow/rules/code.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/check_inputs.smk"
include: "workflow/rules/cohort.smk"
include: "workflow/rules/matching.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/experiment.smk"
include: "workflow/rules/engagement.smk"
include: "workflow/rules/state.smk"
include: "workflow/rules/truth_comparison.smk"
include: "workflow/rules/reports.smk"
include: "workflow/rules/disclosure.smk"
include: "workflow/rules/monte_carlo.smk"
include: "workflow/rules/spec_curve.smk"


rule all:
    input:
        final_outputs(),
    default_target: True
