// The work queue's map: the same selection as the list below it, as points. An enhancement:
// the list says everything without it.
//   <div data-work-map data-points="/work/map.geojson?<filters>" data-tiles="URL template or empty">
(function () {
  "use strict";
  var el = document.querySelector("[data-work-map]");
  if (!el || !window.L) { return; }
  var map = L.map(el, { scrollWheelZoom: false });
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, { maxZoom: 19 }).addTo(map);
  }
  map.setView([0, 0], 2);

  function popup(p) {
    // Built with textContent: the values are data, never markup.
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = "/work/requests/" + encodeURIComponent(p.tracking_number) + "/";
    link.textContent = p.tracking_number;
    box.appendChild(link);
    var what = document.createElement("div");
    what.textContent = p.service_name + " · " + p.status + (p.overdue ? " · overdue" : "");
    box.appendChild(what);
    return box;
  }

  fetch(el.dataset.points, { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      if (!data || !data.features.length) { el.hidden = true; return; }
      var layer = L.geoJSON(data, {
        pointToLayer: function (feature, latlng) {
          var p = feature.properties;
          return L.circleMarker(latlng, {
            radius: 7, color: "#162e51", weight: 2, fillOpacity: 0.9,
            fillColor: p.urgent ? "#d83933" : (p.overdue ? "#e5a000" : "#00bde3")
          }).bindPopup(popup(p));
        }
      }).addTo(map);
      map.fitBounds(layer.getBounds(), { maxZoom: 16, padding: [20, 20] });
    })
    .catch(function () { el.hidden = true; });
})();
