/**
 * The dashboard's HTML page (`GET /`). It is a constant: no data is ever
 * interpolated into it. Everything it shows arrives as JSON over
 * `/v1/events` and is written by `/app.js` with `textContent`, so no field a
 * relay sends can become markup.
 *
 * @module
 */

/** The dashboard's icon: three linked nodes. */
export const FAVICON_SVG =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<path d="M8 24 16 8 24 24Z" fill="none" stroke="#1a7f64" stroke-width="2.5"/>
<circle cx="16" cy="8" r="4" fill="#1a7f64"/>
<circle cx="8" cy="24" r="4" fill="#1a7f64"/>
<circle cx="24" cy="24" r="4" fill="#1a7f64"/>
</svg>
`;

/** The dashboard page. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>altnet directory</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>altnet directory</h1>
  <p class="meta">
    Directory fingerprint <code id="directory-fingerprint">…</code>
    <span id="status" class="status" data-state="connecting">connecting…</span>
  </p>
</header>
<main>
  <section class="totals" aria-label="Network totals">
    <div class="card">
      <h2>Relays</h2>
      <p class="figure" id="total-relays">–</p>
      <svg class="spark" id="chart-relays" viewBox="0 0 200 48" preserveAspectRatio="none" role="img" aria-label="Relays over time"></svg>
    </div>
    <div class="card">
      <h2>Peers</h2>
      <p class="figure" id="total-peers">–</p>
      <svg class="spark" id="chart-peers" viewBox="0 0 200 48" preserveAspectRatio="none" role="img" aria-label="Peers over time"></svg>
    </div>
    <div class="card">
      <h2>Circuits</h2>
      <p class="figure" id="total-circuits">–</p>
      <svg class="spark" id="chart-circuits" viewBox="0 0 200 48" preserveAspectRatio="none" role="img" aria-label="Circuits over time"></svg>
    </div>
    <div class="card">
      <h2>Bytes relayed</h2>
      <p class="figure" id="total-bytes">–</p>
      <svg class="spark" id="chart-bytes" viewBox="0 0 200 48" preserveAspectRatio="none" role="img" aria-label="Bytes relayed over time"></svg>
    </div>
  </section>
  <section>
    <h2>Relays <span id="relay-count" class="meta"></span></h2>
    <div class="table-wrap">
    <table id="relays">
      <thead>
        <tr>
          <th>Name</th><th>Fingerprint</th><th>Address</th><th>Flags</th>
          <th>Uptime</th><th>Load</th><th>Relayed</th><th>Contact</th>
        </tr>
      </thead>
      <tbody></tbody>
    </table>
    </div>
    <p id="empty" class="meta">No relays are listed yet.</p>
  </section>
  <noscript><p>This page updates itself with JavaScript. Without it, read
  <a href="/v1/relays">the signed relay list</a> or
  <a href="/v1/stats">the statistics</a>.</p></noscript>
</main>
<footer class="meta">
  <a href="/v1/relays">signed relay list</a> ·
  <a href="/v1/stats">statistics</a> ·
  <a href="/metrics">metrics</a>
</footer>
</body>
</html>
`;
