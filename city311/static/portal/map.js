// city311 portal maps (Leaflet). An enhancement: every page says the same in words without it.
//
// <div data-map data-tiles="URL template or empty" data-limits="/api/city-limits.geojson"
//      data-lat data-long data-zoom>             one place, marked
//      data-points="/api/requests.geojson"       recent requests, reloaded when the map moves
//      data-filters="form id"                    ...filtered like that form
//      data-around="/api/map/around.geojson"     with no tile server, the city's own streets
// With no tile server configured the base is the city limits and, close up, the city's own
// streets, house numbers and places (basemap.js): nothing leaves the city's own server.
(function () {
  "use strict";
  if (!window.L) { return; }

  var OPEN = { radius: 7, color: "#162e51", weight: 2, fillColor: "#e5a000", fillOpacity: 0.9 };
  var CLOSED = { radius: 6, color: "#162e51", weight: 2, fillColor: "#ffffff", fillOpacity: 0.9 };
  var HERE = { radius: 10, color: "#162e51", weight: 3, fillColor: "#d83933", fillOpacity: 0.9 };

  function base(map, el, own, done) {
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
    }
    if (!el.dataset.limits) { done(null); return; }
    fetch(el.dataset.limits, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || !data.features || !data.features.length) { done(null); return; }
        var layer = L.geoJSON(data, {
          interactive: false,
          // Filled white on a blank base; not over tiles or the city's own streets.
          style: { color: "#565c65", weight: 2, fill: !el.dataset.tiles && !own, fillColor: "#ffffff", fillOpacity: 1 }
        }).addTo(map);
        layer.bringToBack();
        done(layer.getBounds());
      })
      .catch(function () { done(null); });
  }

  function text(tag, value, className) {
    var node = document.createElement(tag);
    node.textContent = value;
    if (className) { node.className = className; }
    return node;
  }

  function popup(p) {
    // Built with textContent: the values are data, never markup.
    var box = document.createElement("div");
    var link = text("a", p.service_name);
    link.href = p.url;
    box.appendChild(link);
    box.appendChild(text("div", p.status_words));
    box.appendChild(text("div", p.tracking_number));
    return box;
  }

  function filterQuery(el) {
    var form = el.dataset.filters && document.getElementById(el.dataset.filters);
    if (!form) { return ""; }
    var params = new URLSearchParams(new FormData(form));
    params.delete("before");
    return params.toString();
  }

  function points(map, el) {
    var layer = L.layerGroup().addTo(map);
    var pending = null;
    function load() {
      var b = map.getBounds();
      var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (n) { return n.toFixed(5); }).join(",");
      var query = filterQuery(el);
      var url = el.dataset.points + "?bbox=" + bbox + (query ? "&" + query : "");
      if (pending) { pending.abort(); }
      pending = new AbortController();
      fetch(url, { credentials: "same-origin", signal: pending.signal })
        .then(function (r) { return r.ok ? r.json() : { features: [] }; })
        .then(function (data) {
          layer.clearLayers();
          data.features.forEach(function (f) {
            var c = f.geometry.coordinates;
            var style = f.properties.status === "closed" ? CLOSED : OPEN;
            L.circleMarker([c[1], c[0]], style).bindPopup(popup(f.properties)).addTo(layer);
          });
        })
        .catch(function () {});
    }
    map.on("moveend", load);
    document.addEventListener("htmx:afterSwap", load);
    return load;
  }

  function start(el) {
    var map = L.map(el, { scrollWheelZoom: false, attributionControl: !!el.dataset.tiles });
    var lat = parseFloat(el.dataset.lat), lng = parseFloat(el.dataset.long);
    var here = !isNaN(lat) && !isNaN(lng);
    var load = el.dataset.points ? points(map, el) : null;
    // With street tiles or the city's own streets a place is shown close up; on a blank base
    // only the city's outline gives it meaning, so the place is shown within the whole city.
    var own = !el.dataset.tiles && !!el.dataset.around && !!window.City311Base;
    var close = here && (!!el.dataset.tiles || own);
    if (here) {
      map.setView([lat, lng], close ? parseInt(el.dataset.zoom || "16", 10) : 12);
      L.circleMarker([lat, lng], HERE).addTo(map);
    }
    if (own) { City311Base.draw(map, { url: el.dataset.around, zoomIn: el.dataset.zoomIn }); }
    base(map, el, own, function (bounds) {
      if (bounds && !close) {
        map.fitBounds(here ? bounds.extend([lat, lng]) : bounds);
      } else if (!here && !bounds) {
        map.setView([0, 0], 2);
      }
      if (load && (close || !bounds)) { load(); }
    });
  }

  document.querySelectorAll("[data-map]").forEach(start);
})();
