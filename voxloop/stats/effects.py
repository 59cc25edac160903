"""Did an improvement action work? Effect estimators on daily outcome series, and a verdict.

Input: one value per day for the action's scope (a complaint rate, a negative share, an NPS...) with the n
behind it (the feedback items or orders of that day; 0 where a day has no data), the index of the
intervention day (the first day after "implemented on"), and optionally the same metric for a control
scope (the rest of the business by default). Pure numpy/scipy: no Django, no database, no clock.

Estimators (every one weighted by the day's n, so a day of 3 items counts less than a day of 300):

before/after     the mean of the window before against the window after, with intervals.
interrupted      segmented regression  y = a + b t + c D + d D (t - t0) [+ weekday terms]:  c is the level
time series      change, d the slope change (only fitted with >= 28 days after: a slope from two weeks is
                 noise). The effect is the mean gap between the fitted series and its counterfactual (the
                 pre-trend carried on) over the days after; that counterfactual with its band is what the
                 chart draws. Errors come from an AR(1) pre-whitened fit (Prais-Winsten) with a
                 heteroskedasticity-robust sandwich, robust to the autocorrelation of daily series (see
                 hac_wls for why no Newey-West lags on top); the intervals use Student's t. The pre-trend check fits the days before
                 alone with a placebo break at their middle: a "break" there means the baseline was not a
                 stable trend, so the counterfactual is a weak guess.
difference in    the treated minus the control series, after against before (HAC errors); the check of
differences      parallel trends is the slope of that gap over the days before.

Verdict (``judge``; the interrupted time series is the primary estimate, DiD corroborates):

too early        fewer than ``min_post_days`` days since the intervention.
effective        the (1 - alpha) interval of the improvement lies entirely above zero. Under no effect
                 this happens with probability alpha / 2 (one tail of a two-sided interval); if the
                 pre-trend check failed, a control series must agree (DiD interval above zero as well).
not effective    the interval lies entirely below the smallest improvement worth having
                 (``min_relative_effect`` of the baseline): the change, if any, is too small or the wrong way.
inconclusive     neither: the interval is too wide; ``post_days_needed`` says about how many days after
                 the intervention would give 80% power to detect the smallest improvement worth having
                 (the standard error shrinks about as 1 / sqrt(days after)).

Small n (a window with fewer than ``min_items`` items or fewer than ``min_pre_days`` days of baseline) is
flagged in ``warnings``, never hidden.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from scipy import special
from scipy.signal import lfilter

WEEK = 7
SLOPE_MIN_POST_DAYS = 28  # a slope change is only fitted on at least four weeks after the intervention


class Verdict(StrEnum):
    EFFECTIVE = "effective"
    NOT_EFFECTIVE = "not_effective"
    INCONCLUSIVE = "inconclusive"
    TOO_EARLY = "too_early"


class Warning_(StrEnum):
    SMALL_N_BEFORE = "small_n_before"
    SMALL_N_AFTER = "small_n_after"
    SHORT_BASELINE = "short_baseline"
    PRE_TREND_UNSTABLE = "pre_trend_unstable"
    PARALLEL_TRENDS_DOUBTFUL = "parallel_trends_doubtful"
    ESTIMATORS_DISAGREE = "estimators_disagree"


@dataclass(frozen=True)
class Estimate:
    """One effect (after minus before, in the metric's units) with its (1 - alpha) interval."""

    value: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float  # two-sided
    df: int


@dataclass(frozen=True)
class BeforeAfter:
    before_mean: float
    before_ci: tuple[float, float]
    before_n: int  # items behind the window
    before_days: int
    after_mean: float
    after_ci: tuple[float, float]
    after_n: int
    after_days: int
    difference: Estimate


@dataclass(frozen=True)
class Its:
    level_change: Estimate
    slope_change: Estimate | None  # per day; None when fewer than 28 days after
    effect: Estimate  # mean gap to the counterfactual over the days after
    pre_slope: float  # per day, before the intervention
    pre_trend_p: float  # placebo break in the middle of the days before
    pre_trend_ok: bool
    fitted: list[float | None]  # the model's line for every day (None where a day had no data)
    counterfactual: list[float | None]  # the pre-trend carried on, for days from the intervention on
    counterfactual_low: list[float | None]
    counterfactual_high: list[float | None]


@dataclass(frozen=True)
class Did:
    effect: Estimate
    parallel_slope: float  # per day, of treated minus control before the intervention
    parallel_p: float
    parallel_ok: bool


@dataclass(frozen=True)
class EffectReport:
    verdict: Verdict
    lower_is_better: bool
    alpha: float
    baseline_mean: float
    min_effect: float  # the smallest improvement worth having, in the metric's units (positive)
    improvement: Estimate | None  # the primary estimate turned so that positive = better
    relative_improvement: float | None  # improvement / baseline mean
    before_after: BeforeAfter | None
    its: Its | None
    did: Did | None
    post_days: int
    post_days_needed: int | None  # for inconclusive: days after that give 80% power
    items_needed: int | None  # the same in items, at the current daily volume
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Fit:
    beta: np.ndarray
    cov: np.ndarray
    df: int
    design: np.ndarray  # unweighted, for predictions


# Lags of the Newey-West step after the AR(1) pre-whitening: none, i.e. heteroskedasticity-robust errors on the
# whitened model. Residual-based autocovariances are biased low when a regressor is a block (see hac_wls), and
# once the filter has taken the autocorrelation out, the Bartlett terms on top only add that bias: on simulated
# null series (docs/actions.md) the automatic 4 lags said "effective" about 4.5% of the time against the nominal
# 2.5%, and without them about 3%. None: the automatic Newey-West lag, as before (benchmarks/actions.py measures
# both).
PREWHITENED_LAGS: int | None = 0


def newey_west_lags(n: int) -> int:
    """Newey and West's (1994) automatic lag, floor(4 (n / 100)^(2/9))."""
    return int(math.floor(4 * (max(n, 1) / 100.0) ** (2.0 / 9.0)))


def hac_wls(
    y: np.ndarray,
    design: np.ndarray,
    weights: np.ndarray | None = None,
    lags: int | None = None,
    prewhiten: bool = True,
) -> Fit:
    """Weighted least squares with Newey-West (Bartlett) covariance and a small-sample factor n / (n - k).

    Residual-based HAC estimates are biased low when a regressor is a block (the days after an
    intervention): the residuals of a block sum to zero, so their autocovariances are negative on average
    and more lags make the interval narrower, not wider. With ``prewhiten`` the model is first
    Prais-Winsten transformed with the residuals' AR(1) coefficient (bias-corrected, kept in [0, 0.95]),
    and the sandwich after it uses ``PREWHITENED_LAGS`` lags (none) unless ``lags`` says otherwise."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(design, dtype=float)
    n, k = x.shape
    if n <= k:
        raise ValueError(f"{n} observations cannot fit {k} coefficients")
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        root = np.sqrt(w / w.mean())
        yw, xw = y * root, x * root[:, None]
    else:
        yw, xw = y, x
    beta = np.linalg.lstsq(xw, yw, rcond=None)[0]
    if prewhiten and n > k + 3:
        u = yw - xw @ beta
        rho = float(u[1:] @ u[:-1] / max(float(u @ u), 1e-300))
        rho = min(max(rho + (1 + 3 * rho) / n, 0.0), 0.95)  # Kendall's small-sample bias correction
        if rho > 0:
            scale = math.sqrt(1 - rho**2)
            yw = np.concatenate([[yw[0] * scale], yw[1:] - rho * yw[:-1]])
            xw = np.vstack([xw[:1] * scale, xw[1:] - rho * xw[:-1]])
    bread = np.linalg.pinv(xw.T @ xw)
    beta = bread @ (xw.T @ yw)
    scores = xw * (yw - xw @ beta)[:, None]
    meat = scores.T @ scores
    if lags is None:
        lags = newey_west_lags(n) if not prewhiten or PREWHITENED_LAGS is None else PREWHITENED_LAGS
    for lag in range(1, min(lags, n - 1) + 1):
        gamma = scores[lag:].T @ scores[:-lag]
        meat += (1.0 - lag / (lags + 1.0)) * (gamma + gamma.T)
    cov = bread @ meat @ bread * (n / (n - k))
    return Fit(beta=beta, cov=cov, df=n - k, design=x)


# The distribution functions straight from scipy.special (what scipy.stats' t, F and normal call inside): the same
# numbers without scipy.stats' per-call argument checking, which cost half of a verdict's time.
def _t_crit(alpha: float, df: int) -> float:
    """The two-sided (1 - alpha) critical value of Student's t."""
    return float(special.stdtrit(df, 1 - alpha / 2))


def _estimate(fit: Fit, contrast: np.ndarray, alpha: float) -> Estimate:
    value = float(contrast @ fit.beta)
    se = float(math.sqrt(max(float(contrast @ fit.cov @ contrast), 0.0)))
    crit = _t_crit(alpha, fit.df)
    if se > 0:
        p = float(2 * special.stdtr(fit.df, -abs(value) / se))
    else:
        p = 1.0 if value == 0 else 0.0
    return Estimate(value=value, se=se, ci_low=value - crit * se, ci_high=value + crit * se, p_value=p, df=fit.df)


def _weekday_columns(days: np.ndarray, use: bool) -> np.ndarray:
    if not use:
        return np.empty((len(days), 0))
    return np.stack([(days % WEEK == d).astype(float) for d in range(1, WEEK)], axis=1)


def _clean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Indices of the days that have data."""
    return np.flatnonzero((weights > 0) & np.isfinite(values))


def before_after(
    values: np.typing.ArrayLike, weights: np.typing.ArrayLike, intervention: int, alpha: float = 0.05
) -> BeforeAfter:
    """The weighted means of the two windows and their difference, with HAC intervals."""
    y, w = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    keep = _clean(y, w)
    after = (keep >= intervention).astype(float)
    fit = hac_wls(y[keep], np.column_stack([np.ones(len(keep)), after]), w[keep])
    diff = _estimate(fit, np.array([0.0, 1.0]), alpha)
    before_est = _estimate(fit, np.array([1.0, 0.0]), alpha)
    after_est = _estimate(fit, np.array([1.0, 1.0]), alpha)
    pre, post = keep[keep < intervention], keep[keep >= intervention]
    return BeforeAfter(
        before_mean=before_est.value,
        before_ci=(before_est.ci_low, before_est.ci_high),
        before_n=int(w[pre].sum()),
        before_days=len(pre),
        after_mean=after_est.value,
        after_ci=(after_est.ci_low, after_est.ci_high),
        after_n=int(w[post].sum()),
        after_days=len(post),
        difference=diff,
    )


def _its_design(days: np.ndarray, intervention: int, slope: bool, weekdays: bool) -> np.ndarray:
    t = (days - intervention).astype(float)
    d = (days >= intervention).astype(float)
    cols = [np.ones(len(days)), t, d]
    if slope:
        cols.append(d * t)
    return np.column_stack([*cols, _weekday_columns(days, weekdays)])


def interrupted_time_series(
    values: np.typing.ArrayLike,
    weights: np.typing.ArrayLike,
    intervention: int,
    alpha: float = 0.05,
    weekdays: bool = True,
) -> Its:
    """Segmented regression with Newey-West errors; see the module's docstring."""
    y, w = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    keep = _clean(y, w)
    pre, post = keep[keep < intervention], keep[keep >= intervention]
    if len(pre) < 3 or len(post) < 1:
        raise ValueError("an interrupted time series needs at least 3 days before and 1 day after")
    slope = len(post) >= SLOPE_MIN_POST_DAYS
    weekdays = weekdays and len(pre) >= 4 * WEEK
    x = _its_design(keep, intervention, slope, weekdays)
    fit = hac_wls(y[keep], x, w[keep])
    k = x.shape[1]

    def unit(i: int) -> np.ndarray:
        e = np.zeros(k)
        e[i] = 1.0
        return e

    level = _estimate(fit, unit(2), alpha)
    slope_est = _estimate(fit, unit(3), alpha) if slope else None
    gap = unit(2).copy()
    if slope:
        gap[3] = float(np.mean(post - intervention))
    effect = _estimate(fit, gap, alpha)

    # the counterfactual: the same coefficients with the intervention terms switched off
    span = np.arange(len(y))
    full = _its_design(span, intervention, slope, weekdays)
    cf = full.copy()
    cf[:, 2] = 0.0
    if slope:
        cf[:, 3] = 0.0
    crit = _t_crit(alpha, fit.df)
    fitted_all = full @ fit.beta
    cf_mean = cf @ fit.beta
    cf_se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", cf, fit.cov, cf), 0.0))
    has_data = np.zeros(len(y), dtype=bool)
    has_data[keep] = True
    fitted = [float(v) if has_data[i] else None for i, v in enumerate(fitted_all)]
    counterfactual = [float(cf_mean[i]) if i >= intervention else None for i in span]
    low = [float(cf_mean[i] - crit * cf_se[i]) if i >= intervention else None for i in span]
    high = [float(cf_mean[i] + crit * cf_se[i]) if i >= intervention else None for i in span]

    pre_trend_p = _placebo_p(y, w, pre, weekdays)
    return Its(
        level_change=level,
        slope_change=slope_est,
        effect=effect,
        pre_slope=float(fit.beta[1]),
        pre_trend_p=pre_trend_p,
        pre_trend_ok=pre_trend_p >= alpha,
        fitted=fitted,
        counterfactual=counterfactual,
        counterfactual_low=low,
        counterfactual_high=high,
    )


def _placebo_p(y: np.ndarray, w: np.ndarray, pre: np.ndarray, weekdays: bool) -> float:
    """p-value of a break (level and slope, a Chow test with HAC errors) at the middle of the days before:
    a stable baseline has none."""
    if len(pre) < 12:
        return 1.0
    middle = int(pre[len(pre) // 2])
    x = _its_design(pre, middle, True, weekdays and len(pre) >= 4 * WEEK)
    if len(pre) <= x.shape[1] + 4:
        return 1.0
    # a check, not an estimate: it keeps the automatic Newey-West lags on top of the whitening (erring towards
    # "stable", as it did before PREWHITENED_LAGS; the verdict's own intervals are what that setting calibrates)
    fit = hac_wls(y[pre], x, w[pre], lags=newey_west_lags(len(pre)))
    b = fit.beta[2:4]
    v = fit.cov[2:4, 2:4]
    try:
        wald = float(b @ np.linalg.solve(v, b))
    except np.linalg.LinAlgError:
        return 1.0
    return float(special.fdtrc(2, fit.df, wald / 2))


def difference_in_differences(
    values: np.typing.ArrayLike,
    weights: np.typing.ArrayLike,
    control_values: np.typing.ArrayLike,
    control_weights: np.typing.ArrayLike,
    intervention: int,
    alpha: float = 0.05,
) -> Did:
    """Treated minus control, after against before, with HAC errors and a parallel-trends check."""
    y, w = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    yc, wc = np.asarray(control_values, dtype=float), np.asarray(control_weights, dtype=float)
    if len(yc) != len(y):
        raise ValueError("the control series must cover the same days as the treated one")
    keep = np.flatnonzero((w > 0) & (wc > 0) & np.isfinite(y) & np.isfinite(yc))
    pre, post = keep[keep < intervention], keep[keep >= intervention]
    if len(pre) < 3 or len(post) < 1:
        raise ValueError("difference in differences needs at least 3 days before and 1 day after")
    gap = y[keep] - yc[keep]
    # the variance of a difference adds up: the weight of the gap is the harmonic combination
    gap_w = 1.0 / (1.0 / w[keep] + 1.0 / wc[keep])
    after = (keep >= intervention).astype(float)
    fit = hac_wls(gap, np.column_stack([np.ones(len(keep)), after]), gap_w)
    effect = _estimate(fit, np.array([0.0, 1.0]), alpha)
    pre_mask = keep < intervention
    pre_fit = hac_wls(gap[pre_mask], np.column_stack([np.ones(len(pre)), pre.astype(float)]), gap_w[pre_mask])
    trend = _estimate(pre_fit, np.array([0.0, 1.0]), alpha)
    return Did(effect=effect, parallel_slope=trend.value, parallel_p=trend.p_value, parallel_ok=trend.p_value >= alpha)


def _turn(est: Estimate, lower_is_better: bool) -> Estimate:
    """An estimate turned so that positive means better."""
    if not lower_is_better:
        return est
    return Estimate(
        value=-est.value, se=est.se, ci_low=-est.ci_high, ci_high=-est.ci_low, p_value=est.p_value, df=est.df
    )


def judge(
    values: np.typing.ArrayLike,
    weights: np.typing.ArrayLike,
    intervention: int,
    *,
    control_values: np.typing.ArrayLike | None = None,
    control_weights: np.typing.ArrayLike | None = None,
    lower_is_better: bool = True,
    alpha: float = 0.05,
    min_relative_effect: float = 0.10,
    min_post_days: int = 14,
    min_pre_days: int = 28,
    min_items: int = 200,
    weekdays: bool = True,
) -> EffectReport:
    """All three estimators and the verdict (rules in the module's docstring)."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    y, w = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    if y.shape != w.shape or y.ndim != 1:
        raise ValueError("values and weights must be one-dimensional and of the same length")
    if np.any(w < 0):
        raise ValueError("weights (the n behind each day) cannot be negative")
    if not 0 <= intervention <= len(y):
        raise ValueError("the intervention day must lie within the series")
    keep = _clean(y, w)
    pre, post = keep[keep < intervention], keep[keep >= intervention]
    warnings: list[str] = []
    if len(pre) < min_pre_days:
        warnings.append(Warning_.SHORT_BASELINE)
    if w[pre].sum() < min_items:
        warnings.append(Warning_.SMALL_N_BEFORE)
    if len(post) and w[post].sum() < min_items:
        warnings.append(Warning_.SMALL_N_AFTER)
    baseline = float(np.average(y[pre], weights=w[pre])) if len(pre) and w[pre].sum() > 0 else float("nan")
    min_effect = abs(baseline) * min_relative_effect if math.isfinite(baseline) else float("nan")
    post_days = int(len(post))

    def report(verdict: Verdict, **kw: Any) -> EffectReport:
        base: dict[str, Any] = dict(
            verdict=verdict,
            lower_is_better=lower_is_better,
            alpha=alpha,
            baseline_mean=baseline,
            min_effect=min_effect,
            improvement=None,
            relative_improvement=None,
            before_after=None,
            its=None,
            did=None,
            post_days=post_days,
            post_days_needed=None,
            items_needed=None,
            warnings=warnings,
        )
        base.update(kw)
        return EffectReport(**base)

    if post_days < min_post_days or len(pre) < 3:
        return report(Verdict.TOO_EARLY, post_days_needed=max(min_post_days, post_days))

    ba = before_after(y, w, intervention, alpha)
    its = interrupted_time_series(y, w, intervention, alpha, weekdays)
    did = None
    if control_values is not None and control_weights is not None:
        did = difference_in_differences(y, w, control_values, control_weights, intervention, alpha)
        if not did.parallel_ok:
            warnings.append(Warning_.PARALLEL_TRENDS_DOUBTFUL)
    if not its.pre_trend_ok:
        warnings.append(Warning_.PRE_TREND_UNSTABLE)

    improvement = _turn(its.effect, lower_is_better)
    did_improvement = _turn(did.effect, lower_is_better) if did else None
    if did_improvement and (
        (improvement.ci_low > 0 and did_improvement.ci_high < 0)
        or (improvement.ci_high < 0 and did_improvement.ci_low > 0)
    ):
        warnings.append(Warning_.ESTIMATORS_DISAGREE)
    relative = improvement.value / abs(baseline) if baseline else None

    confirmed = its.pre_trend_ok or (did_improvement is not None and did_improvement.ci_low > 0)
    needed_days = items_needed = None
    if improvement.ci_low > 0 and confirmed and Warning_.ESTIMATORS_DISAGREE not in warnings:
        verdict = Verdict.EFFECTIVE
    elif improvement.ci_high < min_effect and Warning_.ESTIMATORS_DISAGREE not in warnings:
        verdict = Verdict.NOT_EFFECTIVE
    else:
        verdict = Verdict.INCONCLUSIVE
        if min_effect > 0 and improvement.se > 0:
            z = float(special.ndtri(1 - alpha / 2) + special.ndtri(0.8))
            target_se = min_effect / z
            needed_days = max(post_days + 1, int(math.ceil(post_days * (improvement.se / target_se) ** 2)))
            per_day = float(w[post].sum()) / max(post_days, 1)
            items_needed = int(math.ceil(needed_days * per_day))
    return report(
        verdict,
        improvement=improvement,
        relative_improvement=relative,
        before_after=ba,
        its=its,
        did=did,
        post_days_needed=needed_days,
        items_needed=items_needed,
    )


# --- synthetic series, for the tests and the benchmark ------------------------------------------------

WEEKDAY_VOLUME = np.array([1.0, 1.05, 1.0, 0.95, 1.1, 0.7, 0.6])


def synthetic_rate_series(
    rng: np.random.Generator,
    *,
    days: int = 150,
    intervention: int = 90,
    items_per_day: float = 120.0,
    base_rate: float = 0.12,
    effect: float = 0.0,
    noise: float = 0.08,
    rho: float = 0.5,
    with_control: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """A realistic daily complaint rate: Poisson volume with weekday shape, a rate that wanders with AR(1)
    noise shared in part with a control scope (a common shock both see), binomial complaints, and after
    ``intervention`` the treated rate multiplied by (1 - ``effect``).

    Returns (rate, n, control_rate, control_n); control is None when ``with_control`` is false."""
    shape = WEEKDAY_VOLUME[np.arange(days) % WEEK]

    def ar1(sd: float) -> np.ndarray:
        shocks = rng.normal(0, sd * math.sqrt(1 - rho**2), days)
        shocks[0] = rng.normal(0, sd)  # start in the stationary distribution
        filtered: np.ndarray = lfilter([1.0], [1.0, -rho], shocks)
        return filtered

    common = ar1(noise)
    treated_p = base_rate * np.exp(common + ar1(noise / 2))
    treated_p[intervention:] *= 1 - effect
    n = rng.poisson(items_per_day * shape)
    complaints = rng.binomial(n, np.clip(treated_p, 0, 1))
    rate = np.where(n > 0, complaints / np.maximum(n, 1), np.nan)
    if not with_control:
        return rate, n.astype(float), None, None
    control_p = base_rate * 1.1 * np.exp(common + ar1(noise / 2))
    nc = rng.poisson(items_per_day * 4 * shape)
    cc = rng.binomial(nc, np.clip(control_p, 0, 1))
    control_rate = np.where(nc > 0, cc / np.maximum(nc, 1), np.nan)
    return rate, n.astype(float), control_rate, nc.astype(float)


def simulate_verdicts(rng: np.random.Generator, runs: int, effect: float, **kw: Any) -> dict[str, float]:
    """Share of each verdict over ``runs`` synthetic series with a true relative ``effect``."""
    counts = {v.value: 0 for v in Verdict}
    series_kw = {
        k: kw.pop(k)
        for k in list(kw)
        if k in {"days", "intervention", "items_per_day", "base_rate", "noise", "rho", "with_control"}
    }
    intervention = series_kw.get("intervention", 90)
    for _ in range(runs):
        rate, n, crate, cn = synthetic_rate_series(rng, effect=effect, **series_kw)
        result = judge(rate, n, intervention, control_values=crate, control_weights=cn, **kw)
        counts[result.verdict.value] += 1
    return {k: v / runs for k, v in counts.items()}
