# Credit recovery study: wiring only. Stages live in workflow/rules/, statistics in credit_recovery.
from snakemake.utils import validate


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml", set_default=True)


include: "workflow/rules/common.smk"
include: "workflow/rules/code.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/validate.smk"
include: "workflow/rules/cohort.smk"
include: "workflow/rules/matching.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/engagement.smk"
include: "workflow/rules/validation.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/validation_mc.smk"


rule all:
    input:
        final_outputs(),
    default_target: True
