// Small progressive enhancements. No inline script anywhere: the
// Content-Security-Policy forbids it.
(function () {
  "use strict";
  // Filter forms whose selects submit on change when marked so.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
