// Mentions in the text areas of the discussions. Typing "@" and two letters
// of a name lists the people who may read the group (an ARIA listbox under
// the text area, which keeps the focus and points at the chosen option with
// aria-activedescendant): Down and Up arrows choose, Home and End go to the
// first and last name, Enter or a click inserts "@[Name](user:ID)", Escape
// closes. While the list is shown the text area is an ARIA combobox
// (aria-expanded, aria-controls, aria-autocomplete); the rest of the time it
// is announced as the plain multi-line field it is. Without this script the same syntax can
// be typed by hand. No inline script or style: the CSP forbids them.
(function () {
  "use strict";
  if (window.extranetMentions) { return; }
  window.extranetMentions = true;

  // "@" at the start or after a space or an opening sign, then a name being
  // typed: two letters at least, up to three words.
  var NAME = "[\\p{L}\\p{M}\\p{N}'’.\\-]";
  var TRIGGER = new RegExp("(?:^|[\\s(\\[«\"])@(" + NAME + "{2,}(?: " + NAME + "*){0,2})$", "u");
  var DELAY = 150;

  function setup(wrapper) {
    var textarea = wrapper.querySelector("textarea");
    if (!textarea || !wrapper.dataset.mentionsUrl) { return; }
    var url = wrapper.dataset.mentionsUrl;
    var listId = textarea.id + "-mentions";

    var list = document.createElement("ul");
    list.id = listId;
    list.className = "extranet-mentions__list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", wrapper.dataset.mentionsLabel || "@");
    list.hidden = true;
    textarea.insertAdjacentElement("afterend", list);

    var status = document.createElement("p");
    status.className = "fr-sr-only";
    status.setAttribute("aria-live", "polite");
    status.id = textarea.id + "-mentions-status";
    list.insertAdjacentElement("afterend", status);

    function expanded(shown) {
      if (shown) {
        textarea.setAttribute("role", "combobox");
        textarea.setAttribute("aria-autocomplete", "list");
        textarea.setAttribute("aria-controls", listId);
        textarea.setAttribute("aria-expanded", "true");
      } else {
        ["role", "aria-autocomplete", "aria-controls", "aria-expanded", "aria-activedescendant"].forEach(function (name) {
          textarea.removeAttribute(name);
        });
      }
    }

    var results = [];
    var active = -1;
    var start = -1; // where the "@" being completed is
    var timer = null;
    var sequence = 0;

    function close() {
      results = [];
      active = -1;
      list.hidden = true;
      list.textContent = "";
      expanded(false);
    }

    function announce(count) {
      if (count === 0) {
        status.textContent = wrapper.dataset.mentionsNone || "";
      } else if (count === 1) {
        status.textContent = wrapper.dataset.mentionsCountOne || "";
      } else {
        status.textContent = (wrapper.dataset.mentionsCountMany || "").replace("{n}", String(count));
      }
    }

    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0) {
        var option = list.children[index];
        textarea.setAttribute("aria-activedescendant", option.id);
        option.scrollIntoView({ block: "nearest" });
      } else {
        textarea.removeAttribute("aria-activedescendant");
      }
    }

    function show(items) {
      close();
      results = items;
      if (!items.length) {
        announce(0);
        return;
      }
      items.forEach(function (item, i) {
        var option = document.createElement("li");
        option.id = listId + "-" + i;
        option.className = "extranet-mentions__option";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.textContent = item.name;
        if (item.detail) {
          var detail = document.createElement("span");
          detail.className = "fr-hint-text";
          detail.textContent = item.detail;
          option.appendChild(detail);
        }
        // Pressing the mouse must not take the focus from the text area.
        option.addEventListener("mousedown", function (event) { event.preventDefault(); });
        option.addEventListener("click", function () { insert(i); });
        list.appendChild(option);
      });
      list.hidden = false;
      expanded(true);
      announce(items.length);
    }

    function insert(index) {
      var item = results[index];
      if (!item || start < 0) { return; }
      var caret = textarea.selectionStart;
      var before = textarea.value.slice(0, start);
      var after = textarea.value.slice(caret);
      var text = item.mention + " ";
      textarea.value = before + text + after.replace(/^ /, "");
      var position = before.length + text.length;
      textarea.setSelectionRange(position, position);
      close();
      status.textContent = "";
      textarea.focus();
    }

    function lookUp() {
      var caret = textarea.selectionStart;
      if (caret !== textarea.selectionEnd) { close(); return; }
      var found = TRIGGER.exec(textarea.value.slice(0, caret));
      if (!found) { close(); return; }
      start = caret - found[1].length - 1;
      var query = found[1];
      var mine = ++sequence;
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch(url + "?q=" + encodeURIComponent(query), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : { results: [] }; })
          .then(function (data) {
            if (mine === sequence) { show(data.results || []); }
          })
          .catch(function () { if (mine === sequence) { close(); } });
      }, DELAY);
    }

    textarea.addEventListener("input", lookUp);
    textarea.addEventListener("click", lookUp);
    textarea.addEventListener("blur", function () { sequence++; close(); });
    textarea.addEventListener("keydown", function (event) {
      if (list.hidden || !results.length) { return; }
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight(active + 1 < results.length ? active + 1 : 0);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(active > 0 ? active - 1 : results.length - 1);
      } else if (event.key === "Home") {
        event.preventDefault();
        highlight(0);
      } else if (event.key === "End") {
        event.preventDefault();
        highlight(results.length - 1);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        insert(active);
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        sequence++;
        close();
      }
    });
  }

  document.querySelectorAll(".extranet-mentions[data-mentions-url]").forEach(setup);
})();
