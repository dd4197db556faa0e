// The city's own map base, for a city with no tile server: close up, its address points and
// house numbers, street names, named places and the lines between its areas, all from the
// geography it imported (/api/map/around.geojson). Nothing leaves the city's own server.
//
//   City311Base.draw(map, { url: "/api/map/around.geojson", zoomIn: "Zoom in to see..." })
//
// A visual aid only: every page says the same in words, so the labels are hidden from screen
// readers.
window.City311Base = (function () {
  "use strict";
  // The server draws boxes of at most MAX_SPAN degrees a side, on a GRID.
  var MAX_SPAN = 0.03, GRID = 0.0025;
  var NUMBERS_FROM_ZOOM = 18;
  var SHIFT_PX = 90;
  var STREET = { pane: "city311Base", color: "#ffffff", weight: 9, opacity: 1, lineCap: "round", interactive: false };
  var STREET_EDGE = { pane: "city311Base", color: "#a9aeb1", weight: 11, opacity: 1, lineCap: "round", interactive: false };
  var ADDRESS = { pane: "city311Base", radius: 2.5, stroke: false, fillColor: "#565c65", fillOpacity: 0.9, interactive: false };
  var PLACE = { pane: "city311Base", radius: 6, color: "#ffffff", weight: 2, fillColor: "#00a91c", fillOpacity: 1, interactive: false };

  function snap(b) {
    function down(v) { return (Math.floor(v / GRID) * GRID).toFixed(4); }
    function up(v) { return (Math.ceil(v / GRID) * GRID).toFixed(4); }
    return [down(b.getWest()), down(b.getSouth()), up(b.getEast()), up(b.getNorth())].join(",");
  }

  function label(latlng, words, kind) {
    var inner = document.createElement("span");
    inner.textContent = words;
    var outer = document.createElement("div");
    outer.appendChild(inner);
    outer.setAttribute("aria-hidden", "true");
    var marker = L.marker(latlng, {
      pane: "city311Labels",
      interactive: false,
      keyboard: false,
      icon: L.divIcon({ className: "portal-map-label portal-map-label--" + kind, html: outer, iconSize: null })
    });
    marker.turn = function (angle) {
      // Centred on the point, turned along a street; CSSOM styles, which the CSP allows.
      inner.style.transform = "translate(-50%, -50%)" + (angle ? " rotate(" + angle + "deg)" : "");
    };
    marker.turn(0);
    return marker;
  }

  // A street's name where the resident is looking: on the street, a little way along from the
  // point nearest the middle of the map (where the pin usually is), turned to run along it.
  function placeStreetLabel(map, street) {
    var size = map.getSize(), centre = size.divideBy(2), best = null;
    street.lines.forEach(function (line) {
      var pts = line.map(function (ll) { return map.latLngToContainerPoint(ll); });
      for (var i = 0; i + 1 < pts.length; i++) {
        var a = pts[i], b = pts[i + 1], ab = b.subtract(a), len2 = ab.x * ab.x + ab.y * ab.y;
        var t = len2 ? Math.max(0, Math.min(1, ((centre.x - a.x) * ab.x + (centre.y - a.y) * ab.y) / len2)) : 0;
        var p = a.add(ab.multiplyBy(t)), d = p.distanceTo(centre);
        if (!best || d < best.d) { best = { d: d, p: p, a: a, b: b }; }
      }
    });
    if (!best) { return; }
    var dir = best.b.subtract(best.a), len = Math.sqrt(dir.x * dir.x + dir.y * dir.y) || 1;
    var step = dir.multiplyBy(Math.min(SHIFT_PX, size.x / 4) / len);
    var spot = best.p.add(step);
    if (spot.x < 0 || spot.y < 0 || spot.x > size.x || spot.y > size.y) { spot = best.p.subtract(step); }
    var angle = Math.atan2(dir.y, dir.x) * 180 / Math.PI;
    if (angle > 90) { angle -= 180; } else if (angle < -90) { angle += 180; }
    street.marker.setLatLng(map.containerPointToLatLng(spot));
    street.marker.turn(Math.round(angle));
  }

  function draw(map, options) {
    if (!map.getPane("city311Base")) {
      // Under the page's own layers (the pin, the requests, the city limits), over no tiles.
      map.createPane("city311Base").style.zIndex = 350;
    }
    if (!map.getPane("city311Labels")) {
      var pane = map.createPane("city311Labels");
      pane.style.zIndex = 450;
      pane.style.pointerEvents = "none";
    }
    var canvas = L.canvas({ padding: 0.2, pane: "city311Base" });
    var streetNames = [];
    var layer = L.layerGroup().addTo(map);
    var numbers = L.layerGroup();
    var here = L.control({ position: "bottomleft" });
    here.onAdd = function () {
      var box = L.DomUtil.create("div", "portal-map-here");
      box.setAttribute("aria-hidden", "true");
      return box;
    };
    here.addTo(map);
    var caption = here.getContainer();
    var shown = "", pending = null;

    function say(text) { caption.textContent = text; caption.hidden = !text; }

    function render(data) {
      layer.clearLayers();
      numbers.clearLayers();
      streetNames = [];
      var lines = [], dots = [], labels = [];
      data.features.forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates;
        if (p.kind === "boundary") {
          layer.addLayer(L.geoJSON(f, {
            pane: "city311Base",
            interactive: false,
            style: p.area === "city_limits"
              ? { color: "#162e51", weight: 3, opacity: 0.9 }
              : { color: "#565c65", weight: 2, opacity: 0.8, dashArray: "6 5" }
          }));
        } else if (p.kind === "street") {
          var latlngs = c.map(function (piece) { return piece.map(function (xy) { return L.latLng(xy[1], xy[0]); }); });
          lines.push(latlngs);
          var name = label(latlngs[0][0], p.name, "street");
          streetNames.push({ lines: latlngs, marker: name });
          labels.push(name);
        } else if (p.kind === "address") {
          dots.push(L.circleMarker([c[1], c[0]], L.extend({ renderer: canvas }, ADDRESS)));
          numbers.addLayer(label([c[1], c[0]], p.number, "number"));
        } else if (p.kind === "place") {
          dots.push(L.circleMarker([c[1], c[0]], PLACE));
          labels.push(label([c[1], c[0]], p.name, "place"));
        }
      });
      // Every street's edge under every street, so crossings join up; then the houses and
      // places on them, then the names.
      lines.forEach(function (l) { layer.addLayer(L.polyline(l, STREET_EDGE)); });
      lines.forEach(function (l) { layer.addLayer(L.polyline(l, STREET)); });
      dots.concat(labels).forEach(function (l) { layer.addLayer(l); });
      placeStreetNames();
      toggleNumbers();
      say((data.areas || []).map(function (a) { return a.name; }).join(" · "));
    }

    function placeStreetNames() {
      streetNames.forEach(function (street) { placeStreetLabel(map, street); });
    }

    function toggleNumbers() {
      if (map.getZoom() >= NUMBERS_FROM_ZOOM) { numbers.addTo(map); } else { numbers.remove(); }
    }

    function load() {
      var b = map.getBounds();
      if (b.getEast() - b.getWest() > MAX_SPAN || b.getNorth() - b.getSouth() > MAX_SPAN) {
        shown = "";
        layer.clearLayers();
        numbers.clearLayers();
        say(options.zoomIn || "");
        return;
      }
      var box = snap(b);
      toggleNumbers();
      placeStreetNames();
      if (box === shown) { return; }
      shown = box;
      if (pending) { pending.abort(); }
      pending = new AbortController();
      fetch(options.url + "?bbox=" + box, { credentials: "same-origin", signal: pending.signal })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && box === shown) { render(data); } })
        .catch(function () { if (box === shown) { shown = ""; } });
    }

    map.on("moveend", load);
    map.whenReady(load);
    return { reload: load };
  }

  return { draw: draw };
})();
