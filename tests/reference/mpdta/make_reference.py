"""Reference numbers from the Python port of R `did` (csdid) for the scenarios the R files here lack.

Run (reference venv only; csdid is no dependency of the pipeline):

    python3 -m venv /work/refenv-cs && /work/refenv-cs/bin/pip install csdid==0.4.3
    cd tests/reference/mpdta && /work/refenv-cs/bin/python make_reference.py

Writes ``csdid_attgt.csv`` (scenario, group, t, att, se) and ``csdid_aggte.csv`` (scenario, type,
egt, att_egt, se_egt, overall_att, overall_se), the layout of the R files ``r_did_*.csv``. It also
re-fits the R scenarios and prints csdid's largest differences from R (see README.md).
"""
import contextlib
import io
import warnings
from importlib.metadata import version

import numpy as np
import pandas as pd
from csdid.att_gt import ATTgt

MPDTA = pd.read_csv("mpdta.csv").merge(pd.read_csv("clusters.csv"), on="countyreal")
#: scenario -> (xformla, control_group, est_method, base_period, clustervar)
SCENARIOS = {
    "mpdta_nev_dr_lpop": ("lemp~lpop", "nevertreated", "dr", "varying", None),
    "mpdta_nyt_dr_lpop": ("lemp~lpop", "notyettreated", "dr", "varying", None),
    "mpdta_nyt_reg_lpop": ("lemp~lpop", "notyettreated", "reg", "varying", None),
    "mpdta_nev_dr_universal": ("lemp~1", "nevertreated", "dr", "universal", None),
    "mpdta_nyt_dr_lpop_universal": ("lemp~lpop", "notyettreated", "dr", "universal", None),
    "mpdta_nev_dr_lpop_clust": ("lemp~lpop", "nevertreated", "dr", "varying", "clust"),
    # the R scenarios, to measure csdid against R
    "mpdta_nev_dr": ("lemp~1", "nevertreated", "dr", "varying", None),
    "mpdta_nyt_dr": ("lemp~1", "notyettreated", "dr", "varying", None),
    "mpdta_nev_reg_cov": ("lemp~lpop", "nevertreated", "reg", "varying", None),
}
R_SCENARIOS = ("mpdta_nev_dr", "mpdta_nyt_dr", "mpdta_nev_reg_cov")


def fit(xformla, control_group, est_method, base_period, clustervar):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):  # csdid prints its summaries
        warnings.simplefilter("ignore")
        m = ATTgt(yname="lemp", tname="year", idname="countyreal", gname="first.treat", data=MPDTA,
                  xformla=xformla, control_group=control_group, clustervar=clustervar)
        return m.fit(est_method=est_method, base_period=base_period, bstrap=False)


def main():
    attgt, aggte = [], []
    for scn, args in SCENARIOS.items():
        res = fit(*args)
        attgt.append(pd.DataFrame({"scenario": scn, "group": np.asarray(res.MP["group"], float).astype(int),
                                   "t": np.asarray(res.MP["t"], float).astype(int),
                                   "att": np.asarray(res.results["att"], float),
                                   "se": np.asarray(res.results["se"], float)}))
        for typ in ("simple", "group", "dynamic"):
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                a = res.aggte(typec=typ, bstrap=False).atte
            egt = [np.nan] if typ == "simple" else list(np.asarray(a["egt"], float))
            att_egt = [np.nan] if typ == "simple" else list(np.asarray(a["att_egt"], float))
            se_egt = [np.nan] if typ == "simple" else list(np.asarray(a["se_egt"], float).ravel())
            aggte.append(pd.DataFrame({"scenario": scn, "type": typ, "egt": egt, "att_egt": att_egt,
                                       "se_egt": se_egt, "overall_att": float(a["overall_att"]),
                                       "overall_se": float(np.ravel(a["overall_se"])[0])}))
    attgt, aggte = pd.concat(attgt, ignore_index=True), pd.concat(aggte, ignore_index=True)
    mine = ~attgt["scenario"].isin(R_SCENARIOS)
    attgt[mine].to_csv("csdid_attgt.csv", index=False, float_format="%.15g")
    aggte[~aggte["scenario"].isin(R_SCENARIOS)].to_csv("csdid_aggte.csv", index=False, float_format="%.15g")
    r = pd.read_csv("r_did_attgt.csv").merge(attgt, on=["scenario", "group", "t"], suffixes=("_r", "_py"))
    print(f"csdid {version('csdid')} vs R did on {len(r)} ATT(g,t): max |att diff| "
          f"{(r.att_r - r.att_py).abs().max():.2e}, max rel se diff {((r.se_r - r.se_py) / r.se_r).abs().max():.2e}")


if __name__ == "__main__":
    main()
