// Sorts tables with class "sortable" by the column whose heading button
// is pressed: numbers by their data-sort value (blanks last), text as text.
"use strict";
document.querySelectorAll("table.sortable").forEach(function (table) {
  var headers = table.querySelectorAll("thead th");
  headers.forEach(function (th, column) {
    th.querySelector("button").addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      headers.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var numeric = th.dataset.kind === "num";
      var key = function (row) {
        var cell = row.cells[column];
        var raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent;
        return numeric ? (raw === "" ? null : parseFloat(raw)) : raw.trim().toLowerCase();
      };
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === y) return 0;
        if (x === null) return 1;
        if (y === null) return -1;
        var order = x < y ? -1 : 1;
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
