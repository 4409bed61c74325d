"""`selfmodel report`: the experiment's result (`GET /v1/insights/experiment`) as text."""

from __future__ import annotations

from typing import Any

ROWS = (
    ("users", "users"),
    ("requests", "requests"),
    ("feedback (n)", "feedback_n"),
    ("feedback mean", "feedback_mean"),
    ("  interval", "feedback_ci"),
    ("negative rate", "negative_rate"),
    ("correction rate", "correction_rate"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return f"[{value[0]:+.3f}, {value[1]:+.3f}]"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def format_report(body: dict[str, Any]) -> str:
    arms = body.get("arms", {})
    lift = body.get("lift", {})
    scope = f"rule {body['rule']}" if body.get("rule") else "all rules"
    since = f" since {body['since']}" if body.get("since") else ""
    lines = [
        f"holdout experiment ({scope}{since}): {body.get('holdout_percent')}% held out, "
        f"salt {body.get('salt')!r}",
        "",
        f"{'':18}{'treatment':>20}{'holdout':>20}",
    ]
    for title, key in ROWS:
        t = _cell(arms.get("treatment", {}).get(key))
        h = _cell(arms.get("holdout", {}).get(key))
        lines.append(f"{title:18}{t:>20}{h:>20}")
    lines.append("")
    confidence = int(round(100 * float(lift.get("confidence") or 0.95)))
    if lift.get("ci") is None:
        lines.append(f"lift: not measurable yet ({lift.get('note', 'too little feedback')})")
    else:
        p = lift.get("p_value")
        verdict = "excludes 0" if lift["ci"][0] > 0 or lift["ci"][1] < 0 else "includes 0"
        lines.append(
            f"lift (feedback mean, treatment - holdout): {lift['feedback_mean']:+.3f}, "
            f"{confidence}% interval {_cell(lift['ci'])} ({verdict}), p = {p:.3g}, "
            f"{lift.get('method')} over per-{lift.get('unit', 'user')} means"
        )
    if body.get("mixed_users"):
        lines.append(f"{body['mixed_users']} user(s) seen in both arms are left out")
    return "\n".join(lines)
