// The dispatcher's screen: a map (tiles optional, works offline), open repair orders, ranked vehicles,
// and one-click assignment.
(function () {
  "use strict";
  var el = document.getElementById("map");
  var center = el.getAttribute("data-center").split(",").map(Number);
  var map = L.map(el, { preferCanvas: true }).setView(center, 11);
  var tiles = el.getAttribute("data-tiles");
  if (tiles) { L.tileLayer(tiles, { maxZoom: 19 }).addTo(map); }
  var el_ = GC.el;
  // Leaflet puts a string tooltip in with innerHTML: an address typed as <img onerror=…> would run. Tooltips
  // therefore get a DOM node whose text is set with textContent, never a string.
  function tip(text) { return el_("span", {}, [text]); }
  var feeders = JSON.parse(document.getElementById("feeders-data").textContent);
  feeders.forEach(function (f) {
    L.polyline(f.points, { color: "#6b7a86", weight: 1, opacity: 0.6 }).bindTooltip(tip(f.code)).addTo(map);
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
      body.textContent = "";
      ticketLayer.clearLayers();
      document.getElementById("ticket-count").textContent = tickets.length + " 张";
      tickets.forEach(function (t) {
        var late = overdueText(t);
        var button = el_("button", { className: "link-dark", dataset: { number: t.number } }, [t.number]);
        button.addEventListener("click", function () { select(t); });
        body.appendChild(el_("tr", {}, [
          el_("td", {}, [button]),
          el_("td", {}, [t.state_label]),
          el_("td", {}, [t.outage ? t.outage.call_count : 1]),
          el_("td", {}, [late ? el_("span", { className: "badge overdue" }, ["⏰ " + late]) : "—"])
        ]));
        if (t.lat !== null) {
          L.circleMarker([t.lat, t.lon], { radius: 7, color: late ? "#b42318" : "#b54708", fillOpacity: 0.8 })
            .bindTooltip(tip(t.number + " " + t.address)).on("click", function () { select(t); }).addTo(ticketLayer);
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
          .bindTooltip(tip(v.plate + " · " + v.crew + " · " + v.status)).addTo(vehicleLayer);
      });
    });
  }

  function select(t) {
    selected = t;
    document.getElementById("selected").textContent = t.number;
    var need = document.getElementById("need").value;
    GC.get("/api/v1/repair/tickets/" + encodeURIComponent(t.number) + "/candidates" + (need ? "?need=" + encodeURIComponent(need) : ""))
      .then(function (cs) {
        var body = document.querySelector("#candidates tbody");
        body.textContent = "";
        if (!cs.length) { body.appendChild(el_("tr", {}, [el_("td", { colSpan: 5, className: "muted" }, ["没有可用车辆"])])); }
        cs.forEach(function (c) {
          var button = el_("button", { className: "primary small", dataset: { assign: c.vehicle } }, ["派车"]);
          button.addEventListener("click", function () { assign(c.vehicle); });
          body.appendChild(el_("tr", {}, [
            el_("td", {}, [c.vehicle]),
            el_("td", {}, [c.crew]),
            el_("td", {}, [c.distance_km + " km"]),
            el_("td", {}, [Math.round(c.eta_minutes) + " 分钟" +
              (c.queue_minutes ? "（含排队 " + Math.round(c.queue_minutes) + "）" : "")]),
            el_("td", {}, [button])
          ]));
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
