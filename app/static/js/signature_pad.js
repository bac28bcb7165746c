/* A handwritten signature on a canvas (pointer events: finger, pen or mouse). The drawing goes into the form's
   hidden field signature_data as a PNG data URL when the form is submitted; "清除重写" clears it. The server checks
   and re-encodes the image. Choosing "输入姓名" hides the canvas. */
(function () {
  "use strict";
  var form = document.getElementById("sign-form");
  var canvas = document.getElementById("signature-canvas");
  if (!form || !canvas) { return; }
  var field = form.querySelector("input[name=signature_data]");
  var area = form.querySelector(".signature-field");
  var ctx = canvas.getContext("2d");
  var drawing = false, drawn = false, last = null;

  function setup() {
    ctx.lineWidth = 7;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";
  }

  function point(ev) {
    var r = canvas.getBoundingClientRect();
    return { x: (ev.clientX - r.left) * canvas.width / r.width, y: (ev.clientY - r.top) * canvas.height / r.height };
  }

  function start(ev) {
    if (ev.button !== undefined && ev.button > 0) { return; }
    ev.preventDefault();
    drawing = true;
    last = point(ev);
    if (canvas.setPointerCapture) { canvas.setPointerCapture(ev.pointerId); }
    ctx.beginPath();
    ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, Math.PI * 2);
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fill();
    drawn = true;
  }

  function move(ev) {
    if (!drawing) { return; }
    ev.preventDefault();
    var events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
    if (!events.length) { events = [ev]; }
    for (var i = 0; i < events.length; i++) {
      var p = point(events[i]);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      last = p;
    }
  }

  function end() { drawing = false; }

  function clear() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    drawn = false;
    if (field) { field.value = ""; }
  }

  function method() {
    var checked = form.querySelector("input[name=method]:checked");
    return checked ? checked.value : "drawn";
  }

  function showArea() {
    if (area) { area.hidden = method() !== "drawn"; }
  }

  setup();
  canvas.addEventListener("pointerdown", start);
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  canvas.addEventListener("pointerleave", end);
  var clearButton = document.getElementById("signature-clear");
  if (clearButton) { clearButton.addEventListener("click", clear); }
  Array.prototype.forEach.call(form.querySelectorAll("input[name=method]"), function (radio) {
    radio.addEventListener("change", showArea);
  });
  showArea();
  form.addEventListener("submit", function () {
    if (field) { field.value = method() === "drawn" && drawn ? canvas.toDataURL("image/png") : ""; }
  });
}());
