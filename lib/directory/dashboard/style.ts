/**
 * The dashboard's style sheet (`GET /app.css`).
 *
 * @module
 */

/** The dashboard's CSS. */
export const DASHBOARD_CSS = `:root {
  color-scheme: light dark;
  --bg: #f7f7f4;
  --fg: #1d1f21;
  --muted: #5f6368;
  --card: #ffffff;
  --line: #d9dad5;
  --accent: #1a7f64;
  --warn: #b3261e;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #141517;
    --fg: #e8e8e6;
    --muted: #9aa0a6;
    --card: #1e2023;
    --line: #33363a;
    --accent: #4cc9a4;
    --warn: #f28b82;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); line-height: 1.4; }
header, main, footer { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin: 1rem 0 0.25rem; }
h2 { font-size: 1rem; margin: 1.25rem 0 0.5rem; }
.meta { color: var(--muted); font-size: 0.875rem; font-weight: normal; }
code { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 0.85em; }
.status { margin-left: 0.5rem; padding: 0.05rem 0.5rem; border-radius: 1rem; border: 1px solid var(--line); }
.status[data-state="live"] { color: var(--accent); border-color: var(--accent); }
.status[data-state="down"] { color: var(--warn); border-color: var(--warn); }
.totals { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: 0.75rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 0.5rem; padding: 0.75rem; }
.card h2 { margin: 0; font-size: 0.8rem; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
.figure { font-size: 1.6rem; margin: 0.25rem 0; font-variant-numeric: tabular-nums; }
.spark { width: 100%; height: 3rem; display: block; }
.spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.spark polygon { fill: var(--accent); opacity: 0.12; stroke: none; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 0.5rem; overflow: hidden; }
th, td { text-align: left; padding: 0.4rem 0.6rem; border-bottom: 1px solid var(--line); font-size: 0.875rem; vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 0.8rem; }
td { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.contact { white-space: normal; overflow-wrap: anywhere; min-width: 10rem; }
.table-wrap { overflow-x: auto; }
td.mono { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 0.8rem; }
tbody tr:last-child td { border-bottom: none; }
.flag { display: inline-block; margin: 0 0.25rem 0.1rem 0; padding: 0 0.4rem; border-radius: 0.3rem; border: 1px solid var(--line); font-size: 0.75rem; }
footer { margin: 2rem auto 1.5rem; }
a { color: var(--accent); }
@media (max-width: 44rem) {
  table, thead, tbody, tr, td { display: block; width: 100%; }
  thead { display: none; }
  table { border: none; background: none; }
  tbody tr { background: var(--card); border: 1px solid var(--line); border-radius: 0.5rem; margin-bottom: 0.6rem; padding: 0.3rem 0; }
  td { border: none; padding: 0.15rem 0.75rem; display: flex; gap: 0.75rem; white-space: normal; overflow-wrap: anywhere; }
  td::before { content: attr(data-label); color: var(--muted); min-width: 6.5rem; flex: none; font-size: 0.8rem; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  td.contact { min-width: 0; }
}
`;
