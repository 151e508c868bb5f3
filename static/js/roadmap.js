// The roadmap page. After an edit the page opens on the changed part
// (#action-12, #section-budget): keyboard focus follows the anchor, so the next
// Tab goes on from there, and the confirmation is read out once the page has
// settled (a live region present at load is not announced by screen readers).
(function () {
  "use strict";
  function focusTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target || !target.closest("#roadmap-body")) { return; }
    if (!target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
    target.focus({ preventScroll: true });
  }
  function announceFlashes() {
    document.querySelectorAll("main .fr-alert[role=status] p, main .fr-alert[role=alert] p").forEach(function (p) {
      var text = p.textContent;
      p.textContent = "";
      window.setTimeout(function () { p.textContent = text; }, 150);
    });
  }
  focusTarget();
  announceFlashes();
  window.addEventListener("hashchange", focusTarget);
})();
