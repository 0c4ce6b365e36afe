// Partita Web dead letters: "Select all on this page" ticks every waiting entry's checkbox.
(function () {
  'use strict';
  var button = document.getElementById('select-all');
  if (!button) return;
  button.addEventListener('click', function () {
    var boxes = document.querySelectorAll('input[type="checkbox"][name="entry"]');
    var all = Array.prototype.every.call(boxes, function (box) { return box.checked; });
    Array.prototype.forEach.call(boxes, function (box) { box.checked = !all; });
  });
})();
