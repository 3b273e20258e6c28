/**
 * The dashboard's script (`GET /app.js`): a plain ES2020 program, no
 * framework. It listens to `/v1/events` (dashboard_feed.ts) and writes every
 * value with `textContent` or as an SVG attribute of numbers it computed
 * itself; it never assigns `innerHTML`, so a relay's name or contact line
 * always shows as text. The Content-Security-Policy allows no other script.
 *
 * The browser test (tests/directory/dashboard_browser_test.ts) runs it in
 * Chromium and fails on any script error.
 *
 * @module
 */

/** The dashboard's JavaScript. */
export const DASHBOARD_JS = `"use strict";
(function () {
  var MAX_ROWS = 1000;
  var HISTORY_POINTS = 120;
  var relays = new Map();
  var history = [];
  var totals = null;
  var serverNow = Date.now();
  var clockOffset = 0;

  function byId(id) { return document.getElementById(id); }

  function setText(element, value) { element.textContent = String(value); }

  function formatCount(n) { return Number(n).toLocaleString("en-US"); }

  function formatBytes(n) {
    var units = ["B", "kB", "MB", "GB", "TB", "PB"];
    var i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i === 0 ? String(n) : n.toFixed(n < 10 ? 2 : 1)) + " " + units[i];
  }

  function formatDuration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var d = Math.floor(seconds / 86400);
    var h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    if (d > 0) return d + "d " + h + "h";
    if (h > 0) return h + "h " + m + "m";
    if (m > 0) return m + "m " + (seconds % 60) + "s";
    return seconds + "s";
  }

  function setStatus(state, label) {
    var element = byId("status");
    element.dataset.state = state;
    setText(element, label);
  }

  function cell(row, label, value, className) {
    var td = document.createElement("td");
    td.dataset.label = label;
    if (className) td.className = className;
    if (value !== undefined) td.textContent = value;
    row.appendChild(td);
    return td;
  }

  function relayRow(relay) {
    var row = document.createElement("tr");
    row.dataset.fingerprint = relay.fingerprint;
    cell(row, "Name", relay.name);
    cell(row, "Fingerprint", relay.fingerprint, "mono");
    cell(row, "Address", relay.address, "mono");
    var flags = cell(row, "Flags");
    relay.flags.forEach(function (flag) {
      var span = document.createElement("span");
      span.className = "flag";
      span.textContent = flag;
      flags.appendChild(span);
    });
    var now = Date.now() + clockOffset;
    var uptime = relay.uptime_s + Math.max(0, (now - relay.last_seen) / 1000);
    cell(row, "Uptime", formatDuration(uptime));
    cell(row, "Load", formatCount(relay.peers) + " peers, " +
      formatCount(relay.circuits) + " circuits");
    cell(row, "Relayed", formatBytes(relay.bytes_relayed));
    cell(row, "Contact", relay.contact, "contact");
    return row;
  }

  function renderRelays() {
    var sorted = Array.from(relays.values()).sort(function (a, b) {
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
    var body = document.querySelector("#relays tbody");
    var fragment = document.createDocumentFragment();
    sorted.slice(0, MAX_ROWS).forEach(function (relay) {
      fragment.appendChild(relayRow(relay));
    });
    body.replaceChildren(fragment);
    byId("empty").hidden = sorted.length > 0;
    var listed = totals ? totals.relays : sorted.length;
    setText(byId("relay-count"), sorted.length < listed
      ? "(" + formatCount(sorted.length) + " of " + formatCount(listed) + " shown)"
      : "(" + formatCount(listed) + ")");
  }

  function sparkline(svg, values) {
    var ns = "http://www.w3.org/2000/svg";
    var width = 200, height = 48, pad = 3;
    svg.replaceChildren();
    if (values.length === 0) return;
    // From zero, so that a small change does not look like a big one.
    var max = Math.max.apply(null, values);
    var span = max || 1;
    var step = values.length > 1 ? width / (values.length - 1) : 0;
    var points = values.map(function (v, i) {
      var x = values.length > 1 ? i * step : width / 2;
      var y = height - pad - (v / span) * (height - 2 * pad);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    var area = document.createElementNS(ns, "polygon");
    area.setAttribute("points", "0," + height + " " + points.join(" ") + " " +
      (values.length > 1 ? width : width / 2) + "," + height);
    var line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.join(" "));
    svg.appendChild(area);
    svg.appendChild(line);
  }

  function renderTotals() {
    if (!totals) return;
    setText(byId("total-relays"), formatCount(totals.relays));
    setText(byId("total-peers"), formatCount(totals.peers));
    setText(byId("total-circuits"), formatCount(totals.circuits));
    setText(byId("total-bytes"), formatBytes(totals.bytes_relayed));
    var series = history.concat([{
      relays: totals.relays, peers: totals.peers,
      circuits: totals.circuits, bytes_relayed: totals.bytes_relayed,
    }]);
    var pick = function (key) { return series.map(function (s) { return s[key]; }); };
    sparkline(byId("chart-relays"), pick("relays"));
    sparkline(byId("chart-peers"), pick("peers"));
    sparkline(byId("chart-circuits"), pick("circuits"));
    sparkline(byId("chart-bytes"), pick("bytes_relayed"));
  }

  function render() {
    renderTotals();
    renderRelays();
  }

  function onSnapshot(event) {
    var snapshot = JSON.parse(event.data);
    serverNow = snapshot.now;
    clockOffset = serverNow - Date.now();
    relays.clear();
    snapshot.relays.forEach(function (r) { relays.set(r.fingerprint, r); });
    history = snapshot.history.slice(-HISTORY_POINTS);
    totals = snapshot.totals;
    setText(byId("directory-fingerprint"), snapshot.directory.fingerprint);
    setStatus("live", "live");
    render();
  }

  function onUpdate(event) {
    var update = JSON.parse(event.data);
    clockOffset = update.now - Date.now();
    update.removed.forEach(function (fp) { relays.delete(fp); });
    update.upserts.forEach(function (r) { relays.set(r.fingerprint, r); });
    totals = update.totals;
    if (update.sample) {
      history.push(update.sample);
      if (history.length > HISTORY_POINTS) history.shift();
    }
    render();
  }

  function connect() {
    if (typeof EventSource === "undefined") {
      setStatus("down", "this browser cannot show live updates");
      return;
    }
    var source = new EventSource("/v1/events");
    source.addEventListener("snapshot", onSnapshot);
    source.addEventListener("update", onUpdate);
    source.addEventListener("open", function () { setStatus("live", "live"); });
    source.addEventListener("error", function () {
      setStatus("down", "reconnecting…");
    });
  }

  connect();
})();
`;
