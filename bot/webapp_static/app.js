// The Mini App's page: plain JavaScript, no library, nothing from the internet.
// Telegram opens the page with #tgWebAppData=<initData>&tgWebAppThemeParams=<json> in the URL;
// initData goes back to the server with every request ("Authorization: tma ..."), which checks it.
// Every text comes from the server's catalogs (handlers/texts/*/webapp.toml) and is set as text.
"use strict";

(function () {
  var fragment = new URLSearchParams(location.hash.slice(1));
  var initData = fragment.get("tgWebAppData") || "";
  var texts = {};
  var me = null;
  var current = "dashboard";
  var deskQuery = { state: "open" };

  function $(id) { return document.getElementById(id); }
  function tr(key, params) {
    var text = texts[key] !== undefined ? texts[key] : key;
    Object.keys(params || {}).forEach(function (name) { text = text.split("{" + name + "}").join(String(params[name])); });
    return text;
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else if (name === "onclick") node.addEventListener("click", attrs[name]);
      else if (name === "className") node.className = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  // The server draws the charts (handlers/webapp_charts.py, every text escaped there).
  function svg(markup) {
    var box = el("div", { className: "chart-box" });
    var doc = new DOMParser().parseFromString(markup, "image/svg+xml");
    box.appendChild(document.importNode(doc.documentElement, true));
    return box;
  }
  function status(text, isError) {
    var node = $("status");
    node.textContent = text || "";
    node.className = isError ? "error" : "";
    node.hidden = !text;
  }

  // ---- theme: Telegram's parameters, else the system's light or dark
  function applyTheme() {
    var raw = fragment.get("tgWebAppThemeParams");
    var params = {};
    try { params = raw ? JSON.parse(raw) : {}; } catch (e) { params = {}; }
    if (window.Telegram && window.Telegram.WebApp && window.Telegram.WebApp.themeParams) {
      params = window.Telegram.WebApp.themeParams;
    }
    var root = document.documentElement;
    Object.keys(params).forEach(function (key) {
      if (/^[a-z_]+$/.test(key) && /^#[0-9a-fA-F]{3,8}$/.test(params[key])) {
        root.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), params[key]);
      }
    });
    var bg = params.bg_color || "";
    if (bg.length === 7) {
      var lum = 0.299 * parseInt(bg.substr(1, 2), 16) + 0.587 * parseInt(bg.substr(3, 2), 16) + 0.114 * parseInt(bg.substr(5, 2), 16);
      root.dataset.scheme = lum < 128 ? "dark" : "light";
    }
  }

  function api(path, options) {
    options = options || {};
    options.headers = { "Authorization": "tma " + initData, "Content-Type": "application/json" };
    return fetch("api/" + path, options).then(function (answer) {
      return answer.json().then(function (body) {
        if (!answer.ok) {
          var error = new Error(answer.status === 401 ? tr("unauthorized") : (body.message || body.error || answer.status));
          error.status = answer.status;
          throw error;
        }
        return body;
      });
    });
  }
  function query(params) {
    var q = new URLSearchParams();
    Object.keys(params).forEach(function (k) { if (params[k] !== undefined && params[k] !== null && params[k] !== "") q.set(k, params[k]); });
    return q.toString();
  }

  // ---- tabs
  function show(name) {
    current = name;
    ["dashboard", "desk", "mine", "case"].forEach(function (id) { $(id).hidden = id !== name; });
    ["dashboard", "desk", "mine"].forEach(function (id) { $("tab-" + id).className = id === name ? "on" : ""; });
    window.scrollTo(0, 0);
  }

  // ---- the case list, used by the dashboard and the desk
  function caseList(cases, back) {
    if (!cases.length) return el("p", { className: "hint", text: tr("none") });
    return el("ul", { className: "list cases" }, cases.map(function (c) {
      var badge = c.level > 0 ? el("span", { className: "badge l" + c.level, text: c.level_name }) : null;
      return el("li", { "data-number": c.number, onclick: function () { openCase(c.number, back); } }, [
        el("span", { className: "subj", text: c.subject }),
        badge,
        el("span", { className: "num", text: c.number }),
        el("span", { className: "meta", text: " · " + c.unit_name + " · " + c.status_name + (c.due_text ? " · " + c.due_text : "") + " · " + c.petitioner }),
      ]);
    }));
  }

  // ---- dashboard
  var dashPeriod = "";
  var dashUnit = "";
  function drill(metric, unit) {
    deskQuery = { state: "all", metric: metric, period: dashPeriod, unit: unit || dashUnit };
    show("desk");
    renderDesk();
  }
  function renderDashboard() {
    var box = clear($("dashboard"));
    box.dataset.ready = "";
    status(tr("loading"));
    api("dashboard?" + query({ period: dashPeriod, unit: dashUnit })).then(function (d) {
      status("");
      dashPeriod = d.period;
      var period = el("input", { id: "period", value: d.period, placeholder: "2026-11 / 2026-Q4 / 2026" });
      var unit = el("select", { id: "unit" }, [el("option", { value: "", text: tr("all_units") })].concat(
        me.units.map(function (u) { return el("option", { value: u.id, text: u.name }); })));
      unit.value = dashUnit;
      box.appendChild(el("form", { className: "filters" }, [
        el("div", {}, [el("label", { text: tr("period") }), period]),
        el("div", {}, [el("label", { text: tr("unit") }), unit]),
        el("div", { className: "wide" }, [el("button", { type: "submit", className: "primary", text: tr("apply") })]),
      ]));
      box.lastChild.addEventListener("submit", function (e) { e.preventDefault(); dashPeriod = period.value.trim(); dashUnit = unit.value; renderDashboard(); });

      box.appendChild(el("h2", { text: tr("levels_title") }));
      box.appendChild(el("div", { className: "levels" }, d.levels.map(function (l) {
        return el("button", { type: "button", className: "level l" + l.level, onclick: function () { drill(l.metric); } },
          [el("b", { text: String(l.count) }), el("span", { text: l.name })]);
      })));

      var cols = ["received", "matters", "decided", "within_time", "overdue_now", "led", "accepted_on_time_pct", "answered_on_time_pct", "satisfaction_pct", "followup_pct", "repeat_pct"];
      var drillable = { received: 1, decided: 1, within_time: 1, overdue_now: 1, led: 1 };
      var head = el("tr", {}, [el("th", { text: tr("unit_col") })].concat(cols.map(function (c) { return el("th", { text: tr(c) }); })));
      var rows = d.rows.map(function (r) {
        return el("tr", {}, [el("td", { className: r.depth ? "sub" : "", text: r.name })].concat(cols.map(function (c) {
          var v = r[c];
          if (c.slice(-4) === "_pct") return el("td", { text: v === null ? "—" : v.toFixed(1) + "%" });
          if (drillable[c] && v > 0) return el("td", {}, [el("button", { type: "button", className: "link", "data-metric": c, text: String(v), onclick: function () { drill(c, r.unit); } })]);
          return el("td", { text: String(v) });
        })));
      });
      box.appendChild(el("div", { className: "scroll card" }, [el("table", { id: "indicators" }, [el("thead", {}, [head]), el("tbody", {}, rows)])]));

      box.appendChild(el("h2", { text: tr("trend_title") }));
      box.appendChild(el("div", { className: "card" }, [svg(d.trend.chart)]));

      box.appendChild(el("h2", { text: tr("assessment_title", { period: d.assessment.period }) }));
      var ahead = el("tr", {}, [el("th", { text: tr("rank") }), el("th", { text: tr("unit_col") }), el("th", { text: tr("score") })].concat(
        (d.assessment.units[0] ? d.assessment.units[0].items : []).map(function (i) { return el("th", { text: i.name + " (" + i.weight + ")" }); })));
      var arows = d.assessment.units.map(function (u) {
        return el("tr", {}, [el("td", { text: u.rank === null ? "—" : String(u.rank) }), el("td", { text: u.name }), el("td", { text: u.score === null ? tr("no_data") : u.score.toFixed(1) })].concat(
          u.items.map(function (i) {
            if (i.contribution === null) { return el("td", { text: "—" }); }
            // A count item (kind "count"): the count of its target; an indicator: its rate.
            var shown = i.kind === "count" ? String(i.value) + "/" + String(i.target) : i.value.toFixed(1) + "%";
            return el("td", { text: i.contribution.toFixed(1) + " (" + shown + ")" });
          })));
      });
      box.appendChild(el("div", { className: "card" }, [svg(d.assessment.chart),
        el("div", { className: "scroll" }, [el("table", { id: "assessment" }, [el("thead", {}, [ahead]), el("tbody", {}, arows)])]),
        el("p", { className: "hint", text: tr("assessment_hint") })]));

      [["warned", "warned_title"], ["supervised", "supervised_title"], ["led", "led_title"]].forEach(function (pair) {
        var part = d[pair[0]];
        box.appendChild(el("h2", { text: tr(pair[1]) + " · " + tr("total", { total: part.total }) }));
        box.appendChild(caseList(part.cases, "dashboard"));
      });
      box.appendChild(el("h2", { text: tr("alerts_title") }));
      box.appendChild(d.alerts.length ? el("ul", { className: "list" }, d.alerts.map(function (a) {
        return el("li", { onclick: function () { openCase(a.number, "dashboard"); }, text: tr("alert_line", { number: a.number, unit: a.unit_name, people: a.people, at: a.at }) });
      })) : el("p", { className: "hint", text: tr("none") }));
      if (d.long_running) box.appendChild(el("p", { className: "hint", text: tr("long_running", { count: d.long_running }) }));
      box.appendChild(el("h2", { text: tr("incidents_title") }));
      box.appendChild(d.incidents.length ? el("ul", { className: "list" }, d.incidents.map(function (i) {
        return el("li", { text: tr("incident_line", { level: i.level, unit: i.unit_name, people: i.people, at: i.at }) + (i.drill ? " · " + tr("drill") : "") });
      })) : el("p", { className: "hint", text: tr("none") }));
      box.dataset.ready = "1";
    }).catch(function (e) { status(tr("failed", { message: e.message }), true); });
  }

  // ---- desk
  function select(id, label, options, value) {
    var node = el("select", { id: id }, options.map(function (o) { return el("option", { value: o[0], text: o[1] }); }));
    node.value = value || "";
    return el("div", {}, [el("label", { text: label }), node]);
  }
  function renderDesk() {
    var box = clear($("desk"));
    box.dataset.ready = "";
    var q = deskQuery;
    var form = el("form", { className: "filters", id: "filters" }, [
      el("div", { className: "wide" }, [el("input", { id: "q", type: "search", placeholder: tr("search"), value: q.q || "" }),
        el("button", { type: "submit", className: "primary", text: tr("search_button") })]),
      select("f-state", tr("state"), [["open", tr("state_open")], ["closed", tr("state_closed")], ["all", tr("state_all")]], q.state),
      select("f-level", tr("level"), [["", tr("any")]].concat([0, 1, 2, 3, 4].map(function (n) { return [String(n), tr("level_" + n)]; })), q.level),
      select("f-category", tr("category"), [["", tr("any")]].concat(me.categories.map(function (c) { return [c.id, c.name]; })), q.category),
      select("f-unit", tr("unit"), [["", tr("any")]].concat(me.units.map(function (u) { return [u.id, u.name]; })), q.unit),
      select("f-channel", tr("channel"), [["", tr("any")]].concat(me.channels.map(function (c) { return [c.id, c.name]; })), q.channel),
      el("div", {}, [el("label", { text: tr("due_before") }), el("input", { id: "f-due", type: "date", value: q.due_before || "" })]),
    ]);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      deskQuery = { q: $("q").value, state: $("f-state").value, level: $("f-level").value, category: $("f-category").value,
        unit: $("f-unit").value, channel: $("f-channel").value, due_before: $("f-due").value };
      renderDesk();
    });
    box.appendChild(form);
    var results = el("div", { id: "results" });
    box.appendChild(results);
    api("cases?" + query(deskQuery)).then(function (d) {
      results.appendChild(el("p", { className: "hint", id: "total", text: tr("total", { total: d.total }) }));
      results.appendChild(caseList(d.cases, "desk"));
      box.dataset.ready = "1";
    }).catch(function (e) { results.appendChild(el("p", { className: "error", text: tr("failed", { message: e.message }) })); });
  }

  // ---- an employee's own cases (the same as /mycases in chat)
  function renderMine() {
    var box = clear($("mine"));
    box.dataset.ready = "";
    status(tr("loading"));
    api("mine").then(function (d) {
      status("");
      box.appendChild(el("p", { className: "hint", id: "mine-total", text: tr("total", { total: d.total }) }));
      if (!d.cases.length) box.appendChild(el("p", { className: "hint", text: tr("mine_empty") }));
      else box.appendChild(el("ul", { className: "list cases", id: "mine-list" }, d.cases.map(function (c) {
        return el("li", { "data-number": c.number, onclick: function () { openCase(c.number, "mine"); } }, [
          el("span", { className: "subj", text: c.subject }),
          el("span", { className: "num", text: c.number }),
          el("span", { className: "meta", text: " · " + c.status_name + (c.deadline ? " · " + c.deadline : "") }),
        ]);
      })));
      box.appendChild(el("p", { className: "hint", text: tr("mine_hint") }));
      box.dataset.ready = "1";
    }).catch(function (e) { status(tr("failed", { message: e.message }), true); });
  }

  // ---- documents (PDF) and files: short-lived signed links, opened by Telegram's download when inside it
  function openFile(event, href, name) {
    var payload = { url: href, file_name: name };
    try {
      if (window.TelegramWebviewProxy) {
        event.preventDefault();
        window.TelegramWebviewProxy.postEvent("web_app_request_file_download", JSON.stringify(payload));
      } else if (window.parent !== window) {
        event.preventDefault();
        window.parent.postMessage(JSON.stringify({ eventType: "web_app_request_file_download", eventData: payload }), "*");
      }
    } catch (e) { /* a plain browser: the link opens the file */ }
  }
  function fileLink(url, name, label) {
    var href = new URL("api/" + url, location.href).href;
    return el("a", { href: href, target: "_blank", rel: "noopener", className: "file", "data-name": name, text: label,
      onclick: function (e) { openFile(e, href, name); } });
  }
  function renderDocuments(c, box) {
    var part = el("div", { id: "documents", className: "card" }, [el("h3", { text: tr("documents_title") })]);
    box.appendChild(part);
    api("case/" + encodeURIComponent(c.number) + "/documents").then(function (d) {
      if (!d.documents.length) part.appendChild(el("p", { className: "hint", text: tr("documents_none") }));
      else part.appendChild(el("ul", { className: "list files", id: "document-list" }, d.documents.map(function (doc) {
        return el("li", { "data-kind": doc.kind }, [fileLink(doc.url, doc.file_name, tr("document_line", { title: doc.title, issued: doc.issued_text })),
          doc.doc_no ? el("span", { className: "meta", text: " · " + doc.doc_no }) : null]);
      })));
      if (d.files.length) {
        part.appendChild(el("h3", { text: tr("files_title") }));
        part.appendChild(el("ul", { className: "list files", id: "file-list" }, d.files.map(function (f) {
          return el("li", { "data-id": String(f.id) }, [f.url ? fileLink(f.url, f.name, f.name) : el("span", { text: f.name })]);
        })));
        if (d.files_in_chat) part.appendChild(el("p", { className: "hint", text: tr("files_in_chat") }));
      }
      part.dataset.ready = "1";
    }).catch(function (e) { part.appendChild(el("p", { className: "error", text: tr("failed", { message: e.message }) })); });
  }
  function renderOwnCase(c, back) {
    var box = clear($("case"));
    box.appendChild(el("button", { type: "button", className: "secondary", id: "back", text: "‹ " + tr("back"), onclick: function () { show(back); renderMine(); } }));
    box.appendChild(el("h2", { id: "case-title", text: c.subject }));
    box.appendChild(el("p", { className: "hint", text: c.number + " · " + c.status_name }));
    var dl = el("dl", {});
    [["case_submitted", c.submitted], ["case_deadline", c.deadline]].forEach(function (f) {
      if (f[1]) { dl.appendChild(el("dt", { text: tr(f[0]) })); dl.appendChild(el("dd", { text: f[1] })); }
    });
    box.appendChild(el("div", { className: "card" }, [dl, el("p", { className: "hint", text: tr("mine_hint") })]));
    renderDocuments(c, box);
    box.appendChild(el("h2", { text: tr("record") }));
    box.appendChild(el("ul", { className: "timeline", id: "timeline" }, c.timeline.map(function (e) {
      return el("li", {}, [el("div", { className: "when", text: e.at }),
        el("div", { text: e.what + (e.detail ? " · " + e.detail : "") }), e.text ? el("div", { className: "body", text: e.text }) : null]);
    })));
    box.dataset.ready = "1";
  }

  // ---- a case: card, record, actions
  function openCase(number, back) {
    show("case");
    var box = clear($("case"));
    box.dataset.ready = "";
    api("case/" + encodeURIComponent(number)).then(function (c) { renderCase(c, back); })
      .catch(function (e) { box.appendChild(el("p", { className: "error", text: tr("failed", { message: e.message }) })); });
  }
  function renderCase(c, back, message) {
    if (c.own) { renderOwnCase(c, back); return; }
    var box = clear($("case"));
    box.appendChild(el("button", { type: "button", className: "secondary", id: "back", text: "‹ " + tr("back"), onclick: function () { show(back); if (back === "desk") renderDesk(); } }));
    if (message) box.appendChild(el("p", { className: "message", id: "done", text: message }));
    box.appendChild(el("h2", { id: "case-title", text: c.subject }));
    box.appendChild(el("p", { className: "hint", text: c.number + " · " + c.status_name + (c.level > 0 ? " · " + c.level_name : "") }));
    var fields = [["case_unit", c.unit_path], ["case_category", c.category_name], ["case_channel", c.channel_name],
      ["case_submitted", c.submitted], ["case_petitioner", c.petitioner], ["case_assignee", c.assignee],
      ["case_cohandlers", c.cohandlers.join("、")], ["case_supervised", c.supervised], ["case_details", c.details],
      ["case_desired", c.desired_outcome], ["case_decision", c.decision], ["case_rating", c.rating]];
    var dl = el("dl", {});
    fields.forEach(function (f) { if (f[1]) { dl.appendChild(el("dt", { text: tr(f[0]) })); dl.appendChild(el("dd", { text: f[1] })); } });
    var card = el("div", { className: "card" }, [dl]);
    [c.deadline, c.warning].forEach(function (line) { if (line) card.appendChild(el("p", { className: "hint", text: line })); });
    if (c.attachments) card.appendChild(el("p", { className: "hint", text: tr("case_attachments", { count: c.attachments }) }));
    box.appendChild(card);
    renderDocuments(c, box);

    if (c.actions.length) {
      box.appendChild(el("h2", { text: tr("actions") }));
      var area = el("div", { id: "action-form" });
      box.appendChild(el("div", { className: "actions" }, c.actions.map(function (a) {
        return el("button", { type: "button", className: "primary", "data-action": a, text: tr("action_" + a), onclick: function () { actionForm(c, a, area, back); } });
      })));
      box.appendChild(area);
      box.appendChild(el("p", { className: "hint", text: tr("chat_only") }));
    }
    box.appendChild(el("h2", { text: tr("record") }));
    box.appendChild(el("ul", { className: "timeline", id: "timeline" }, c.timeline.map(function (e) {
      return el("li", {}, [el("div", { className: "when", text: e.at + " · " + e.who }),
        el("div", { text: e.what + (e.detail ? " · " + e.detail : "") }), e.text ? el("div", { className: "body", text: e.text }) : null]);
    })));
    box.dataset.ready = "1";
  }
  function actionForm(c, action, area, back) {
    clear(area);
    var needsText = ["reply", "note", "decline", "decide", "extend"].indexOf(action) >= 0;
    var parts = [];
    var decision = null, days = null, text = null, opinion = null, reason = null, destination = null;
    if (action === "decide") {
      decision = el("select", { id: "decision" }, c.decisions.map(function (d) { return el("option", { value: d.id, text: d.name }); }));
      parts.push(el("label", { text: tr("decision") }), decision);
      // Art. 32: the request, the facts found and the basis, each required by the store.
      opinion = {};
      ["request", "facts", "basis"].forEach(function (k) {
        opinion[k] = el("textarea", { id: k });
        if (k === "request") opinion[k].value = c.request || "";
        parts.push(el("label", { text: tr("part_" + k) }), opinion[k]);
      });
    }
    if (action === "decline") {
      // 诉访分离: a reason from the list and, where it sends the matter elsewhere, the body to turn to.
      reason = el("select", { id: "reason" }, [el("option", { value: "", text: "—" })].concat(
        c.decline_reasons.map(function (r) { return el("option", { value: r.id, text: r.name }); })));
      destination = el("select", { id: "destination" }, [el("option", { value: "", text: "—" })].concat(
        c.destinations.map(function (x) { return el("option", { value: x.id, text: x.name }); })));
      parts.push(el("label", { text: tr("decline_reason") }), reason, el("label", { text: tr("decline_destination") }), destination);
    }
    if (action === "extend") {
      days = el("input", { id: "days", type: "number", min: "1", max: String(c.max_extension_days), value: "1" });
      parts.push(el("label", { text: tr("days", { max: c.max_extension_days }) }), days);
    }
    if (needsText) {
      text = el("textarea", { id: "text" });
      parts.push(el("label", { text: tr("text") }), text);
    }
    var send = el("button", { type: "submit", className: "primary", id: "send", text: tr("send") });
    var form = el("form", { className: "card" }, parts.concat([el("div", { className: "actions" }, [send,
      el("button", { type: "button", className: "secondary", text: tr("cancel"), onclick: function () { clear(area); } })])]));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      send.disabled = true;
      var body = { text: text ? text.value : null, decision: decision ? decision.value : null, days: days ? days.value : null };
      if (opinion) { body.request = opinion.request.value; body.facts = opinion.facts.value; body.basis = opinion.basis.value; }
      if (reason) { body.reason = reason.value; body.destination = destination.value || null; }
      api("case/" + encodeURIComponent(c.number) + "/" + action, { method: "POST", body: JSON.stringify(body) })
        .then(function (d) { renderCase(d.case, back, d.message); })
        .catch(function (err) { send.disabled = false; area.appendChild(el("p", { className: "error", id: "action-error", text: err.message })); });
    });
    area.appendChild(form);
    if (!needsText && !decision) send.focus();
  }

  // ---- start
  applyTheme();
  $("tab-dashboard").addEventListener("click", function () { show("dashboard"); renderDashboard(); });
  $("tab-desk").addEventListener("click", function () { show("desk"); renderDesk(); });
  $("tab-mine").addEventListener("click", function () { show("mine"); renderMine(); });
  // Telegram's clients wait for this event before showing the page (what telegram-web-app.js sends).
  try {
    if (window.TelegramWebviewProxy) window.TelegramWebviewProxy.postEvent("web_app_ready", "{}");
    else if (window.parent !== window) window.parent.postMessage(JSON.stringify({ eventType: "web_app_ready", eventData: {} }), "*");
  } catch (e) { /* not inside Telegram */ }
  // The texts first, in the language Telegram gives (the server decides again once initData is checked).
  var guess = "zh";
  try { guess = /^en/i.test(JSON.parse(new URLSearchParams(initData).get("user") || "{}").language_code || "") ? "en" : "zh"; } catch (e) { guess = "zh"; }
  if (!initData && /^en/i.test(navigator.language || "")) guess = "en";
  fetch("api/texts/" + guess).then(function (r) { return r.json(); }).then(function (t) {
    texts = t;
    if (!initData) { status(tr("unauthorized"), true); return; }
    start();
  }).catch(function (e) { status(String(e), true); });

  function start() { api("me").then(function (m) {
    me = m;
    texts = m.texts;
    document.documentElement.lang = m.lang;
    document.title = tr("title");
    $("title").textContent = tr("title");
    $("tab-dashboard").textContent = tr("tab_dashboard");
    $("tab-desk").textContent = tr("tab_desk");
    $("tab-mine").textContent = tr("tab_mine");
    $("tabs").hidden = !m.desk;
    if (!m.dashboard) $("tab-dashboard").hidden = true;
    $("tab-mine").hidden = !m.mine;
    if (!m.desk) $("title").textContent = tr("tab_mine");
    status("");
    if (m.dashboard) { show("dashboard"); renderDashboard(); }
    else if (m.desk) { show("desk"); renderDesk(); }
    else if (m.mine) { show("mine"); renderMine(); }
  }).catch(function (e) { status(e.status === 401 ? tr("unauthorized") : e.message, true); }); }
})();
