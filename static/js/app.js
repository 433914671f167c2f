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

  // Confirmations declared in markup: <button data-confirm="Release request 12?"
  // data-confirm-detail="..." data-confirm-yes="Release">. A modal <dialog> asks (focus moves
  // into it, Escape or "No" closes it and focus returns to the button); "Yes" sends the
  // button's form with confirmed=yes. Without JavaScript the server asks on a page instead
  // (opsadmin/confirm.py), so the step never depends on this script.
  function askConfirmation(el) {
    var body = document.body.dataset;
    var dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-question");
    var question = document.createElement("h2");
    question.id = "confirm-dialog-question";
    question.textContent = el.dataset.confirm;
    dialog.appendChild(question);
    if (el.dataset.confirmDetail) {
      var detail = document.createElement("p");
      detail.id = "confirm-dialog-detail";
      detail.textContent = el.dataset.confirmDetail;
      dialog.setAttribute("aria-describedby", detail.id);
      dialog.appendChild(detail);
    }
    var form = document.createElement("form");
    form.method = "dialog";
    form.className = "confirm-actions";
    var yes = document.createElement("button");
    yes.value = "yes";
    yes.className = "primary danger-fill";
    yes.textContent = el.dataset.confirmYes || body.confirmYes || "Yes";
    var no = document.createElement("button");
    no.value = "no";
    no.textContent = el.dataset.confirmNo || body.confirmNo || "No";
    no.autofocus = true;  // the safe choice has the focus
    form.appendChild(yes);
    form.appendChild(no);
    dialog.appendChild(form);
    document.body.appendChild(dialog);
    dialog.addEventListener("close", function () {
      var confirmed = dialog.returnValue === "yes";
      dialog.remove();
      el.focus();
      if (!confirmed) return;
      var target = el.form;
      if (target) {
        var flag = target.querySelector('input[name="confirmed"]');
        if (!flag) {
          flag = document.createElement("input");
          flag.type = "hidden";
          flag.name = "confirmed";
          target.appendChild(flag);
        }
        flag.value = "yes";
        if (target.requestSubmit) target.requestSubmit(el); else target.submit();
      } else if (el.href) {
        window.location.href = el.href;
      }
    });
    dialog.showModal();
  }
  document.addEventListener("click", function (e) {
    var el = e.target.closest("[data-confirm]");
    if (!el) return;
    e.preventDefault();
    e.stopPropagation();
    askConfirmation(el);
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
