// The dispatcher's screen: a map (tiles optional, works offline), open repair orders, ranked vehicles,
// and one-click assignment.
(function () {
  "use strict";
  var el = document.getElementById("map");
  var center = el.getAttribute("data-center").split(",").map(Number);
  var map = L.map(el, { preferCanvas: true }).setView(center, 11);
  var tiles = el.getAttribute("data-tiles");
  if (tiles) { L.tileLayer(tiles, { maxZoom: 19 }).addTo(map); }
  var feeders = JSON.parse(document.getElementById("feeders-data").textContent);
  feeders.forEach(function (f) {
    L.polyline(f.points, { color: "#6b7a86", weight: 1, opacity: 0.6 }).bindTooltip(f.code).addTo(map);
  });
  var vehicleLayer = L.layerGroup().addTo(map);
  var ticketLayer = L.layerGroup().addTo(map);
  var selected = null;

  function overdueText(t) {
    return t.segments.filter(function (s) { return s.overdue; })
      .map(function (s) { return s.code + "+" + s.lost_minutes + "′ " + (s.who || ""); }).join("，");
  }

  function loadTickets() {
    return GC.get("/api/v1/repair/tickets").then(function (tickets) {
      var body = document.querySelector("#tickets tbody");
      body.innerHTML = "";
      ticketLayer.clearLayers();
      document.getElementById("ticket-count").textContent = tickets.length + " 张";
      tickets.forEach(function (t) {
        var tr = document.createElement("tr");
        var late = overdueText(t);
        tr.innerHTML = "<td><button class='link-dark' data-number='" + GC.esc(t.number) + "'>" + GC.esc(t.number) + "</button></td><td>" +
          GC.esc(t.state_label) + "</td><td>" + (t.outage ? t.outage.call_count : 1) + "</td><td>" +
          (late ? "<span class='badge overdue'>⏰ " + GC.esc(late) + "</span>" : "—") + "</td>";
        tr.querySelector("button").addEventListener("click", function () { select(t); });
        body.appendChild(tr);
        if (t.lat !== null) {
          L.circleMarker([t.lat, t.lon], { radius: 7, color: late ? "#b42318" : "#b54708", fillOpacity: 0.8 })
            .bindTooltip(t.number + " " + t.address).on("click", function () { select(t); }).addTo(ticketLayer);
        }
      });
      return tickets;
    });
  }

  function loadVehicles() {
    return GC.get("/api/v1/repair/vehicles").then(function (vs) {
      vehicleLayer.clearLayers();
      vs.forEach(function (v) {
        L.circleMarker([v.lat, v.lon], { radius: 5, color: v.status === "idle" ? "#0a7a55" : "#1d2329", fillOpacity: 0.9 })
          .bindTooltip(v.plate + " · " + v.crew + " · " + v.status).addTo(vehicleLayer);
      });
    });
  }

  function select(t) {
    selected = t;
    document.getElementById("selected").textContent = t.number;
    var need = document.getElementById("need").value;
    GC.get("/api/v1/repair/tickets/" + encodeURIComponent(t.number) + "/candidates" + (need ? "?need=" + need : ""))
      .then(function (cs) {
        var body = document.querySelector("#candidates tbody");
        body.innerHTML = "";
        if (!cs.length) { body.innerHTML = "<tr><td colspan='5' class='muted'>没有可用车辆</td></tr>"; }
        cs.forEach(function (c) {
          var tr = document.createElement("tr");
          tr.innerHTML = "<td>" + GC.esc(c.vehicle) + "</td><td>" + GC.esc(c.crew) + "</td><td>" + c.distance_km +
            " km</td><td>" + Math.round(c.eta_minutes) + " 分钟" + (c.queue_minutes ? "（含排队 " + Math.round(c.queue_minutes) + "）" : "") +
            "</td><td><button class='primary small' data-assign='" + GC.esc(c.vehicle) + "'>派车</button></td>";
          tr.querySelector("button").addEventListener("click", function () { assign(c.vehicle); });
          body.appendChild(tr);
        });
      }).catch(function (e) { document.getElementById("dispatch-msg").textContent = e.message; });
  }

  function assign(plate) {
    GC.post("/api/v1/repair/tickets/" + encodeURIComponent(selected.number) + "/assign", { vehicle: plate })
      .then(function (t) {
        document.getElementById("dispatch-msg").textContent = t.number + " 已派 " + plate;
        loadTickets();
        loadVehicles();
      }).catch(function (e) { document.getElementById("dispatch-msg").textContent = e.message; });
  }

  document.getElementById("need").addEventListener("change", function () { if (selected) { select(selected); } });
  loadTickets();
  loadVehicles();
  setInterval(function () { loadTickets(); loadVehicles(); }, 15000);
})();
