// Copy buttons: <button type="button" data-copy="ID" hidden> copies the value of the input #ID.
// Without JavaScript the button stays hidden and the read-only input is there to select.
(function () {
  "use strict";
  function announce(button, text) {
    var status = document.getElementById(button.dataset.status || "");
    if (status) { status.textContent = text; }
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.dataset.copy);
    if (!field) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () { announce(button, button.dataset.copied || "Copied"); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          field.select();
        });
      } else {
        field.select();
        try { document.execCommand("copy"); done(); } catch (e) { /* selected: Ctrl+C works */ }
      }
    });
  });
})();
