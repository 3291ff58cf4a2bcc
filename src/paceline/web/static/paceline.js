/* Paceline pages: charts, sortable tables and keyboard helpers. No inline scripts, no CDN. */
(function () {
  "use strict";

  function drawCharts() {
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-figure"));
      if (!source || typeof window.Plotly === "undefined") {
        el.textContent = "The chart could not be drawn (plotly.js did not load).";
        return;
      }
      var figure = JSON.parse(source.textContent);
      var config = { displayModeBar: false, responsive: true };
      window.Plotly.newPlot(el, figure.data, figure.layout, config).then(function () {
        el.setAttribute("data-rendered", "true");
      });
    });
  }

  function cellValue(row, index, type) {
    var cell = row.children[index];
    if (!cell) return type === "number" ? -Infinity : "";
    var raw = cell.getAttribute("data-sort");
    if (raw === null) raw = cell.textContent.trim();
    if (type === "number") {
      var n = parseFloat(raw);
      return isNaN(n) ? -Infinity : n;
    }
    return raw.toLocaleLowerCase();
  }

  function makeSortable(table) {
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (th, index) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var type = button.getAttribute("data-sort-type") || "text";
        var current = th.getAttribute("aria-sort");
        // Numbers sort high-to-low first (best first), text A-Z first.
        var ascending = current === "none" || current === null
          ? type !== "number"
          : current === "descending";
        headers.forEach(function (other) {
          if (other.querySelector("button")) other.setAttribute("aria-sort", "none");
        });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index, type);
          var y = cellValue(b, index, type);
          if (x < y) return ascending ? -1 : 1;
          if (x > y) return ascending ? 1 : -1;
          return 0;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function wireForms() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) select.form.requestSubmit();
      });
    });
    document.querySelectorAll("select[data-reload-on-change]").forEach(function (select) {
      select.addEventListener("change", function () {
        var name = select.getAttribute("data-reload-on-change");
        var url = new URL(window.location.href);
        url.search = "";
        url.searchParams.set(name, select.value);
        window.location.assign(url.toString());
      });
    });
    // Quick-add: Enter on a drop-down submits too, so the whole form works from the keyboard.
    document.querySelectorAll("form.quick-add select").forEach(function (select) {
      select.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey && select.form) {
          event.preventDefault();
          select.form.requestSubmit();
        }
      });
    });
    document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable").forEach(makeSortable);
    wireForms();
    drawCharts();
  });
})();
