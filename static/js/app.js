/* OpsAdmin: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Searchable dropdowns (seed 000 "Improved dropdowns"): a select marked .searchable, or
  // any select with more than 8 options, becomes a Tom Select whose search field takes the
  // focus when it opens. Hover and selected colours differ (see app.css).
  function enhanceSelects(root) {
    if (!window.TomSelect) return;
    root.querySelectorAll("select").forEach(function (select) {
      if (select.tomselect || select.multiple || select.dataset.plain !== undefined) return;
      if (!select.classList.contains("searchable") && select.options.length <= 8) return;
      var label = select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
      var labelText = label ? label.firstChild.textContent.trim() : "options";
      var ts = new window.TomSelect(select, {
        plugins: ["dropdown_input"],
        maxOptions: 500,
        allowEmptyOption: true,
        openOnFocus: false,
        onInitialize: function () {
          var self = this;
          // A mouse click on the closed control opens it; on the open one closes it.
          // (openOnFocus stays off so Tab only moves through the form; Tom Select's own
          // click handler would then just focus the control and leave the list closed.)
          self.onClick = function () {
            if (self.isOpen) {
              self.close();
            } else {
              self.focus();
              self.open();
            }
          };
          // Enter, Space or Arrow Down on the closed control opens it (keyboard users).
          self.control.addEventListener("keydown", function (e) {
            if (!self.isOpen && (e.key === "Enter" || e.key === " " || e.key === "ArrowDown")) {
              e.preventDefault();
              self.open();
            }
          });
        },
        onDropdownOpen: function () {
          var input = this.dropdown.querySelector(".dropdown-input");
          if (input) input.focus();
        },
      });
      // Keep the visible label pointing at the control a keyboard user reaches.
      if (label && ts.control) {
        ts.control.setAttribute("aria-label", labelText);
      }
      // Tom Select moves the label to its own control; the hidden native select keeps a name.
      select.setAttribute("aria-label", labelText);
      var search = ts.dropdown.querySelector(".dropdown-input");
      if (search) {
        search.setAttribute("aria-label", "Search " + labelText);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enhanceSelects(document); });
  document.addEventListener("htmx:afterSettle", function (e) { enhanceSelects(e.target); });

  // Confirm dialogs declared in markup: <button data-confirm="Sure?">
  document.addEventListener("click", function (e) {
    var el = e.target.closest("[data-confirm]");
    if (el && !window.confirm(el.dataset.confirm)) { e.preventDefault(); e.stopPropagation(); }
  }, true);
})();

// Drop-down menus (<details class="menu">): Escape closes the open one and returns focus to
// its summary; opening one closes the others; a click elsewhere closes them.
(function () {
  "use strict";
  function openMenus() { return document.querySelectorAll(".menu details[open]"); }
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    openMenus().forEach(function (d) {
      d.open = false;
      if (d.contains(document.activeElement)) d.querySelector("summary").focus();
    });
  });
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (!d.open || !d.closest || !d.closest(".menu")) return;
    openMenus().forEach(function (other) { if (other !== d) other.open = false; });
  }, true);
  document.addEventListener("click", function (e) {
    openMenus().forEach(function (d) { if (!d.contains(e.target)) d.open = false; });
  });
})();
