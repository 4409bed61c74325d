// selfmodel inspector: vanilla JS, no build. Everything shown comes from the JSON API.
// Rendering rule: data only ever reaches the DOM through textContent / createTextNode /
// setAttribute on safe attributes: no HTML string is ever parsed.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const KEY_STORE = "selfmodel.key";
  const TENANT_STORE = "selfmodel.tenant";
  const $ = (id) => document.getElementById(id);

  // ---- DOM helpers ------------------------------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    applyProps(node, props);
    append(node, children);
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    append(node, children);
    return node;
  }

  function applyProps(node, props) {
    if (!props) return;
    for (const [name, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = String(value);
      else if (name === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
      else if (name === "href") node.setAttribute("href", safeHref(value));
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name === "style") Object.assign(node.style, value); // CSSOM: allowed by the CSP
      else if (name === "value") node.value = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function safeHref(href) {
    return typeof href === "string" && href.startsWith("#/") ? href : "#/";
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  const enc = encodeURIComponent;
  const userHref = (user) => `#/users/${enc(user)}`;
  const beliefHref = (user, id) => `#/users/${enc(user)}/beliefs/${enc(id)}`;
  const auditHref = (id) => `#/audit/${enc(id)}`;

  // ---- formatting -------------------------------------------------------------------------

  function when(iso) {
    if (!iso) return "";
    const t = new Date(iso);
    return Number.isNaN(t.getTime()) ? String(iso) : t.toLocaleString();
  }

  function ago(iso) {
    if (!iso) return "";
    const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
    if (!Number.isFinite(seconds)) return "";
    const steps = [[60, "s"], [3600, "m", 60], [86400, "h", 3600], [2592000, "d", 86400],
      [31536000, "mo", 2592000], [Infinity, "y", 31536000]];
    if (seconds < 45) return "just now";
    for (const [limit, unit, div] of steps) {
      if (seconds < limit) return `${Math.round(seconds / (div || 1))}${unit} ago`;
    }
    return "";
  }

  function timeEl(iso, cls) {
    return el("time", { class: cls || "muted", datetime: iso, title: when(iso), text: ago(iso) });
  }

  const pct = (value) => `${Math.round(Math.max(0, Math.min(1, Number(value) || 0)) * 100)}%`;
  const num = (value, digits = 2) => (value === null || value === undefined ? "—"
    : Number(value).toFixed(digits));
  const ms = (value) => (value === null || value === undefined ? "—" : `${Number(value).toFixed(1)} ms`);
  const shortId = (id) => (id && id.length > 14 ? `${id.slice(0, 12)}…` : id || "");

  function level(confidence) {
    return confidence >= 0.75 ? "high" : confidence >= 0.45 ? "mid" : "low";
  }

  function confBar(confidence, wide) {
    const fill = el("span", { class: `bar-fill ${level(confidence)}`, style: { width: pct(confidence) } });
    return el("span", { class: `conf${wide ? " conf-wide" : ""}`, title: `confidence ${num(confidence)}` },
      el("span", { class: "bar" }, fill), el("span", { class: "conf-num", text: num(confidence) }));
  }

  const badge = (text, kind) => el("span", { class: `badge badge-${kind || "plain"}`, text });
  const statusBadge = (status) => badge(status, status);
  const eventBadge = (event) => badge(event, `ev-${event}`);

  // datetime-local → the ledger's timestamp format, so string comparison on `at` is exact.
  function toLedgerTime(local) {
    if (!local) return "";
    const t = new Date(local);
    return Number.isNaN(t.getTime()) ? "" : t.toISOString().replace("Z", "000+00:00");
  }

  function toLocalInput(iso) {
    if (!iso) return "";
    const t = new Date(iso);
    if (Number.isNaN(t.getTime())) return "";
    const local = new Date(t.getTime() - t.getTimezoneOffset() * 60000);
    return local.toISOString().slice(0, 16);
  }

  // ---- API --------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  const auth = {
    get key() { return sessionStorage.getItem(KEY_STORE) || ""; },
    get tenant() { return sessionStorage.getItem(TENANT_STORE) || ""; },
    set(key, tenant) {
      if (key) sessionStorage.setItem(KEY_STORE, key); else sessionStorage.removeItem(KEY_STORE);
      if (tenant) sessionStorage.setItem(TENANT_STORE, tenant); else sessionStorage.removeItem(TENANT_STORE);
      showKeyState();
    },
  };

  async function api(method, path, body, attempt = 0) {
    // Marks the inspector's calls: the server then insists on an admin key.
    const headers = { Accept: "application/json", "X-Selfmodel-Inspector": "1" };
    if (auth.key) headers.Authorization = `Bearer ${auth.key}`;
    if (auth.tenant) headers["X-Selfmodel-Tenant"] = auth.tenant;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, cache: "no-store", credentials: "omit",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    const error = data && data.error ? data.error : null;
    const needsAdmin = response.status === 403 && error && error.code === "admin_required";
    if ((response.status === 401 || needsAdmin) && attempt < 3) {
      await askForKey(attempt ? "That key was not accepted." : (error && error.message) || "");
      return api(method, path, body, attempt + 1);
    }
    if (!response.ok) {
      throw new ApiError(response.status, (error && error.message) || response.statusText,
        error && error.code);
    }
    return data;
  }

  const get = (path) => api("GET", path);

  function query(params) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
    }
    const text = search.toString();
    return text ? `?${text}` : "";
  }

  // ---- chrome: banner, toast, key, dialogs -------------------------------------------------

  function showError(error) {
    const banner = $("banner");
    const message = error instanceof ApiError ? `${error.status}: ${error.message}` : String(error.message || error);
    clear(banner).append(el("span", { text: message }),
      el("button", { class: "btn btn-ghost btn-small", type: "button", text: "Dismiss",
        on: { click: () => { banner.hidden = true; } } }));
    banner.hidden = false;
  }

  function hideError() { $("banner").hidden = true; }

  let toastTimer = 0;
  function toast(message) {
    const node = $("toast");
    node.textContent = message;
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { node.hidden = true; }, 3500);
  }

  function showKeyState() {
    const key = auth.key;
    $("key-state").textContent = key
      ? `Key …${key.slice(-4)}${auth.tenant ? ` · tenant ${auth.tenant}` : ""}` : "No key set";
    $("key-button").textContent = key ? "Change key" : "Set API key";
  }

  let keyWaiters = [];
  function askForKey(message) {
    return new Promise((resolve, reject) => {
      keyWaiters.push({ resolve, reject });
      const dialog = $("key-dialog");
      $("key-input").value = "";
      $("tenant-input").value = auth.tenant;
      $("key-message").textContent = message || "";
      $("key-message").hidden = !message;
      if (!dialog.open) dialog.showModal();
      $("key-input").focus();
    });
  }

  function settleKeyWaiters(ok) {
    const waiters = keyWaiters;
    keyWaiters = [];
    for (const w of waiters) {
      if (ok) w.resolve();
      else w.reject(new ApiError(401, "An API key is needed to use the inspector.", "missing_key"));
    }
  }

  function setupKeyDialog() {
    const dialog = $("key-dialog");
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      auth.set($("key-input").value.trim(), $("tenant-input").value.trim());
      dialog.close("ok");
    });
    $("key-clear").addEventListener("click", () => { auth.set("", ""); dialog.close("cleared"); });
    dialog.addEventListener("close", () => {
      const result = dialog.returnValue;
      dialog.returnValue = "";
      if (keyWaiters.length) settleKeyWaiters(result === "ok");
      else if (result === "ok" || result === "cleared") route();
    });
    $("key-button").addEventListener("click", () => {
      askForKey("").then(() => { page.name = ""; route(); }, () => {});
    });
    showKeyState();
  }

  // confirm: resolves true/false. `typed` asks the user to type a word to confirm.
  function confirmDialog({ title, message, action, typed }) {
    const dialog = $("confirm-dialog");
    $("confirm-title").textContent = title;
    $("confirm-message").textContent = message;
    $("confirm-ok").textContent = action || "Confirm";
    const input = $("confirm-typed");
    $("confirm-typed-label").hidden = !typed;
    $("confirm-typed-hint").textContent = typed ? `Type ${typed} to confirm` : "";
    input.value = "";
    return new Promise((resolve) => {
      $("confirm-form").onsubmit = (event) => {
        event.preventDefault();
        if (typed && input.value !== typed) { input.focus(); return; }
        dialog.close("ok");
      };
      dialog.onclose = () => { resolve(dialog.returnValue === "ok"); dialog.returnValue = ""; };
      dialog.showModal();
      (typed ? input : $("confirm-ok")).focus();
    });
  }

  function setupDialogs() {
    for (const button of document.querySelectorAll("dialog [data-close]")) {
      button.addEventListener("click", () => button.closest("dialog").close("cancel"));
    }
    const range = $("correct-confidence");
    range.addEventListener("input", () => { $("correct-confidence-out").textContent = num(range.value); });
  }

  // ---- router -----------------------------------------------------------------------------

  let renderSeq = 0;
  const page = { name: "", user: null, beliefs: null };

  function parseHash() {
    const raw = location.hash.replace(/^#/, "") || "/users";
    const [path, search] = raw.split("?");
    const parts = path.split("/").filter(Boolean).map((p) => {
      try { return decodeURIComponent(p); } catch (_) { return p; }
    });
    return { parts, params: new URLSearchParams(search || "") };
  }

  function setNav(name) {
    for (const link of document.querySelectorAll("[data-nav]")) {
      link.classList.toggle("active", link.dataset.nav === name);
    }
  }

  async function route() {
    hideError();
    const seq = ++renderSeq;
    const current = () => seq === renderSeq;
    const { parts, params } = parseHash();
    try {
      const extra = (window.selfmodelViews || {})[parts[0]];  // views in their own files
      if (extra) {
        setNav(parts[0]);
        closeDrawer(false);
        await extra(params, current, { el, svg, clear, get, mountView, header, showError });
      } else if (parts[0] === "jobs") {
        setNav("jobs");
        closeDrawer(false);
        await jobsView(params, current);
      } else if (parts[0] === "audit") {
        setNav("audit");
        closeDrawer(false);
        if (parts[1]) await auditRecordView(parts[1], current);
        else await auditView(params, current);
      } else if (parts[0] === "users" && parts[1]) {
        setNav("users");
        if (page.name !== "user" || page.user !== parts[1]) await userView(parts[1], current, params);
        if (!current()) return;
        if (parts[2] === "beliefs" && parts[3]) await openBelief(parts[1], parts[3], current);
        else closeDrawer(false);
      } else {
        setNav("users");
        closeDrawer(false);
        await usersView(params, current);
      }
    } catch (error) {
      if (current()) showError(error);
    }
  }

  function mountView(name, user, ...children) {
    page.name = name;
    page.user = user || null;
    const view = clear($("view"));
    append(view, children);
    return view;
  }

  function header(title, subtitle, crumbs, actions) {
    return el("header", { class: "page-head" },
      crumbs ? el("div", { class: "crumbs" }, crumbs) : null,
      el("div", { class: "page-head-row" },
        el("div", null, el("h1", { class: "page-title", text: title }),
          subtitle ? el("div", { class: "page-sub", text: subtitle }) : null),
        actions ? el("div", { class: "page-actions" }, actions) : null));
  }

  // ---- Users ------------------------------------------------------------------------------

  const USERS_PAGE = 50;

  async function usersView(params, current) {
    const state = { q: params.get("q") || "", offset: Number(params.get("offset")) || 0 };
    const search = el("input", { class: "input search", type: "search", id: "user-search",
      placeholder: "Find a user by id…", value: state.q, autocomplete: "off", spellcheck: "false",
      "aria-label": "Find a user" });
    const body = el("div", { class: "table-wrap" });
    const pager = el("div", { class: "pager" });
    mountView("users", null,
      header("Users", "Everyone the proxy holds a self-model for.", null, null),
      el("div", { class: "toolbar" }, search), body, pager);

    async function load() {
      const seq = renderSeq;
      history.replaceState(null, "", `#/users${query({ q: state.q, offset: state.offset || "" })}`);
      const data = await get(`/v1/users${query({ q: state.q, limit: USERS_PAGE + 1, offset: state.offset })}`);
      if (seq !== renderSeq || !current()) return;
      const rows = data.data.slice(0, USERS_PAGE);
      clear(body).append(rows.length ? usersTable(rows) : empty(state.q
        ? "No user matches that search." : "No users yet. A user appears when a chat request names a `user`, or when beliefs are posted for one."));
      renderPager(pager, state.offset > 0, data.data.length > USERS_PAGE,
        `${rows.length ? state.offset + 1 : 0}–${state.offset + rows.length}`,
        () => { state.offset = Math.max(0, state.offset - USERS_PAGE); load().catch(showError); },
        () => { state.offset += USERS_PAGE; load().catch(showError); });
    }

    let timer = 0;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => { state.q = search.value.trim(); state.offset = 0; load().catch(showError); }, 200);
    });
    body.append(loading());
    await load();
    search.focus();
  }

  function usersTable(rows) {
    return el("table", { class: "table", id: "users-table" },
      el("thead", null, el("tr", null, el("th", { text: "User" }),
        el("th", { class: "num", text: "Active beliefs" }), el("th", { text: "First seen" }))),
      el("tbody", null, rows.map((row) => el("tr", { class: "clickable", dataset: { user: row.user },
        on: { click: (event) => { if (event.target.tagName !== "A") location.hash = userHref(row.user); } } },
      el("td", null, el("a", { class: "strong", href: userHref(row.user), text: row.user })),
      el("td", { class: "num", text: row.active_beliefs }),
      el("td", null, timeEl(row.created))))));
  }

  function renderPager(node, hasPrev, hasNext, label, onPrev, onNext, labels) {
    const [prevText, nextText] = labels || ["Previous", "Next"];
    clear(node).append(
      el("span", { class: "muted", text: label }),
      el("span", { class: "pager-buttons" },
        el("button", { class: "btn btn-small", type: "button", text: prevText, disabled: !hasPrev,
          on: { click: onPrev } }),
        el("button", { class: "btn btn-small", type: "button", text: nextText, disabled: !hasNext,
          on: { click: onNext } })));
  }

  const loading = () => el("div", { class: "loading", text: "Loading…" });
  const empty = (text) => el("div", { class: "empty", text });

  // ---- User: summary + beliefs ------------------------------------------------------------

  const BELIEFS_PAGE = 100;

  async function userView(user, current, params) {
    const per = Math.max(1, Math.min(1000, Number(params && params.get("per")) || BELIEFS_PAGE));
    const summaryNode = el("section", { class: "summary" }, loading());
    const beliefsNode = el("section", { class: "beliefs" });
    const statusSel = el("div", { class: "segmented", role: "group", "aria-label": "Status" });
    const filter = el("input", { class: "input", type: "search", placeholder: "Filter statements…",
      "aria-label": "Filter beliefs", id: "belief-filter" });
    const countNode = el("span", { class: "muted" });
    const conflictNode = el("span", { id: "conflicts-badge" });
    const forget = el("button", { class: "btn btn-danger-ghost", type: "button", text: "Forget user",
      id: "forget-user", on: { click: () => forgetUser(user) } });
    const pagerNode = el("div", { class: "pager", id: "beliefs-pager" });
    const conflictsNode = el("section", { id: "conflicts" });
    const addButton = el("button", { class: "btn", type: "button", id: "add-belief", text: "Add belief",
      on: { click: () => addBelief(user) } });
    mountView("user", user,
      header(user, null, [el("a", { href: "#/users", text: "Users" }), " / ",
        el("span", { text: user })],
      [el("a", { class: "btn", href: `#/audit${query({ user })}`, text: "Audit log" }), addButton, forget]),
      summaryNode,
      previewBox(user),
      conflictsNode,
      el("div", { class: "section-head" }, el("h2", { text: "Beliefs" }), countNode, conflictNode,
        el("span", { class: "grow" }), filter, statusSel),
      beliefsNode, pagerNode);
    page.beliefs = { user, status: "active", filter: "", reload: null, offset: 0, conflicted: new Map() };

    const statuses = [["active", "Active"], ["superseded", "Superseded"], ["retracted", "Retracted"], ["", "All"]];
    const buttons = statuses.map(([value, label]) => el("button", { type: "button", class: "seg",
      text: label, dataset: { status: value },
      on: { click: () => { page.beliefs.status = value; page.beliefs.offset = 0; paintStatus(); loadBeliefs().catch(showError); } } }));
    statusSel.append(...buttons);
    const paintStatus = () => buttons.forEach((b) => b.classList.toggle("on", b.dataset.status === page.beliefs.status));
    paintStatus();

    let all = [];
    let total = 0;
    const paint = () => {
      const needle = page.beliefs.filter.toLowerCase();
      const shown = needle ? all.filter((b) => b.statement.toLowerCase().includes(needle)) : all;
      countNode.textContent = needle ? `${shown.length} of ${all.length} on this page` : `${total}`;
      clear(beliefsNode).append(shown.length ? beliefGroups(user, shown)
        : empty(all.length ? "No belief matches the filter." : "No beliefs with this status."));
      markSelected();
    };
    // The server pages the list (limit/offset); the filter box narrows the page shown.
    async function loadBeliefs() {
      const seq = renderSeq;
      const offset = page.beliefs.offset;
      const data = await get(`/v1/users/${enc(user)}/beliefs${query({ status: page.beliefs.status, limit: per, offset: offset || "" })}`);
      if (seq !== renderSeq && page.user !== user) return;
      all = data.data;
      total = data.total === undefined ? all.length : data.total;
      paint();
      const more = data.has_more === undefined ? false : data.has_more;
      pagerNode.hidden = !(offset > 0 || more);
      renderPager(pagerNode, offset > 0, more,
        `${all.length ? offset + 1 : 0}–${offset + all.length} of ${total}`,
        () => { page.beliefs.offset = Math.max(0, offset - per); loadBeliefs().catch(showError); },
        () => { page.beliefs.offset = offset + per; loadBeliefs().catch(showError); });
    }
    // Conflicting active beliefs, when the server reports them (GET ...?conflicts=true answers
    // pairs: {beliefs: [a, b], similarity, winner, rule}); a server without it lists beliefs.
    async function loadConflicts() {
      let data;
      try { data = await get(`/v1/users/${enc(user)}/beliefs?conflicts=true`); } catch (_) { return; }
      if (page.user !== user) return;
      const pairs = (data.data || []).filter((c) => c && Array.isArray(c.beliefs) && c.beliefs.length === 2);
      page.beliefs.conflicted = new Map();
      for (const pair of pairs) {
        for (const b of pair.beliefs) {
          const other = pair.beliefs.find((o) => o.id !== b.id);
          page.beliefs.conflicted.set(b.id, other ? other.statement : "");
        }
      }
      clear(conflictsNode).append(pairs.length ? conflictsCard(user, pairs) : null);
      clear(conflictNode);
      if (pairs.length) {
        const title = pairs.map((c) => `${c.beliefs[0].statement} ⟷ ${c.beliefs[1].statement} (kept: ${c.winner === c.beliefs[0].id ? c.beliefs[0].statement : c.beliefs[1].statement}; ${c.rule})`).join("\n");
        const n = pairs.length;
        conflictNode.append(el("span", { class: "badge badge-conflict", title, text: `${n} conflict${n === 1 ? "" : "s"}` }));
      }
      paint();
    }
    async function loadSummary() {
      const data = await get(`/v1/users/${enc(user)}/summary`);
      if (page.user !== user) return;
      clear(summaryNode).append(summaryCards(user, data));
    }
    let timer = 0;
    filter.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => { page.beliefs.filter = filter.value.trim(); paint(); }, 120);
    });
    page.beliefs.reload = () => Promise.all([loadBeliefs(), loadSummary(), loadConflicts()]).catch(showError);
    beliefsNode.append(loading());
    await Promise.all([loadBeliefs(), loadSummary(), loadConflicts()]);
    if (!current()) return;
  }

  function summaryCards(user, data) {
    const a = data.alignment || { score: null, inputs: {} };
    const inputs = a.inputs || {};
    const alignment = el("div", { class: "card", id: "alignment" },
      el("div", { class: "card-label", text: "Alignment score" }),
      el("div", { class: "big-row" }, el("span", { class: "big", text: num(a.score) }), confBar(a.score || 0, true)),
      el("dl", { class: "kv kv-compact" },
        kv("Feedback", `${inputs.feedback_count ?? 0} (mean ${inputs.feedback_mean === null || inputs.feedback_mean === undefined ? "—" : num(inputs.feedback_mean)})`),
        kv("User corrections", inputs.corrections ?? 0),
        kv("Requests with injection", inputs.injected_requests ?? 0)));

    const contexts = Object.entries(data.contexts || {}).sort(([x], [y]) => x.localeCompare(y));
    const counts = el("div", { class: "card" },
      el("div", { class: "card-label", text: "Beliefs by context" }),
      contexts.length ? el("table", { class: "mini-table" },
        el("thead", null, el("tr", null, el("th", { text: "Context" }), el("th", { class: "num", text: "Active" }),
          el("th", { class: "num", text: "Superseded" }), el("th", { class: "num", text: "Retracted" }))),
        el("tbody", null, contexts.map(([name, c]) => el("tr", null, el("td", { text: name }),
          el("td", { class: "num strong", text: c.active || 0 }), el("td", { class: "num muted", text: c.superseded || 0 }),
          el("td", { class: "num muted", text: c.retracted || 0 })))))
        : el("div", { class: "muted", text: "No beliefs." }));

    const drift = data.drift || { events: [], changes: 0, window_days: 30 };
    const driftCard = el("div", { class: "card card-drift" },
      el("div", { class: "card-label" }, `Recent drift · last ${Math.round(drift.window_days)} days · `,
        el("span", { class: "strong", text: `${drift.changes} change${drift.changes === 1 ? "" : "s"}` })),
      drift.events.length ? el("ul", { class: "drift-list" }, drift.events.slice(0, 8).map((e) =>
        el("li", null, el("a", { href: beliefHref(user, e.belief_id), class: "drift-link" },
          eventBadge(e.event), el("span", { class: "drift-text", text: e.statement })),
        el("span", { class: "muted small", text: `${e.context} · ${e.actor} · ` }), timeEl(e.at, "muted small"))))
        : el("div", { class: "muted", text: "Nothing changed lately." }));
    return el("div", { class: "cards" }, alignment, counts, driftCard);
  }

  function kv(label, value) {
    const node = (v) => (v instanceof Node ? v : String(v));
    return [el("dt", null, node(label)), el("dd", null, node(value))];
  }

  function beliefGroups(user, beliefs) {
    const groups = new Map();
    for (const b of beliefs) {
      if (!groups.has(b.context)) groups.set(b.context, []);
      groups.get(b.context).push(b);
    }
    const fragment = document.createDocumentFragment();
    for (const [context, items] of [...groups.entries()].sort(([x], [y]) => x.localeCompare(y))) {
      fragment.append(el("div", { class: "group", dataset: { context } },
        el("div", { class: "group-head" }, el("span", { class: "group-name", text: context }),
          el("span", { class: "muted", text: `${items.length}` })),
        el("div", { class: "rows" }, items.map((b) => beliefRow(user, b)))));
    }
    return fragment;
  }

  function beliefRow(user, b) {
    return el("a", { class: "belief-row", href: beliefHref(user, b.id), dataset: { id: b.id } },
      el("span", { class: "belief-statement", text: b.statement }),
      b.status !== "active" ? statusBadge(b.status) : null,
      page.beliefs && page.beliefs.conflicted && page.beliefs.conflicted.has(b.id)
        ? el("span", { class: "badge badge-warn conflict-flag", title: `conflicts with: ${page.beliefs.conflicted.get(b.id)}`, text: "conflict" }) : null,
      confBar(b.confidence),
      badge(b.source, `src-${b.source}`),
      el("span", { class: "belief-age", title: `updated ${when(b.updated)}`, text: ago(b.updated) }));
  }

  function markSelected() {
    const { parts } = parseHash();
    const selected = parts[2] === "beliefs" ? parts[3] : null;
    for (const row of document.querySelectorAll(".belief-row")) {
      row.classList.toggle("selected", row.dataset.id === selected);
    }
  }

  async function forgetUser(user) {
    const ok = await confirmDialog({ title: `Forget ${user}?`, action: "Forget user", typed: user,
      message: "Deletes every belief, vector and pending extraction job of this user, and redacts their audit text. This cannot be undone." });
    if (!ok) return;
    try {
      await api("DELETE", `/v1/users/${enc(user)}`);
      toast(`Forgot ${user}.`);
      page.name = "";
      location.hash = "#/users";
    } catch (error) { showError(error); }
  }

  // ---- User: preview, add a belief, conflicts ---------------------------------------------

  function previewBox(user) {
    const message = el("textarea", { class: "input preview-input", id: "preview-message", rows: 2,
      placeholder: "A question this user might ask…", "aria-label": "Question to preview", spellcheck: "false" });
    const model = el("select", { class: "input", id: "preview-model", "aria-label": "Model" });
    const result = el("div", { id: "preview-result" });
    const run = el("button", { class: "btn btn-primary", type: "submit", id: "preview-run", text: "Preview" });
    get("/v1/models").then((data) => {
      for (const m of data.data || []) model.append(el("option", { value: m.id, text: m.id }));
    }).catch(() => {});
    const form = el("form", { class: "card preview", id: "preview-form" },
      el("div", { class: "card-label", text: "Preview: what would a question get injected? (no upstream call)" }),
      el("div", { class: "toolbar" }, message, model, run), result);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = message.value.trim();
      if (!text) { message.focus(); return; }
      run.disabled = true;
      try {
        const data = await api("POST", `/v1/users/${enc(user)}/preview`,
          { model: model.value, messages: [{ role: "user", content: text }] });
        clear(result).append(
          el("div", { class: "muted small", id: "preview-facts",
            text: `rule ${data.rule || "none"} · ${data.beliefs.length} belief${data.beliefs.length === 1 ? "" : "s"} · ${data.tokens} tokens${data.position ? ` · ${data.position}` : ""}${data.degraded ? ` · degraded: ${data.degraded}` : ""}` }),
          data.beliefs.length ? el("ol", { class: "preview-list", id: "preview-beliefs" }, data.beliefs.map((b) =>
            el("li", null, el("a", { href: beliefHref(user, b.id), text: b.statement }),
              el("span", { class: "muted small", text: ` · ${b.context} · score ${num(b.score, 3)}` })))) : null,
          data.rendered ? el("pre", { class: "code", id: "preview-rendered", text: data.rendered })
            : empty("Nothing would be injected."));
      } catch (error) { showError(error); } finally { run.disabled = false; }
    });
    return form;
  }

  const KNOWN_CONTEXTS = ["preferences", "expertise", "goals", "constraints", "communication_style"];

  function addBelief(user) {
    const existing = $("add-belief-form");
    if (existing) { existing.remove(); return; }
    const statement = el("textarea", { class: "input", id: "new-statement", rows: 2, maxlength: 1000,
      placeholder: "e.g. Is vegetarian", "aria-label": "Statement", spellcheck: "false" });
    const list = el("datalist", { id: "context-options" }, KNOWN_CONTEXTS.map((c) => el("option", { value: c })));
    const context = el("input", { class: "input", id: "new-context", list: "context-options",
      value: "preferences", "aria-label": "Context", autocomplete: "off", spellcheck: "false" });
    const confidence = el("input", { class: "input", id: "new-confidence", type: "number", min: 0, max: 1,
      step: 0.05, placeholder: "confidence (optional)", "aria-label": "Confidence" });
    const errorNode = el("p", { class: "dialog-error", id: "new-error", hidden: true });
    const form = el("form", { class: "card", id: "add-belief-form" },
      el("div", { class: "card-label", text: "Add a belief (recorded as asserted through the API)" }),
      el("div", { class: "toolbar" }, statement, context, list, confidence,
        el("button", { class: "btn btn-primary", type: "submit", id: "new-save", text: "Add" }),
        el("button", { class: "btn btn-ghost", type: "button", text: "Cancel", on: { click: () => form.remove() } })),
      errorNode);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { statement: statement.value.trim(), context: context.value.trim() };
      if (confidence.value !== "") body.confidence = Number(confidence.value);
      if (!body.statement) { statement.focus(); return; }
      try {
        const created = await api("POST", `/v1/users/${enc(user)}/beliefs`, body);
        form.remove();
        toast("Belief added.");
        await afterChange(user, created.id);
      } catch (error) {
        errorNode.textContent = error.message;
        errorNode.hidden = false;
      }
    });
    $("preview-form").after(form);
    statement.focus();
  }

  function conflictsCard(user, pairs) {
    return el("div", { class: "card card-warn", id: "conflicts-card" },
      el("div", { class: "card-label", text: `${pairs.length} conflicting pair${pairs.length === 1 ? "" : "s"} of active beliefs` }),
      el("ul", { class: "conflict-list" }, pairs.map((pair) => el("li", { class: "conflict-pair" },
        pair.beliefs.map((b, i) => [i ? el("span", { class: "muted", text: " ⟷ " }) : null,
          el("a", { href: beliefHref(user, b.id), class: b.id === pair.winner ? "strong" : "", text: b.statement })]),
        el("span", { class: "muted small", text: ` · similarity ${num(pair.similarity, 2)}${pair.rule ? ` · ${pair.rule}` : ""}` })))));
  }

  // ---- Jobs: the learning queue and its dead letters ---------------------------------------

  const JOB_STATES = ["dead", "pending", "running", "done", "skipped", ""];

  async function jobsView(params, current) {
    const stateFilter = params.has("state") ? params.get("state") : "dead";
    const request = params.get("request") || "";
    const seg = el("div", { class: "segmented", role: "group", "aria-label": "State" },
      JOB_STATES.map((value) => el("a", { class: `seg${value === stateFilter ? " on" : ""}`,
        href: `#/jobs${query({ state: value || "all" })}`, dataset: { state: value }, text: value || "all" })));
    const retryAll = el("button", { class: "btn", type: "button", id: "retry-dead", text: "Retry all dead",
      on: { click: () => retryJobs(null) } });
    const body = el("div", { class: "table-wrap" }, loading());
    const countsNode = el("div", { class: "muted small", id: "job-counts" });
    mountView("jobs", null,
      header("Learning jobs", "Each chat turn with a user is queued for extraction; a job that keeps failing is parked as dead until retried.", null, [retryAll]),
      el("div", { class: "toolbar" }, seg, el("span", { class: "grow" }), countsNode), body);
    const wanted = stateFilter === "all" ? "" : stateFilter;
    const data = await get(`/v1/extraction/jobs${query({ state: wanted, limit: 200 })}`);
    if (!current()) return;
    const rows = request ? data.data.filter((j) => j.request_id === request) : data.data;
    countsNode.textContent = Object.entries(data.counts || {}).map(([k, v]) => `${k} ${v}`).join(" · ") || "no jobs";
    retryAll.disabled = !(data.counts && data.counts.dead);
    clear(body).append(rows.length ? jobsTable(rows)
      : empty(wanted === "dead" ? "No dead letters: every job succeeded or is still queued." : "No jobs match."));
  }

  function jobsTable(jobs) {
    return el("table", { class: "table", id: "jobs-table" },
      el("thead", null, el("tr", null, ["Job", "State", "Tries", "User", "Request", "Updated", "Error", ""].map((t) => el("th", { text: t })))),
      el("tbody", null, jobs.map((j) => el("tr", { dataset: { job: j.id, state: j.state } },
        el("td", { class: "mono", text: `#${j.id}` }),
        el("td", null, badge(j.state, j.state === "dead" ? "err" : j.state === "done" ? "ok" : "plain")),
        el("td", { class: "num", text: j.attempts }),
        el("td", null, el("a", { href: userHref(j.user), text: j.user })),
        el("td", null, el("a", { class: "mono", href: auditHref(j.request_id), text: shortId(j.request_id) })),
        el("td", null, timeEl(j.updated_at)),
        el("td", { class: "job-error", title: j.last_error || "", text: j.last_error || "" }),
        el("td", null, j.state === "dead" ? el("button", { class: "btn btn-small", type: "button", text: "Retry",
          dataset: { retry: j.id }, on: { click: () => retryJobs(j.id) } }) : null)))));
  }

  async function retryJobs(id) {
    try {
      const result = await api("POST", `/v1/extraction/jobs/retry${query({ job_id: id })}`);
      toast(`Retried ${result.retried} job${result.retried === 1 ? "" : "s"}.`);
      page.name = "";
      await route();
    } catch (error) { showError(error); }
  }

  // ---- Belief drawer ----------------------------------------------------------------------

  function closeDrawer(navigate) {
    const drawer = $("drawer");
    if (drawer.hidden) return;
    drawer.hidden = true;
    document.body.classList.remove("drawer-open");
    if (navigate && page.user) location.hash = userHref(page.user);
    markSelected();
  }

  async function openBelief(user, id, current) {
    const drawer = $("drawer");
    const body = $("drawer-body");
    drawer.hidden = false;
    document.body.classList.add("drawer-open");
    markSelected();
    clear(body).append(loading());
    const belief = await get(`/v1/users/${enc(user)}/beliefs/${enc(id)}`);
    const lineage = await predecessors(user, belief);
    if (!current()) return;
    clear(body).append(beliefDetail(user, belief, lineage));
    body.scrollTop = 0;
  }

  // Earlier versions this belief revised (newest first), so the timeline spans revisions.
  async function predecessors(user, belief) {
    const chain = [];
    let id = belief.supersedes;
    while (id && chain.length < 20) {
      try {
        const prev = await get(`/v1/users/${enc(user)}/beliefs/${enc(id)}`);
        chain.push(prev);
        id = prev.supersedes;
      } catch (_) { break; }
    }
    return chain;
  }

  function beliefDetail(user, b, lineage) {
    const active = b.status === "active";
    const steps = [...lineage].reverse().flatMap((p) => p.history.map((h) => ({ ...h, belief: p })))
      .concat(b.history.map((h) => ({ ...h, belief: b })));
    return el("div", { class: "detail", id: "belief-detail", dataset: { id: b.id } },
      el("div", { class: "detail-tags" }, statusBadge(b.status), badge(b.context, "context"),
        badge(b.source, `src-${b.source}`), el("span", { class: "muted small", text: `v${b.version}` })),
      el("p", { class: "detail-statement", id: "belief-statement", text: b.statement }),
      el("div", { class: "detail-conf" }, confBar(b.confidence, true)),
      el("dl", { class: "kv" },
        kv("Created", timeEl(b.created, "")), kv("Updated", timeEl(b.updated, "")),
        kv("Valid", `${when(b.valid_from)} → ${b.valid_to ? when(b.valid_to) : "now"}`),
        b.supersedes ? kv("Revises", el("a", { href: beliefHref(user, b.supersedes), class: "mono", text: shortId(b.supersedes) })) : null,
        b.superseded_by ? kv("Superseded by", el("a", { href: beliefHref(user, b.superseded_by), class: "mono", text: shortId(b.superseded_by) })) : null,
        kv("Id", el("span", { class: "mono small", text: b.id }))),
      el("div", { class: "detail-actions" },
        el("button", { class: "btn btn-primary", type: "button", id: "correct-belief", text: "Correct",
          disabled: !active, on: { click: () => correctBelief(user, b) } }),
        el("button", { class: "btn btn-danger-ghost", type: "button", id: "retract-belief", text: "Retract",
          disabled: !active, on: { click: () => retractBelief(user, b) } })),
      el("h3", { class: "detail-h", text: "Confidence over time" }),
      confidenceChart(steps, b),
      el("h3", { class: "detail-h", text: "History" }),
      timeline(user, steps, b),
      el("h3", { class: "detail-h", text: "Why we believe this" }),
      evidenceList(b.evidence));
  }

  function timeline(user, steps, b) {
    if (!steps.length) return empty("No history.");
    let previous = null;
    const items = steps.slice().map((h) => {
      const changed = previous === null || h.statement !== previous.statement;
      previous = h;
      const links = [];
      if (h.request_id) links.push(el("a", { href: auditHref(h.request_id), class: "mono small", text: `request ${shortId(h.request_id)}` }));
      if (h.observation_id) links.push(el("span", { class: "mono small muted", title: h.observation_id, text: `observation ${shortId(h.observation_id)}` }));
      const other = h.belief.id !== b.id;
      return el("li", { class: `tl-item tl-${h.event}` },
        el("span", { class: "tl-dot", "aria-hidden": "true" }),
        el("div", { class: "tl-main" },
          el("div", { class: "tl-row" }, eventBadge(h.event),
            el("span", { class: "tl-conf", text: num(h.confidence) }),
            el("span", { class: "muted small", text: `by ${h.actor}` }),
            el("span", { class: "grow" }), timeEl(h.at, "muted small")),
          changed ? el("div", { class: `tl-statement${other ? " muted" : ""}`, text: h.statement }) : null,
          links.length ? el("div", { class: "tl-links" }, links) : null));
    });
    return el("ol", { class: "timeline", id: "belief-timeline" }, items.reverse());
  }

  // Evidence before the latest anchored statement (a correction, an explicit confidence) no
  // longer counts: the anchor replaced it. `delta` is each item's log-odds contribution today.
  function evidenceList(evidence) {
    if (!evidence || !evidence.length) return empty("No evidence recorded.");
    const anchors = evidence.filter((e) => e.anchor !== null && e.anchor !== undefined);
    const lastAnchor = anchors.length ? anchors[anchors.length - 1] : null;
    const anchorAt = lastAnchor ? new Date(lastAnchor.at).getTime() : -Infinity;
    return el("ul", { class: "evidence", id: "belief-evidence" }, evidence.slice().reverse().map((e) => {
      const delta = e.delta === null || e.delta === undefined ? null : Number(e.delta);
      const replaced = lastAnchor && e !== lastAnchor && new Date(e.at).getTime() <= anchorAt;
      return el("li", { class: `ev-item${replaced ? " ev-replaced" : ""}` },
        el("div", { class: "ev-row" }, badge(e.source, `src-${e.source}`),
          el("span", { class: "muted small", text: e.kind }),
          e.polarity < 0 ? badge("contradicts", "neg") : null,
          replaced ? el("span", { class: "muted small", text: "· replaced by a later anchor" }) : null,
          el("span", { class: "grow" }),
          delta === null || replaced ? null : el("span", { class: `delta ${delta >= 0 ? "pos" : "neg"}`,
            title: "contribution to the belief's log-odds today (after decay)",
            text: `${delta >= 0 ? "+" : "−"}${Math.abs(delta).toFixed(2)} log-odds` }),
          e.confidence_after === null || e.confidence_after === undefined ? null
            : el("span", { class: "small", text: `→ ${num(e.confidence_after)}` })),
        e.quote ? el("blockquote", { class: "ev-quote", text: e.quote }) : null,
        el("div", { class: "ev-meta" }, timeEl(e.at, "muted small"),
          e.weight !== 1 ? el("span", { class: "muted small", text: `weight ${num(e.weight)}` }) : null,
          e.anchor !== null && e.anchor !== undefined ? el("span", { class: "muted small", text: `anchored at ${num(e.anchor)}` }) : null,
          e.request_id ? el("a", { href: auditHref(e.request_id), class: "mono small", text: `request ${shortId(e.request_id)}` }) : null,
          e.observation_id ? el("span", { class: "mono small muted", title: e.observation_id, text: `observation ${shortId(e.observation_id)}` }) : null));
    }));
  }

  // Points are spaced by event (not by clock time), so a burst of changes stays readable next to
  // a quiet month; each dot's tooltip and the axis ends give the actual times.
  function confidenceChart(steps, b) {
    const W = 360, H = 130, L = 30, R = 10, T = 10, B = 22;
    const points = steps.map((h) => ({ at: h.at, c: Number(h.confidence), label: h.event }));
    if (b.status === "active") points.push({ at: new Date().toISOString(), c: Number(b.confidence), label: "now" });
    if (!points.length) return empty("No data.");
    const n = points.length;
    const x = (i) => (n === 1 ? (L + W - R) / 2 : L + (i / (n - 1)) * (W - L - R));
    const y = (c) => T + (1 - Math.max(0, Math.min(1, c))) * (H - T - B);
    const chart = svg("svg", { class: "chart", id: "confidence-chart", viewBox: `0 0 ${W} ${H}`,
      role: "img", "aria-label": "Confidence over time" });
    for (const g of [0, 0.25, 0.5, 0.75, 1]) {
      chart.append(svg("line", { x1: L, x2: W - R, y1: y(g), y2: y(g), class: g === 0.5 ? "grid grid-mid" : "grid" }));
      if (g % 0.5 === 0) chart.append(svg("text", { x: L - 6, y: y(g) + 3, class: "axis", "text-anchor": "end" }, String(g)));
    }
    const day = (iso) => new Date(iso).toLocaleDateString(undefined, { month: "short", day: "numeric", year: "numeric" });
    chart.append(svg("text", { x: L, y: H - 6, class: "axis", "text-anchor": "start" }, day(points[0].at)));
    if (n > 1) chart.append(svg("text", { x: W - R, y: H - 6, class: "axis", "text-anchor": "end" }, points[n - 1].label === "now" ? "now" : day(points[n - 1].at)));
    const d = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.c).toFixed(1)}`).join(" ");
    const area = `${d} L${x(n - 1).toFixed(1)},${y(0)} L${x(0).toFixed(1)},${y(0)} Z`;
    chart.append(svg("path", { d: area, class: "chart-area" }), svg("path", { d, class: "chart-line" }));
    points.forEach((p, i) => {
      chart.append(svg("circle", { cx: x(i).toFixed(1), cy: y(p.c).toFixed(1), r: 3.5, class: `chart-dot ev-${p.label}` },
        svg("title", null, `${p.label} · ${num(p.c)} · ${when(p.at)}`)));
    });
    return el("div", { class: "chart-wrap" }, chart);
  }

  async function correctBelief(user, b) {
    const dialog = $("correct-dialog");
    const statement = $("correct-statement");
    const range = $("correct-confidence");
    const errorNode = $("correct-error");
    statement.value = b.statement;
    range.value = String(b.confidence);
    $("correct-confidence-out").textContent = num(b.confidence);
    errorNode.hidden = true;
    $("correct-form").onsubmit = async (event) => {
      event.preventDefault();
      const body = { version: b.version };
      const text = statement.value.trim();
      if (text && text !== b.statement) body.statement = text;
      if (Math.abs(Number(range.value) - b.confidence) >= 0.005) body.confidence = Number(range.value);
      if (body.statement === undefined && body.confidence === undefined) {
        errorNode.textContent = "Nothing changed.";
        errorNode.hidden = false;
        return;
      }
      $("correct-ok").disabled = true;
      try {
        const updated = await api("PATCH", `/v1/users/${enc(user)}/beliefs/${enc(b.id)}`, body);
        dialog.close("ok");
        toast(updated.id !== b.id ? "Correction recorded: the belief was revised." : "Correction recorded.");
        await afterChange(user, updated.id);
      } catch (error) {
        errorNode.textContent = error.message;
        errorNode.hidden = false;
      } finally {
        $("correct-ok").disabled = false;
      }
    };
    dialog.showModal();
    statement.focus();
  }

  async function retractBelief(user, b) {
    const ok = await confirmDialog({ title: "Retract this belief?", action: "Retract",
      message: `“${b.statement}” will no longer be injected. It stays in the history as retracted by the user.` });
    if (!ok) return;
    try {
      await api("DELETE", `/v1/users/${enc(user)}/beliefs/${enc(b.id)}`);
      toast("Belief retracted.");
      await afterChange(user, b.id);
    } catch (error) { showError(error); }
  }

  async function afterChange(user, id) {
    if (page.beliefs && page.beliefs.reload) await page.beliefs.reload();
    const target = beliefHref(user, id);
    if (location.hash !== target) location.hash = target;
    else await openBelief(user, id, () => true);
    markSelected();
  }

  // ---- Audit ------------------------------------------------------------------------------

  const AUDIT_PAGE = 50;
  let auditCursors = [];

  async function auditView(params, current) {
    const filters = Object.fromEntries(["user", "model", "rule", "since", "until"].map((k) => [k, params.get(k) || ""]));
    const before = params.get("before") || "";
    const input = (name, placeholder) => el("input", { class: "input", name, placeholder, value: filters[name],
      "aria-label": placeholder, autocomplete: "off", spellcheck: "false" });
    const dateInput = (name, label) => el("label", { class: "inline-field" }, el("span", { text: label }),
      el("input", { class: "input", type: "datetime-local", name, value: toLocalInput(filters[name]) }));
    const form = el("form", { class: "toolbar filters", id: "audit-filters" },
      input("user", "User"), input("model", "Model"), input("rule", "Rule"),
      dateInput("since", "Since"), dateInput("until", "Until"),
      el("button", { class: "btn btn-primary", type: "submit", text: "Apply" }),
      el("button", { class: "btn btn-ghost", type: "button", text: "Clear",
        on: { click: () => { auditCursors = []; location.hash = "#/audit"; } } }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const f = new FormData(form);
      auditCursors = [];
      location.hash = `#/audit${query({ user: f.get("user").trim(), model: f.get("model").trim(),
        rule: f.get("rule").trim(), since: toLedgerTime(f.get("since")), until: toLedgerTime(f.get("until")) })}`;
    });
    const body = el("div", { class: "table-wrap" }, loading());
    const pager = el("div", { class: "pager" });
    mountView("audit", null, header("Audit log", "Every request: what was injected into it, and why. Newest first.", null, null),
      form, body, pager);
    const data = await get(`/v1/audit${query({ ...filters, before, limit: AUDIT_PAGE })}`);
    if (!current()) return;
    clear(body).append(data.data.length ? auditTable(data.data) : empty("No audit records match."));
    const pageNo = auditCursors.length + 1;
    renderPager(pager, Boolean(before), Boolean(data.next_before), `Page ${pageNo} · ${data.data.length} records`,
      () => {
        auditCursors.pop();
        const prev = auditCursors.length ? auditCursors[auditCursors.length - 1] : "";
        location.hash = `#/audit${query({ ...filters, before: prev })}`;
      },
      () => {
        auditCursors.push(data.next_before);
        location.hash = `#/audit${query({ ...filters, before: data.next_before })}`;
      }, ["Newer", "Older"]);
  }

  // A forgotten user's records keep their timings, not what was injected (older stores kept
  // the token count too: it is shown as 0 like the rest).
  const forgotten = (r) => r.user === "[forgotten]";

  function auditTable(records) {
    return el("table", { class: "table", id: "audit-table" },
      el("thead", null, el("tr", null, ["Time", "Request", "User", "Model", "Rule"].map((t) => el("th", { text: t })),
        ["Injected", "Tokens", "Memory", "Upstream"].map((t) => el("th", { class: "num", text: t })),
        el("th", { text: "Status" }))),
      el("tbody", null, records.map((r) => el("tr", { class: "clickable", dataset: { request: r.request_id },
        on: { click: (event) => { if (event.target.tagName !== "A") location.hash = auditHref(r.request_id); } } },
      el("td", { class: "nowrap" }, el("span", { title: r.at, text: when(r.at) })),
      el("td", null, el("a", { class: "mono", href: auditHref(r.request_id), text: shortId(r.request_id) })),
      el("td", null, forgotten(r) ? el("span", { class: "muted", text: r.user })
        : r.user ? el("a", { href: userHref(r.user), text: r.user }) : el("span", { class: "muted", text: "—" })),
      el("td", { text: r.model }),
      el("td", null, r.rule || el("span", { class: "muted", text: "—" })),
      el("td", { class: "num", text: (r.injected || []).length }),
      el("td", { class: "num", text: forgotten(r) ? 0 : r.tokens }),
      el("td", { class: "num", text: ms((r.latency_ms.retrieve || 0) + (r.latency_ms.render || 0)) }),
      el("td", { class: "num", text: ms(r.latency_ms.upstream) }),
      el("td", { class: "nowrap" }, badge(String(r.status), r.status < 400 ? "ok" : "err"),
        r.degraded ? badge("degraded", "warn") : null, r.stream ? badge("stream", "plain") : null)))));
  }

  async function auditRecordView(id, current) {
    mountView("audit-record", null, header(shortId(id), null, [el("a", { href: "#/audit", text: "Audit log" }), " / ",
      el("span", { class: "mono", text: id })], null), loading());
    const r = await get(`/v1/audit/${enc(id)}`);
    if (!current()) return;
    const lat = r.latency_ms || {};
    const parts = [["retrieve", lat.retrieve], ["render", lat.render], ["upstream", lat.upstream]];
    const total = parts.reduce((s, [, v]) => s + (Number(v) || 0), 0);
    const latency = el("div", { class: "card", id: "latency" },
      el("div", { class: "card-label" }, "Latency · ", el("span", { class: "strong", text: ms(total) })),
      el("div", { class: "stack" }, parts.map(([name, v]) => el("span", { class: `stack-part lat-${name}`,
        title: `${name} ${ms(v)}`, style: { flexGrow: String(Math.max(Number(v) || 0, total * 0.01)) } }))),
      el("dl", { class: "kv kv-compact" }, parts.map(([name, v]) => kv(
        el("span", null, el("span", { class: `swatch lat-${name}` }), name), ms(v)))));
    const facts = el("div", { class: "card" },
      el("div", { class: "card-label", text: "Request" }),
      el("dl", { class: "kv kv-compact" },
        kv("Time", `${when(r.at)}`),
        kv("User", forgotten(r) ? r.user : r.user ? el("a", { href: userHref(r.user), text: r.user }) : "—"),
        kv("Model", r.model), kv("Rule", r.rule || "none matched"),
        kv("Template", r.template ? `${r.template}${r.template_sha256 ? ` · sha256 ${r.template_sha256.slice(0, 12)}` : ""}` : "—"),
        kv("Tokens injected", forgotten(r) ? 0 : r.tokens), kv("Stream", r.stream ? "yes" : "no"),
        kv("Upstream status", String(r.status)),
        r.error ? kv("Error", r.error) : null));
    const flags = el("div", { class: `card${r.degraded ? " card-warn" : ""}`, id: "degraded" },
      el("div", { class: "card-label", text: "Memory" }),
      el("div", { class: "big-row" }, el("span", { class: "big", text: String((r.injected || []).length) }),
        el("span", { class: "muted", text: `beliefs injected · ${forgotten(r) ? 0 : r.tokens} tokens` })),
      r.degraded ? el("div", null, badge("degraded", "warn"), " ", el("span", { text: r.degraded_reason || "" }))
        : el("div", { class: "muted", text: "Not degraded: memory answered in time." }));
    const injected = r.injected || [];
    const beliefsTable = injected.length ? el("table", { class: "table", id: "injected-table" },
      el("thead", null, el("tr", null, el("th", { text: "#" }), el("th", { text: "Belief" }), el("th", { text: "Context" }),
        el("th", { text: "Confidence" }), el("th", { text: "Score" }))),
      el("tbody", null, injected.map((b, i) => el("tr", null, el("td", { class: "muted", text: i + 1 }),
        el("td", null, r.user ? el("a", { href: beliefHref(r.user, b.id), text: b.statement }) : b.statement),
        el("td", null, badge(b.context, "context")), el("td", null, confBar(b.confidence)),
        el("td", { class: "num mono", text: num(b.score, 3) })))))
      : empty(r.user ? "Nothing was injected into this request." : "No end user: plain pass-through.");
    const rendered = r.rendered === null || r.rendered === undefined
      ? empty(injected.length ? "The rendered text was not stored (audit.store_rendered is off), or was redacted." : "Nothing rendered.")
      : el("pre", { class: "code", id: "rendered-text", text: r.rendered });
    const notStored = forgotten(r) ? "Redacted: the user was forgotten."
      : "Not stored (audit.store_rendered is off).";
    const turn = el("div", { class: "turn", id: "turn" },
      el("div", { class: "turn-part" }, el("div", { class: "card-label", text: "User message (drove retrieval)" }),
        r.user_message === null || r.user_message === undefined ? empty(notStored)
          : el("pre", { class: "code", id: "turn-user", text: r.user_message })),
      el("div", { class: "turn-part" }, el("div", { class: "card-label", text: "Reply" }),
        r.reply === null || r.reply === undefined
          ? empty(r.status >= 400 ? "No reply: the upstream call failed." : notStored)
          : el("pre", { class: "code", id: "turn-reply", text: r.reply })));
    const learnedNode = el("section", { id: "learned" }, loading());
    mountView("audit-record", null,
      header(r.request_id, null, [el("a", { href: "#/audit", text: "Audit log" }), " / ",
        el("span", { class: "mono", text: shortId(r.request_id) })],
      [badge(String(r.status), r.status < 400 ? "ok" : "err"), r.degraded ? badge("degraded", "warn") : null]),
      el("div", { class: "cards" }, facts, flags, latency),
      el("div", { class: "section-head" }, el("h2", { text: "The turn" })),
      turn,
      el("div", { class: "section-head" }, el("h2", { text: "Learned from this turn" }),
        el("span", { class: "muted", text: "the extraction job and the beliefs it changed" })),
      learnedNode,
      el("div", { class: "section-head" }, el("h2", { text: "Injected beliefs" }),
        el("span", { class: "muted", text: "ranked by retrieval score" })),
      beliefsTable,
      el("div", { class: "section-head" }, el("h2", { text: "Rendered text, exactly as injected" }),
        r.rendered ? el("span", { class: "muted", text: `${r.rendered.length} chars · ${r.tokens} tokens` }) : null,
        el("span", { class: "grow" }),
        r.rendered ? el("button", { class: "btn btn-small", type: "button", text: "Copy",
          on: { click: () => navigator.clipboard.writeText(r.rendered).then(() => toast("Copied."), () => toast("Copy failed.")) } }) : null),
      rendered);
    try {
      const learned = await get(`/v1/audit/${enc(id)}/learned`);
      if (!current()) return;
      clear(learnedNode).append(learnedView(r, learned));
    } catch (error) {
      if (current()) clear(learnedNode).append(empty(`Could not load what was learned: ${error.message}`));
    }
  }

  const CHANGE_WORDS = { created: "added", reinforced: "reinforced", weakened: "weakened",
    superseded: "revised (old version)", corrected: "corrected", retracted: "retracted" };

  function learnedView(r, learned) {
    const jobs = learned.jobs || [];
    const changes = learned.changes || [];
    const jobLine = jobs.length ? el("div", { class: "toolbar", id: "learned-jobs" }, jobs.map((j) =>
      el("a", { class: "job-link", href: `#/jobs${query({ state: "all", request: r.request_id })}`, dataset: { job: j.id } },
        `extraction job #${j.id} `, badge(j.state, j.state === "dead" ? "err" : j.state === "done" ? "ok" : "plain"),
        j.last_error ? el("span", { class: "muted small", text: ` ${j.last_error}` }) : null)))
      : el("div", { class: "muted", id: "learned-jobs", text: !learned.extraction_enabled ? "Learning is off (extraction.enabled: false)."
        : !r.user || forgotten(r) ? "No end user: nothing to learn." : r.status >= 400 ? "The call failed: the turn was not queued."
        : "No extraction job: the turn said nothing about the user (the gate skipped it)." });
    const list = changes.length ? el("table", { class: "table", id: "learned-table" },
      el("thead", null, el("tr", null, ["Change", "Belief", "Context", "Confidence", "Status"].map((t) => el("th", { text: t })))),
      el("tbody", null, changes.map((c) => el("tr", { dataset: { belief: c.belief_id, event: c.event } },
        el("td", null, eventBadge(c.event), el("span", { class: "muted small", text: ` ${c.event === "created" && c.supersedes ? "revised (new version)" : CHANGE_WORDS[c.event] || c.event}` })),
        el("td", null, el("a", { href: beliefHref(c.user, c.belief_id), text: c.statement })),
        el("td", null, badge(c.context, "context")),
        el("td", null, confBar(c.confidence)),
        el("td", null, statusBadge(c.status))))))
      : jobs.some((j) => j.state === "pending" || j.state === "running") ? empty("Not processed yet.")
        : jobs.length ? empty("Nothing was added, reinforced or revised from this turn.") : null;
    return el("div", null, jobLine, list);
  }

  // ---- start ------------------------------------------------------------------------------

  function start() {
    setupKeyDialog();
    setupDialogs();
    $("drawer-close").addEventListener("click", () => closeDrawer(true));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !document.querySelector("dialog[open]")) closeDrawer(true);
    });
    window.addEventListener("hashchange", route);
    route();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
