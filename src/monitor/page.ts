/**
 * The status page served at `/`: one self-contained document (no build
 * step, no external assets). It polls the JSON endpoints every 2 s and
 * draws with <canvas>: packets per minute per channel, RSSI/SNR of recent
 * uplinks, and the downlink timing error histogram, above the status and a
 * live packet table. Each canvas carries `data-points` (what it drew) for
 * the browser test.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pktfwd</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: 10px 18px; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; }
  .banner { background: #b7791f; color: #fff; font-weight: 600; padding: 6px 12px; }
  .pill { padding: 2px 8px; border-radius: 10px; font-weight: 600; }
  .ok { background: #2e9e5b; color: #fff; } .bad { background: #c73a3a; color: #fff; } .unk { background: #888; color: #fff; }
  main { padding: 14px 18px; display: grid; gap: 14px; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); }
  section { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 10px 12px; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 14px; margin: 0 0 8px; color: #4a5568; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eef0f4; white-space: nowrap; }
  th { color: #4a5568; font-weight: 600; }
  tr.down td { background: #f3f7ff; }
  td.err { color: #c73a3a; font-weight: 600; }
  canvas { width: 100%; height: 220px; display: block; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
  dt { color: #4a5568; } dd { margin: 0; }
</style>
</head>
<body>
<header>
  <h1>pktfwd</h1>
  <span>gateway <b id="gw">…</b></span>
  <span>radio <span id="radio" class="pill unk">…</span></span>
  <span>server <span id="server" class="pill unk">…</span></span>
  <span>up <b id="uptime">…</b></span>
  <span id="version"></span>
</header>
<div id="simulated" class="banner" hidden>Simulated radio (gateway_conf.radio "sim"): this gateway hears nothing and sends nothing on the air.</div>
<main>
  <section><h2>Status</h2><dl id="status"></dl></section>
  <section><h2>Counters since start</h2><dl id="counters"></dl></section>
  <section class="wide"><h2>Uplinks per minute per channel (last hour)</h2><canvas id="perMinute" data-points="0"></canvas></section>
  <section><h2>RSSI / SNR of recent uplinks</h2><canvas id="scatter" data-points="0"></canvas></section>
  <section><h2>Downlink timing error (µs, start − target)</h2><canvas id="timing" data-points="0"></canvas></section>
  <section class="wide"><h2>Packets (newest first)</h2>
    <table id="packets"><thead><tr><th>time</th><th>dir</th><th>freq</th><th>datr</th><th>rssi</th><th>snr</th><th>size</th><th>type</th><th>DevAddr</th><th>FCnt</th><th>result</th></tr></thead><tbody></tbody></table>
  </section>
</main>
<script>
"use strict";
var packets = [];
var COLORS = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00", "#b82e2e", "#316395"];

function el(id) { return document.getElementById(id); }
function text(v) { return v === null || v === undefined ? "–" : String(v); }
function dl(node, pairs) {
  node.textContent = "";
  pairs.forEach(function (p) {
    var dt = document.createElement("dt"); dt.textContent = p[0];
    var dd = document.createElement("dd"); dd.textContent = text(p[1]);
    node.appendChild(dt); node.appendChild(dd);
  });
}
function pill(node, ok, label) { node.textContent = label; node.className = "pill " + (ok ? "ok" : "bad"); }
function fmtAge(s) { return s === null ? "never" : s < 120 ? s.toFixed(1) + " s ago" : Math.round(s / 60) + " min ago"; }
function fmtUptime(s) { var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60); return (h ? h + " h " : "") + m + " min " + (s % 60) + " s"; }

function canvas2d(c) {
  var r = window.devicePixelRatio || 1, w = c.clientWidth, h = c.clientHeight;
  c.width = w * r; c.height = h * r;
  var g = c.getContext("2d"); g.setTransform(r, 0, 0, r, 0, 0); g.clearRect(0, 0, w, h);
  g.font = "11px system-ui, sans-serif"; g.strokeStyle = "#c9ced8"; g.fillStyle = "#4a5568";
  return { g: g, w: w, h: h };
}
function axes(k, x0, y0, x1, y1, yTicks, yFmt) {
  var g = k.g; g.beginPath(); g.moveTo(x0, y0); g.lineTo(x0, y1); g.lineTo(x1, y1); g.stroke();
  yTicks.forEach(function (t) { g.fillText(yFmt(t.v), 2, t.y + 4); });
}

function drawPerMinute(data) {
  var c = el("perMinute"), k = canvas2d(c), g = k.g;
  var labels = Object.keys(data.channels).filter(function (l) { return data.channels[l].up.some(function (v) { return v > 0; }); }).sort();
  var n = data.minutes.length, max = 1, points = 0;
  labels.forEach(function (l) { data.channels[l].up.forEach(function (v) { if (v > max) max = v; }); });
  var x0 = 36, x1 = k.w - 110, y0 = 8, y1 = k.h - 18;
  axes(k, x0, y0, x1, y1, [{ v: max, y: y0 }, { v: 0, y: y1 }], function (v) { return String(v); });
  g.fillText("−60 min", x0, k.h - 4); g.fillText("now", x1 - 20, k.h - 4);
  labels.forEach(function (l, i) {
    var col = COLORS[i % COLORS.length];
    g.strokeStyle = col; g.fillStyle = col; g.lineWidth = 1.5; g.beginPath();
    data.channels[l].up.forEach(function (v, j) {
      var x = x0 + (x1 - x0) * j / (n - 1), y = y1 - (y1 - y0) * v / max;
      if (j === 0) g.moveTo(x, y); else g.lineTo(x, y);
      if (v > 0) points++;
    });
    g.stroke();
    g.fillText(l + " MHz", x1 + 8, y0 + 12 + 14 * i);
  });
  g.lineWidth = 1;
  c.setAttribute("data-points", String(points));
  c.setAttribute("data-channels", String(labels.length));
}

function drawScatter() {
  var c = el("scatter"), k = canvas2d(c), g = k.g;
  var ups = packets.filter(function (p) { return p.dir === "up" && p.lsnr !== null; });
  var x0 = 36, x1 = k.w - 8, y0 = 8, y1 = k.h - 18;
  var rMin = -140, rMax = -20, sMin = -25, sMax = 15;
  axes(k, x0, y0, x1, y1, [{ v: sMax, y: y0 }, { v: sMin, y: y1 }], function (v) { return v + " dB"; });
  g.fillText(rMin + " dBm", x0, k.h - 4); g.fillText(rMax + " dBm", x1 - 48, k.h - 4); g.fillText("RSSI →   ↑ SNR", (x0 + x1) / 2 - 30, k.h - 4);
  g.fillStyle = "rgba(51, 102, 204, 0.7)";
  ups.forEach(function (p) {
    var x = x0 + (x1 - x0) * (Math.min(rMax, Math.max(rMin, p.rssi)) - rMin) / (rMax - rMin);
    var y = y1 - (y1 - y0) * (Math.min(sMax, Math.max(sMin, p.lsnr)) - sMin) / (sMax - sMin);
    g.beginPath(); g.arc(x, y, 3, 0, 2 * Math.PI); g.fill();
  });
  c.setAttribute("data-points", String(ups.length));
}

function drawTiming() {
  var c = el("timing"), k = canvas2d(c), g = k.g;
  var errs = packets.filter(function (p) { return p.dir === "down" && typeof p.timingErrorUs === "number"; }).map(function (p) { return p.timingErrorUs; });
  var edges = [-1000, 0, 10, 20, 50, 100, 200, 500, 1000, 5000];
  var counts = new Array(edges.length + 1).fill(0);
  errs.forEach(function (e) { var i = 0; while (i < edges.length && e >= edges[i]) i++; counts[i]++; });
  var labels = ["<-1000"].concat(edges.slice(0, -1).map(function (e, i) { return e + ".." + edges[i + 1]; })).concat([">=" + edges[edges.length - 1]]);
  var max = Math.max.apply(null, counts.concat([1]));
  var x0 = 36, x1 = k.w - 8, y0 = 8, y1 = k.h - 52, bw = (x1 - x0) / counts.length;
  axes(k, x0, y0, x1, y1, [{ v: max, y: y0 }, { v: 0, y: y1 }], function (v) { return String(v); });
  counts.forEach(function (n, i) {
    var h = (y1 - y0) * n / max;
    g.fillStyle = i === 0 ? "#c73a3a" : "#109618";
    g.fillRect(x0 + i * bw + 2, y1 - h, bw - 4, h);
    g.fillStyle = "#4a5568"; g.save(); g.translate(x0 + i * bw + bw / 2, y1 + 8); g.rotate(-Math.PI / 4); g.textAlign = "right"; g.fillText(labels[i], 0, 0); g.restore();
  });
  c.setAttribute("data-points", String(errs.length));
}

function renderTable() {
  var tb = el("packets").tBodies[0];
  tb.textContent = "";
  packets.slice(-100).reverse().forEach(function (p) {
    var tr = document.createElement("tr"); tr.className = p.dir;
    var result = p.dir === "up" ? p.outcome + (p.crc === "ok" ? "" : " (CRC " + p.crc + ")") : p.txAck + " / " + p.outcome + (typeof p.timingErrorUs === "number" ? " (" + p.timingErrorUs + " µs)" : "");
    [p.time.slice(11, 23), p.dir === "up" ? "↑ up" : "↓ down", p.freq, p.datr, p.dir === "up" ? p.rssi : "", p.dir === "up" ? p.lsnr : "", p.size, p.mtype, p.devAddr, p.fcnt, result]
      .forEach(function (v, i) {
        var td = document.createElement("td"); td.textContent = text(v);
        if (i === 10 && ((p.dir === "down" && p.txAck !== "OK") || (p.dir === "up" && p.outcome === "lost"))) td.className = "err";
        tr.appendChild(td);
      });
    tb.appendChild(tr);
  });
}

function renderStatus(s) {
  el("gw").textContent = s.gatewayId;
  el("version").textContent = "v" + s.version;
  el("uptime").textContent = fmtUptime(s.uptimeS);
  pill(el("radio"), s.radio.up, s.radio.type + " " + s.radio.state);
  el("simulated").hidden = s.radio.type !== "sim";
  var srv = s.servers[0];
  var allOk = s.servers.every(function (v) { return v.answering; });
  var lns = s.lns || [];
  var lnsOk = lns.every(function (l) { return l.state === "connected"; });
  var total = s.servers.length + lns.length;
  var up = s.servers.filter(function (v) { return v.answering; }).length + lns.filter(function (l) { return l.state === "connected"; }).length;
  pill(el("server"), allOk && lnsOk, total === 1 && srv ? srv.host + (srv.answering ? " answering" : " not answering") : total === 1 ? "LNS " + lns[0].state : up + " of " + total + " servers answering");
  var rows = [["gateway ID", s.gatewayId + " (" + s.gatewayIdFrom + ")"]];
  s.servers.forEach(function (v, i) {
    var n = s.servers.length > 1 ? " " + (i + 1) : "";
    rows.push(["server" + n, v.host + " → " + text(v.address) + " :" + v.portUp + "/" + v.portDown + (v.answering ? "" : " (not answering)")]);
    rows.push(["  acks", "PUSH " + fmtAge(v.lastPushAckAgeS) + (v.lastPushRttMs === null ? "" : " (" + v.lastPushRttMs.toFixed(1) + " ms)") + ", PULL " + fmtAge(v.lastPullAckAgeS) + (v.lastPullRttMs === null ? "" : " (" + v.lastPullRttMs.toFixed(1) + " ms)")]);
    if (v.uplink && (v.uplink.outage || v.uplink.buffered > 0)) rows.push(["  buffered", v.uplink.buffered + " uplinks" + (v.uplink.outage ? " (server not acknowledging)" : "")]);
  });
  lns.forEach(function (l, i) {
    var n = lns.length > 1 ? " " + (i + 1) : "";
    rows.push(["LNS" + n, l.uri + " (router " + l.router + (l.muxs ? ", muxs " + l.muxs : "") + "): " + l.state + (l.lastError ? " (" + l.lastError + ")" : "")]);
    if (l.cups) rows.push(["  CUPS", (l.cups.uri || "–") + " (" + l.cups.set + " files): " + (l.cups.lastError ? "failing (" + l.cups.lastError + ")" : l.cups.state) + "; last check " + fmtAge(l.cups.lastCheckAgeS) + "; " + l.cups.counters.updates + " updates"]);
    rows.push(["  traffic", "last message " + fmtAge(l.lastMessageAgeS) + (l.timesyncRttMs === null ? "" : ", RTT " + l.timesyncRttMs.toFixed(1) + " ms") + "; " + l.counters.uplinksSent + " uplinks sent, " + l.kept + " kept; " + l.counters.dntxedSent + " downlinks sent"]);
  });
  var bf = s.buffer && s.buffer.file;
  if (bf && !bf.ok) rows.push(["buffer file", "NOT SAVED (" + bf.reason + "): uplinks kept in memory only"]);
  if (s.buffer && s.buffer.dropped && s.buffer.dropped.poison > 0) rows.push(["buffer", s.buffer.dropped.poison + " uplinks dropped: the server never acknowledged them"]);
  rows.push(["GPS", s.time.gps]);
  rows.push(["downlink queue", s.queue.depth]);
  (s.regulation.bands || []).forEach(function (b) { if (b.usedMs > 0) rows.push(["duty cycle " + b.band, b.usedMs.toFixed(0) + " ms used, " + b.remainingMs.toFixed(0) + " ms left this hour"]); });
  dl(el("status"), rows);
  var t = s.counters.total, rej = s.counters.rejected;
  var rejected = Object.keys(rej).filter(function (k) { return rej[k] > 0; }).map(function (k) { return k + " " + rej[k]; }).join(", ") || "none";
  dl(el("counters"), [
    ["received", t.rxnb + " (CRC ok " + t.rxok + ", bad " + t.rxBad + ", none " + t.rxNoCrc + ")"],
    ["forwarded", t.rxfw + " (filtered " + t.rxFiltered + ", lost " + t.rxLost + ")"],
    ["PUSH_DATA", t.pushDataSent + " sent, " + t.pushAckReceived + " acked"],
    ["PULL_DATA", t.pullDataSent + " sent, " + t.pullAckReceived + " acked"],
    ["PULL_RESP", t.pullRespReceived + " (" + t.pullRespInvalid + " invalid)"],
    ["TX", t.txSent + " sent, " + t.txFailed + " failed, " + t.txExpired + " expired"],
    ["TX rejected", rejected]
  ]);
}

function get(path) { return fetch(path, { cache: "no-store" }).then(function (r) { if (!r.ok) throw new Error(path + " " + r.status); return r.json(); }); }

function tick() {
  // The whole log each time: a downlink's result changes after it is first listed.
  Promise.all([get("/api/status"), get("/api/packets?limit=1000"), get("/api/channels")]).then(function (r) {
    renderStatus(r[0]);
    packets = r[1].packets;
    renderTable(); drawScatter(); drawTiming(); drawPerMinute(r[2]);
    document.body.setAttribute("data-updated", String(Date.now()));
  }).catch(function (e) {
    pill(el("server"), false, "status API unreachable: " + e.message);
  });
}
tick();
setInterval(tick, 2000);
</script>
</body>
</html>
`;
