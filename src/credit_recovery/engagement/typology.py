"""User types from engagement features (engaged users, moonlighters, nominal
exerters, incompatible strugglers).

:func:`fit_typology` clusters student-courses on standardized engagement
features (k-means or a Gaussian mixture), reports silhouette and inertia (k-means) or BIC
(mixture) for each number of groups, uses the number fixed by ``n_types`` or chosen by the
criterion, and names the groups with a documented deterministic rule. Its defaults are the
config schema's ``engagement.typology_*`` defaults (k-means with the four published types, k =
2-8 reported). :func:`typology_tables` runs it with an ``engagement`` config section, as the
tables the pipeline writes. See ``docs/methods.md`` ("User types").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture

from credit_recovery.shared.config import check_choice
from credit_recovery.engagement.options import OPTION_DEFAULTS, TYPOLOGY_METHODS, resolve_engagement_options

__all__ = ["TYPE_NAMES", "DEFAULT_TYPOLOGY_FEATURES", "TypologyResult", "fit_typology", "typology_tables"]

#: Type names, in the order the naming rule assigns them.
TYPE_NAMES: tuple[str, ...] = ("moonlighter", "engaged", "incompatible_struggler", "nominal_exerter")

#: Features clustered by default (from :func:`credit_recovery.engagement_features`).
DEFAULT_TYPOLOGY_FEATURES: tuple[str, ...] = (
    "idle_share",
    "activities_per_day",
    "minutes_per_activity",
    "n_sessions",
    "share_outside_school_day",
    "activities",
    "tests_passed",
)
#: Features put on the log scale (log1p) before standardizing: counts and rates with long right tails.
_LOG_FEATURES = ("activities_per_day", "minutes_per_activity", "n_sessions", "activities", "tests_passed")
_PROGRESS = ("activities", "tests_passed")


@dataclass
class TypologyResult:
    """Result of :func:`fit_typology`.

    Attributes
    ----------
    types : DataFrame
        One row per student-course (input order): identifiers, ``cluster``,
        ``type``, ``p_cluster_<j>`` membership probabilities and ``p_<type>``
        (summed over the clusters carrying that name).
    diagnostics : DataFrame
        One row per number of groups: ``k``, ``bic``, ``aic``,
        ``log_likelihood`` (GMM; NaN for k-means), ``inertia`` (k-means),
        ``silhouette`` and ``chosen``.
    profiles : DataFrame
        One row per cluster: size, share, type, means of the raw features
        (and of ``grade_9_10`` / ``math`` when available).
    k : int
        Number of groups used.
    method : str
    columns : list of str
        Clustered features.
    scaling : DataFrame
        Transformation, fill value, mean and sd of each feature (to place new
        data on the same scale).
    """

    types: pd.DataFrame
    diagnostics: pd.DataFrame
    profiles: pd.DataFrame
    k: int
    method: str
    columns: list[str]
    scaling: pd.DataFrame = field(repr=False)


def _design(features: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    rows = []
    cols = []
    for c in columns:
        x = pd.to_numeric(features[c], errors="coerce").astype("float64").to_numpy()
        x = np.where(np.isinf(x), np.nan, x)
        finite = x[~np.isnan(x)]
        # missing values are the worst observed value for minutes per activity (no activity at all),
        # the median otherwise
        fill = (np.max(finite) if c == "minutes_per_activity" else np.median(finite)) if finite.size else 0.0
        x = np.where(np.isnan(x), fill, x)
        log = c in _LOG_FEATURES
        if log:
            x = np.log1p(np.maximum(x, 0))
        mu, sd = float(x.mean()), float(x.std())
        sd = sd if sd > 0 else 1.0
        cols.append((x - mu) / sd)
        rows.append({"feature": c, "log1p": log, "fill": fill, "mean": mu, "sd": sd})
    return np.column_stack(cols), pd.DataFrame(rows)


def _fit_one(z: np.ndarray, k: int, method: str, seed: int, n_init: int, reg_covar: float):
    if method == "gmm":
        m = GaussianMixture(n_components=k, covariance_type="full", n_init=n_init, random_state=seed,
                            reg_covar=reg_covar, max_iter=500).fit(z)
        return m, m.predict(z), m.predict_proba(z)
    m = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(z)
    labels = m.labels_
    return m, labels, np.eye(k)[labels]


def _relabel(labels: np.ndarray, proba: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number clusters deterministically: by decreasing size, ties by mean of the first feature."""
    k = proba.shape[1]
    sizes = np.bincount(labels, minlength=k)
    first = np.array([z[labels == j, 0].mean() if sizes[j] else np.inf for j in range(k)])
    order = np.lexsort((first, -sizes))
    new = np.empty(k, dtype=int)
    new[order] = np.arange(k)
    return new[labels], proba[:, order]


def _name_clusters(prof: pd.DataFrame) -> list[str]:
    """The naming rule on standardized cluster means (see docs/methods.md)."""
    k = len(prof)
    zs = prof.copy()
    progress = zs[[c for c in _PROGRESS if c in zs]].mean(axis=1) if any(c in zs for c in _PROGRESS) else 0.0
    names: list[str | None] = [None] * k
    free = list(range(k))

    def col(name: str) -> np.ndarray:
        return zs[name].to_numpy(float) if name in zs else np.zeros(k)

    prog = np.asarray(progress, dtype=float) * np.ones(k)
    rules = [
        ("moonlighter", col("share_outside_school_day")),
        ("engaged", col("activities_per_day") - col("idle_share")),
        ("incompatible_struggler", col("idle_share") - prog + col("grade_9_10") + col("math")),
        ("nominal_exerter", col("idle_share") + col("n_sessions") - col("activities_per_day")),
    ]
    for name, score in rules:
        if not free:
            break
        j = max(free, key=lambda i: (score[i], -i))  # ties: the larger (lower-numbered) cluster
        names[j] = name
        free.remove(j)
    # more than four clusters: each remaining one takes the name of the nearest named cluster
    cols = list(zs.columns)
    named = [i for i in range(k) if names[i] is not None]
    for j in free:
        d = [np.linalg.norm(zs.loc[j, cols].to_numpy(float) - zs.loc[i, cols].to_numpy(float)) for i in named]
        names[j] = names[named[int(np.argmin(d))]]
    return [str(n) for n in names]


def fit_typology(
    features: pd.DataFrame,
    *,
    k_range: Sequence[int] = range(OPTION_DEFAULTS["typology_k_min"], OPTION_DEFAULTS["typology_k_max"] + 1),
    method: str = OPTION_DEFAULTS["typology_method"],
    seed: int = OPTION_DEFAULTS["typology_seed"],
    n_types: int | None = OPTION_DEFAULTS["typology_n_types"],
    columns: Sequence[str] | None = None,
    n_init: int = 3,
    reg_covar: float = 0.01,
    silhouette_sample: int = 5000,
) -> TypologyResult:
    """Cluster student-courses into user types and name the types.

    Parameters
    ----------
    features : DataFrame
        Output of :func:`credit_recovery.engagement_features`, optionally with
        ``grade`` (9-12) and ``subject`` columns, which are not clustered but
        used by the naming rule.
    k_range : sequence of int
        Numbers of groups to fit (diagnostics for each); default
        ``engagement.typology_k_min`` to ``typology_k_max`` of the config schema.
    method : {'kmeans', 'gmm'}
        k-means (k chosen by maximum silhouette; memberships 0/1) or a Gaussian
        mixture with full covariances (k chosen by minimum BIC); default
        ``engagement.typology_method``.
    seed : int
        Random seed (initialisations, silhouette subsample); default ``engagement.typology_seed``.
    n_types : int or None
        Use this number of groups instead of the one chosen by the criterion
        (must be in ``k_range``); None = chosen by the criterion. Default
        ``engagement.typology_n_types`` (4, the published types).
    columns : sequence of str, optional
        Features to cluster (default :data:`DEFAULT_TYPOLOGY_FEATURES`).
    n_init : int
        Initialisations per fit; the best is kept.
    reg_covar : float
        Added to the diagonal of each GMM covariance, in standardized units.
        Count features (``tests_passed``, ``n_sessions``) pile up on a few
        values; without a floor a component collapses onto such a spike and
        BIC rewards it (planted four groups were split into five with 1e-6).
    silhouette_sample : int
        Silhouette is computed on at most this many rows (random subsample).

    Returns
    -------
    TypologyResult

    Notes
    -----
    Features :math:`x_j` (count-like ones as :math:`\\log(1 + x_j)`; missing
    ``minutes_per_activity`` set to the largest observed value, other
    missing values to the median) are standardized,
    :math:`z_j = (x_j - \\bar x_j)/s_j`. For each :math:`k`, k-means or a
    Gaussian mixture :math:`p(z) = \\sum_c \\pi_c N(z; \\mu_c, \\Sigma_c)` is
    fitted; :math:`\\mathrm{BIC} = -2 \\log L + m \\log n` with :math:`m`
    free parameters. Mixture membership probabilities are the posterior
    :math:`P(c \\mid z)`. Clusters are numbered by decreasing size. Names are
    given in turn, each to the not-yet-named cluster with the largest score on
    the cluster means of :math:`z`: moonlighter (``share_outside_school_day``),
    engaged (``activities_per_day - idle_share``), incompatible struggler
    (``idle_share - progress + grade_9_10 + math``, progress = mean of the
    ``activities`` and ``tests_passed`` scores, grade/math shares
    standardized across clusters when available), nominal exerter
    (``idle_share + n_sessions - activities_per_day``). With more than four
    clusters each remaining cluster takes the name of the nearest named
    cluster; with fewer, the later names are not used.
    """
    columns, ks = _checked_arguments(features, k_range, method, n_types, columns, reg_covar)
    z, scaling = _design(features, columns)
    fits, diagnostics = _fit_each_k(z, ks, method, seed, n_init, reg_covar, silhouette_sample)
    k = _chosen_k(diagnostics, method, n_types)
    diagnostics["chosen"] = diagnostics["k"] == k

    labels, proba = _relabel(*fits[k], z)
    extra = _naming_covariates(features)
    names = _name_clusters(_naming_means(z, columns, extra, labels, k))
    profiles = _profiles(features, columns, extra, labels, names, k)
    types = _types_table(features, labels, proba, names, k)
    return TypologyResult(types=types, diagnostics=diagnostics, profiles=profiles, k=k, method=method,
                          columns=columns, scaling=scaling)


def _checked_arguments(features: pd.DataFrame, k_range: Sequence[int], method: str, n_types: int | None,
                       columns: Sequence[str] | None, reg_covar: float) -> tuple[list[str], list[int]]:
    """Validate :func:`fit_typology`'s arguments; return the clustered columns and the sorted k values."""
    check_choice("method", method, TYPOLOGY_METHODS)
    columns = list(columns or DEFAULT_TYPOLOGY_FEATURES)
    missing = [c for c in columns if c not in features.columns]
    if missing:
        raise ValueError(f"features lack the column(s) {missing}; pass the output of engagement_features()")
    ks = sorted({int(k) for k in k_range})
    if not ks or ks[0] < 1:
        raise ValueError(f"k_range={list(k_range)!r} must hold positive integers")
    if len(features) <= max(ks):
        raise ValueError(f"need more student-courses ({len(features)}) than the largest k ({max(ks)})")
    if not reg_covar >= 0:
        raise ValueError(f"reg_covar={reg_covar!r} must be >= 0")
    if n_types is not None and n_types not in ks:
        raise ValueError(f"n_types={n_types!r} must be one of k_range {ks}")
    return columns, ks


def _fit_each_k(z: np.ndarray, ks: Sequence[int], method: str, seed: int, n_init: int, reg_covar: float,
                silhouette_sample: int) -> tuple[dict[int, tuple[np.ndarray, np.ndarray]], pd.DataFrame]:
    """Fit every k: ``{k: (labels, probabilities)}`` and one diagnostics row per k (without ``chosen``)."""
    fits = {}
    diag = []
    for k in ks:
        m, labels, proba = _fit_one(z, k, method, seed, n_init, reg_covar)
        fits[k] = (labels, proba)
        if k > 1 and len(np.unique(labels)) > 1:
            sil = float(silhouette_score(z, labels, sample_size=min(silhouette_sample, len(z)), random_state=seed))
        else:
            sil = float("nan")
        if method == "gmm":
            diag.append({"k": k, "bic": float(m.bic(z)), "aic": float(m.aic(z)),
                         "log_likelihood": float(m.score(z) * len(z)), "inertia": float("nan"), "silhouette": sil})
        else:
            diag.append({"k": k, "bic": float("nan"), "aic": float("nan"), "log_likelihood": float("nan"),
                         "inertia": float(m.inertia_), "silhouette": sil})
    return fits, pd.DataFrame(diag)


def _chosen_k(diagnostics: pd.DataFrame, method: str, n_types: int | None) -> int:
    """``n_types`` when given; else the k with the smallest BIC (gmm) or the largest silhouette (kmeans)."""
    if n_types is not None:
        return n_types
    if method == "gmm":
        return int(diagnostics.loc[diagnostics["bic"].idxmin(), "k"])
    return int(diagnostics.loc[diagnostics["silhouette"].fillna(-np.inf).idxmax(), "k"])


def _naming_covariates(features: pd.DataFrame) -> pd.DataFrame:
    """Not clustered, used by the naming rule: ``grade_9_10`` and ``math`` indicators when available."""
    extra = pd.DataFrame(index=features.index)
    if "grade" in features.columns:
        extra["grade_9_10"] = pd.to_numeric(features["grade"], errors="coerce").isin([9, 10]).astype(float)
    if "subject" in features.columns:
        extra["math"] = (features["subject"].astype(str) == "math").astype(float)
    return extra


def _naming_means(z: np.ndarray, columns: list[str], extra: pd.DataFrame, labels: np.ndarray,
                  k: int) -> pd.DataFrame:
    """Cluster means of the standardized features, and of the naming covariates standardized across clusters."""
    zdf = pd.DataFrame(z, columns=columns)
    zc = zdf.groupby(labels).mean().reindex(range(k)).fillna(0.0)
    if len(extra.columns):
        ec = extra.reset_index(drop=True).groupby(labels).mean().reindex(range(k)).fillna(0.0)
        sd = ec.std(ddof=0).replace(0, 1.0)
        zc = zc.join((ec - ec.mean()) / sd)
    return zc


def _profiles(features: pd.DataFrame, columns: list[str], extra: pd.DataFrame, labels: np.ndarray,
              names: list[str], k: int) -> pd.DataFrame:
    """One row per cluster: type, size, share and means of the raw features (and naming covariates)."""
    raw = features[columns].reset_index(drop=True).astype("float64")
    if len(extra.columns):
        raw = raw.join(extra.reset_index(drop=True))
    prof = raw.groupby(labels).mean().reindex(range(k))
    prof.insert(0, "n", np.bincount(labels, minlength=k))
    prof.insert(1, "share", prof["n"] / len(labels))
    prof.insert(0, "type", names)
    prof.index.name = "cluster"
    return prof.reset_index()


def _types_table(features: pd.DataFrame, labels: np.ndarray, proba: np.ndarray, names: list[str],
                 k: int) -> pd.DataFrame:
    """One row per student-course: identifiers, cluster, type and membership probabilities."""
    ids = [c for c in ("student_id", "course_record_id", "school_year") if c in features.columns]
    types = features[ids].reset_index(drop=True).copy()
    types["cluster"] = labels
    types["type"] = np.asarray(names, dtype=object)[labels]
    for j in range(k):
        types[f"p_cluster_{j}"] = proba[:, j]
    for name in TYPE_NAMES:
        idx = [j for j in range(k) if names[j] == name]
        types[f"p_{name}"] = proba[:, idx].sum(axis=1) if idx else 0.0
    types["type"] = types["type"].astype(str)
    return types


def typology_tables(features: pd.DataFrame, options: Mapping[str, Any] | None = None):
    """User types of the student-courses, with the ``engagement`` config's typology settings.

    Returns
    -------
    (types, diagnostics, profiles, result)
        ``types``: ``student_id, course_record_id, school_year, type, cluster``,
        ``p_<type>`` and ``p_cluster_<j>`` membership probabilities (the id
        columns of the planted ``results/truth/types.parquet``);
        ``diagnostics``: BIC, AIC, silhouette... per k; ``profiles``: size and
        mean features per cluster; the :class:`TypologyResult`.
    """
    opt = resolve_engagement_options(options)
    ks = range(int(opt["typology_k_min"]), int(opt["typology_k_max"]) + 1)
    n_types = None if opt["typology_n_types"] is None else int(opt["typology_n_types"])
    res = fit_typology(features, k_range=ks, method=opt["typology_method"], seed=int(opt["typology_seed"]),
                       n_types=n_types)
    t = res.types
    probs = [f"p_{n}" for n in TYPE_NAMES] + [c for c in t.columns if c.startswith("p_cluster_")]
    types = t[[c for c in ("student_id", "course_record_id", "school_year") if c in t.columns]
              + ["type", "cluster"] + probs]
    return types, res.diagnostics, res.profiles, res
