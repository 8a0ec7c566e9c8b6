// Load charts: each chart element carries its data as JSON in data-load-chart (an attribute, not a
// <script type="application/json">, because fragments' scripts are re-created and run by app.js).
// Plotly itself is served from the installed plotly package.
(function () {
  "use strict";
  // Plotly reads a few HTML tags in names and hover text (<a href>, <b>, <br> …): a customer or area name
  // typed with markup would become a link or break the label. Entities are shown as the character, so
  // escaping < > & makes every name plain text.
  function plain(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }
  function draw() {
    if (!window.Plotly) { setTimeout(draw, 50); return; }
    document.querySelectorAll("[data-load-chart]:not([data-drawn])").forEach(function (el) {
      var data = JSON.parse(el.getAttribute("data-load-chart"));
      var traces = [];
      (data.series || []).forEach(function (s) { traces.push({x: data.x, y: s.y, name: plain(s.name), type: "scatter", mode: "lines"}); });
      if (data.typical) { traces.push({x: data.x, y: data.typical, name: "典型日", line: {dash: "dot", width: 3}}); }
      (data.areas || []).forEach(function (s) { traces.push({x: data.x, y: s.y, name: plain(s.name), type: "scatter", mode: "lines"}); });
      if (data.total) { traces.push({x: data.x, y: data.total, name: "线路合计", line: {width: 3}}); }
      if (data.capacity_kw) {
        traces.push({x: [data.x[0], data.x[data.x.length - 1]], y: [data.capacity_kw, data.capacity_kw],
                     name: "额定容量", line: {dash: "dash", color: "#b42318"}});
      }
      el.setAttribute("data-drawn", "1");
      window.Plotly.newPlot(el, traces, {margin: {t: 10, r: 10, b: 40, l: 50}, yaxis: {title: {text: "kW"}},
        legend: {orientation: "h"}}, {responsive: true, displaylogo: false});
    });
  }
  draw();
})();
