// imgctl fleet site: filters the fleet table as you type. Vanilla, no dependencies, nothing
// fetched; the page works without it (every row shown).
(function () {
  "use strict";
  var input = document.getElementById("filter");
  var table = document.getElementById("fleet");
  var count = document.getElementById("count");
  if (!input || !table || !count || !table.tBodies.length) return;
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var texts = rows.map(function (r) {
    return (r.getAttribute("data-variant") + " " + r.textContent).toLowerCase().replace(/\s+/g, " ");
  });
  function apply() {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    rows.forEach(function (r, i) {
      var match = words.every(function (w) { return texts[i].indexOf(w) !== -1; });
      r.hidden = !match;
      if (match) shown += 1;
    });
    count.textContent = shown + " of " + rows.length + " variants";
  }
  input.addEventListener("input", apply);
  apply();
})();
