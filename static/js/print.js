// The roadmap's print page: its "Print" button opens the browser's print
// dialog. The button stays hidden until this script runs (no inline script:
// the Content-Security-Policy forbids it), so it never shows without effect.
(function () {
  "use strict";
  var button = document.getElementById("print-button");
  if (!button) { return; }
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
})();
