/* One submit per tap. A form posted by the browser (not by htmx) disables its submit buttons until the
   next page arrives, so a double tap in a stairwell with a slow connection sends it once. Enabled
   again when the page is shown from the back-forward cache or after 15 s without an answer, so the user
   can always try again; the server still recognises a repeated form by its submission key. A form whose
   answer is a download (the page stays) is marked data-repeatable and left alone. */
(function () {
  "use strict";
  function buttons(form) {
    return form.querySelectorAll('button[type="submit"], button:not([type]), input[type="submit"]');
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || (form.method || "").toLowerCase() !== "post" || "repeatable" in form.dataset) {
      return; // htmx sends its own forms; a GET (a filter, a search) may be sent again at will
    }
    // The browser reads the form's fields after this handler: the button that was pressed would not be
    // sent once disabled, so its name and value travel in a hidden copy.
    var submitter = event.submitter;
    if (submitter && submitter.name) {
      var copy = document.createElement("input");
      copy.type = "hidden";
      copy.name = submitter.name;
      copy.value = submitter.value;
      copy.dataset.sending = "";
      form.appendChild(copy);
    }
    buttons(form).forEach(function (button) {
      if (!button.disabled) {
        button.disabled = true;
        button.dataset.sending = "";
      }
    });
    window.setTimeout(release, 15000);
  });
  function release() {
    // Only what was done above: a button the page disables itself (a clash) stays disabled.
    document.querySelectorAll("[data-sending]").forEach(function (element) {
      if (element.type === "hidden") {
        element.remove();
      } else {
        element.disabled = false;
        delete element.dataset.sending;
      }
    });
  }
  window.addEventListener("pageshow", release);
})();
