// selfmodel inspector: the holdout experiment (GET /v1/insights/experiment), its own view.
// Registered before app.js runs; app.js routes #/experiment here and passes its helpers.
// Same rule as app.js: data reaches the DOM only as text nodes and attribute values.
"use strict";

(() => {
  const ARMS = [["treatment", "Treatment (injected)"], ["holdout", "Holdout (no injection)"]];
  const ROWS = [
    ["Users", "users"], ["Requests", "requests"], ["Feedback (n)", "feedback_n"],
    ["Feedback mean", "feedback_mean"], ["  interval", "feedback_ci"],
    ["Negative rate", "negative_rate"], ["Correction rate", "correction_rate"],
  ];

  function fmt(value) {
    if (value === null || value === undefined) return "–";
    if (Array.isArray(value)) return `[${fmt(value[0])}, ${fmt(value[1])}]`;
    if (typeof value === "number" && !Number.isInteger(value)) return value.toFixed(3);
    return String(value);
  }

  function chart(kit, timeline) {
    // Feedback mean per day, one line per arm, on a fixed -1..1 scale.
    const { svg } = kit;
    const W = 640, H = 200, L = 36, R = 10, T = 10, B = 24;
    const days = timeline.map((d) => d.day);
    const x = (i) => L + (days.length < 2 ? (W - L - R) / 2 : (i * (W - L - R)) / (days.length - 1));
    const y = (v) => T + ((1 - v) / 2) * (H - T - B);
    const node = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "exp-chart", role: "img",
      "aria-label": "Feedback mean per day, treatment and holdout" });
    for (const v of [-1, 0, 1]) {
      node.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "exp-grid" }),
        svg("text", { x: 4, y: y(v) + 4, class: "exp-tick" }, String(v)));
    }
    ARMS.forEach(([arm]) => {
      const points = timeline.map((d, i) => [i, d[arm].feedback_mean]).filter(([, v]) => v !== null);
      if (points.length > 1) {
        node.append(svg("polyline", { class: `exp-line exp-${arm}`,
          points: points.map(([i, v]) => `${x(i)},${y(v)}`).join(" ") }));
      }
      for (const [i, v] of points) node.append(svg("circle", { cx: x(i), cy: y(v), r: 3, class: `exp-dot exp-${arm}` },
        svg("title", null, `${arm} ${days[i]}: ${fmt(v)}`)));
    });
    if (days.length) {
      node.append(svg("text", { x: L, y: H - 6, class: "exp-tick" }, days[0]),
        svg("text", { x: W - R, y: H - 6, class: "exp-tick exp-end" }, days[days.length - 1]));
    }
    return node;
  }

  async function experimentView(params, current, kit) {
    const { el, get, mountView, header } = kit;
    const rule = params.get("rule") || "";
    const data = await get(`/v1/insights/experiment${rule ? `?rule=${encodeURIComponent(rule)}` : ""}`);
    if (!current()) return;
    const lift = data.lift || {};
    const verdict = !lift.ci ? (lift.note || "Not enough feedback yet.")
      : (lift.ci[0] > 0 || lift.ci[1] < 0
        ? `The ${Math.round(100 * (lift.confidence || 0.95))}% interval excludes 0.`
        : `The ${Math.round(100 * (lift.confidence || 0.95))}% interval includes 0: no lift shown.`);
    const table = el("table", { class: "table", id: "experiment-table" },
      el("thead", null, el("tr", null, el("th", { text: "" }),
        ARMS.map(([, title]) => el("th", { class: "num", text: title })))),
      el("tbody", null, ROWS.map(([title, key]) => el("tr", null, el("td", { text: title }),
        ARMS.map(([arm]) => el("td", { class: "num", text: fmt((data.arms[arm] || {})[key]) }))))));
    const legend = el("div", { class: "exp-legend" },
      ARMS.map(([arm, title]) => el("span", { class: `exp-key exp-${arm}`, text: title })));
    mountView("experiment", null,
      header("Experiment", `${fmt(data.holdout_percent)}% of users held out (salt "${data.salt}")` +
        `${data.rule ? `, rule ${data.rule}` : ""}. Feedback is averaged per user first.`, null, null),
      el("div", { class: "card exp-lift", id: "experiment-lift" },
        el("div", { class: "card-label", text: "Lift in feedback mean (treatment − holdout)" }),
        el("div", { class: "exp-lift-value", text: lift.ci
          ? `${lift.feedback_mean >= 0 ? "+" : ""}${fmt(lift.feedback_mean)}  ${fmt(lift.ci)}  p = ${Number(lift.p_value).toPrecision(2)}`
          : "–" }),
        el("div", { class: "muted", text: `${verdict} Method: ${lift.method || "–"}.` })),
      el("div", { class: "table-wrap" }, table),
      el("div", { class: "card exp-chart-card" },
        el("div", { class: "card-label", text: "Feedback mean per day" }), legend,
        data.timeline && data.timeline.length ? chart(kit, data.timeline)
          : el("div", { class: "muted", text: "No requests in the window yet." })));
  }

  window.selfmodelViews = Object.assign(window.selfmodelViews || {}, { experiment: experimentView });
})();
