// Live "try it" box on the routing rules pages: classify as the admin types (no inline script: CSP).
(function () {
  "use strict";
  var box = document.querySelector("[data-live-try]");
  if (!box) { return; }
  var form = box.form;
  var url = form.getAttribute("data-try-url");
  // Translated words come from the form's data-* attributes (set by the template in the page's language).
  function t(name, fallback) { return form.getAttribute("data-" + name) || fallback; }
  var timer = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function render(data) {
    var target = document.getElementById("try-result");
    target.textContent = "";
    if (data.uncertain) { target.appendChild(el("p", "warn", t("uncertain", "无法确定：") + (data.reason || t("needs-person", "需要人工判断")))); }
    var list = el("ol", "ranked");
    data.ranked.forEach(function (c) {
      var item = el("li");
      item.appendChild(el("strong", null, c.name || c.zh));
      item.appendChild(el("small", null, " " + t("score", "得分") + " " + c.score + " · " + t("confidence", "置信度") + " " +
        Math.round(c.confidence * 100) + "%"));
      item.appendChild(el("br"));
      var words = el("span", "words");
      c.matched.forEach(function (m) {
        words.appendChild(el("span", "word word-" + m.kind, m.found + (m.found !== m.word ? "→" + m.word : "")));
      });
      item.appendChild(words);
      list.appendChild(item);
    });
    target.appendChild(list);
  }

  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      fetch(url + "?text=" + encodeURIComponent(box.value), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) { render(data); } });
    }, 250);
  });
}());
