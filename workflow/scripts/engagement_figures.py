"""Rule engagement_figures: type profiles, pass rate by idle share, log-in hours, efficiency by year."""
import matplotlib
import pandas as pd

from credit_recovery.engagement.figures import (efficiency_figure, idle_pass_figure, login_hour_figure,
                                                type_profile_figure)
from credit_recovery.shared.script_io import start_log
from credit_recovery.shared.style import save_figure

matplotlib.use("Agg")
log = start_log(snakemake.log[0])
features = pd.read_parquet(snakemake.input.features)
types = pd.read_parquet(snakemake.input.types, columns=["student_id", "course_record_id", "type"])
sessions = pd.concat([pd.read_parquet(f, columns=["student_id", "course_record_id", "start"])
                      for f in snakemake.input.sessions], ignore_index=True)
k = snakemake.params.min_cell_size
eng = snakemake.params.engagement
figures = {
    "profiles": (type_profile_figure(features, types, min_cell_size=k),
                 "User types of online credit recovery courses: standardized means of the engagement features.",
                 "Heat map with one row per user type and one column per engagement feature; cells show how "
                 "many standard deviations the type's mean lies above or below the mean of all online courses."),
    "idle_pass": (idle_pass_figure(features, bins=eng["idle_bins"], min_cell_size=k),
                  "Share of online credit recovery courses passed, by share of session time spent idle "
                  "(bins with fewer than the minimum cell size of students are not shown).",
                  "Line with a shaded 95% band: the pass rate of online courses falls as the share of idle "
                  "session time rises."),
    "login_hours": (login_hour_figure(sessions, types, timezone=eng["timezone"], min_cell_size=k),
                    "Share of log-ins by hour of day (school time zone), by user type.",
                    "One line per user type over the 24 hours of the day; moonlighters log in mostly outside "
                    "school hours, the other types mostly during the school day."),
    "efficiency": (efficiency_figure(features, types, min_cell_size=k),
                   "Activities completed per active hour, by school year and user type (means with 95% "
                   "intervals).",
                   "One line per user type across school years showing activities completed per active hour."),
}
for name, ((fig, table), caption, alt) in figures.items():
    save_figure(fig, getattr(snakemake.output, name)[0].removesuffix(".png"), caption=caption, alt_text=alt)
    log.info("%s: %d rows drawn, %d suppressed", name, int((~table["suppressed"]).sum()),
             int(table["suppressed"].sum()))
