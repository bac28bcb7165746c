// The session room: chat in the joint room and caucuses, offers, placements, evidence, over Socket.IO (/room).
// During an arbitration hearing the same page is the hearing room: one room, the arbitrator hosts it.
// Everything the server sends is put into the page with textContent: never as HTML.
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root || typeof io === "undefined") { return; }
  var S = JSON.parse(root.dataset.strings);
  var caseId = Number(root.dataset.caseId), myId = Number(root.dataset.userId), mySide = root.dataset.side;
  var isHost = root.dataset.host === "true";  // the mediator, or the arbitrator hosting a hearing
  var state = {rooms: [], active: null, current: null, seen: {}, offers: {}, participants: [], online: {}, lastId: 0,
               jointClosed: false, open: root.dataset.open === "true"};
  var listeners = {};
  var $ = function (id) { return document.getElementById(id); };
  var el = function (tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = text; }
    return n;
  };

  // websocket first; long-polling when a proxy or firewall blocks websockets.
  var socket = io("/room", {auth: {case_id: caseId}, transports: ["websocket", "polling"], tryAllTransports: true,
                            reconnectionDelay: 500, reconnectionDelayMax: 4000});
  var room = {socket: socket, state: state, strings: S, myId: myId, mySide: mySide, isHost: isHost,
              on: function (name, fn) { (listeners[name] = listeners[name] || []).push(fn); }};
  window.JiefenRoom = room;
  function fire(name, arg) { (listeners[name] || []).forEach(function (fn) { fn(arg); }); }

  function setConn(text, cls) { var c = $("conn"); c.textContent = text; c.className = "conn " + (cls || ""); root.dataset.conn = cls || ""; }
  socket.on("connect", function () {
    var polling = socket.io.engine && socket.io.engine.transport && socket.io.engine.transport.name === "polling";
    setConn(polling ? S.polling : S.connected, "ok");
  });
  socket.on("disconnect", function () { setConn(S.reconnecting, "down"); });
  socket.on("connect_error", function () {
    setConn(socket.active ? S.reconnecting : S.refused, socket.active ? "down" : "refused");
  });
  socket.io.on("reconnect_attempt", function () { setConn(S.reconnecting, "down"); });

  // --- rooms, tabs and messages ------------------------------------------------------------------
  function paneId(r) { return "pane-" + r; }
  function buildRooms(rooms) {
    var tabs = $("tabs"), panes = $("panes");
    rooms.forEach(function (r) {
      if (!$(paneId(r.id))) {
        var tab = el("button", "tab", r.label);
        tab.type = "button"; tab.dataset.room = r.id; tab.setAttribute("role", "tab");
        tab.appendChild(el("span", "badge", ""));
        tab.addEventListener("click", function () { activate(r.id); });
        tabs.appendChild(tab);
        var pane = el("ol", "messages"); pane.id = paneId(r.id); pane.dataset.room = r.id; pane.hidden = true;
        pane.setAttribute("aria-live", "polite");
        panes.appendChild(pane);
      }
    });
    state.rooms = rooms;
  }
  function activate(r) {
    state.active = r;
    Array.prototype.forEach.call($("tabs").children, function (t) {
      var on = t.dataset.room === r;
      t.classList.toggle("active", on); t.setAttribute("aria-selected", on ? "true" : "false");
      if (on) { t.querySelector(".badge").textContent = ""; }
    });
    Array.prototype.forEach.call($("panes").children, function (p) { p.hidden = p.dataset.room !== r; });
    var pane = $(paneId(r)); if (pane) { pane.scrollTop = pane.scrollHeight; }
  }
  function timeOf(iso) {
    try { return new Date(iso).toLocaleTimeString("zh-CN", {hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai"}); }
    catch (e) { return ""; }
  }
  function addMessage(m) {
    if (state.seen[m.id]) { return; }
    state.seen[m.id] = true;
    state.lastId = Math.max(state.lastId, m.id);
    var pane = $(paneId(m.room)); if (!pane) { return; }
    var li = el("li", "msg " + m.kind + (m.sender_id === myId ? " mine" : ""));
    li.dataset.id = m.id;
    var meta = el("span", "meta", (m.sender_id === myId ? S.you : m.sender) + " · " + timeOf(m.at));
    li.appendChild(meta);
    li.appendChild(el("span", "body", m.body));
    pane.appendChild(li);
    pane.scrollTop = pane.scrollHeight;
    if (m.room !== state.active) {
      var tab = document.querySelector('#tabs [data-room="' + m.room + '"] .badge');
      if (tab) { tab.textContent = String((Number(tab.textContent) || 0) + 1); }
    }
  }
  function showPlacement() {
    var p = $("placement");
    if (isHost || !state.current) { p.hidden = true; return; }
    var label = (state.rooms.filter(function (r) { return r.id === state.current; })[0] || {}).label || state.current;
    p.textContent = S.your_room + label; p.hidden = false;
  }

  socket.on("state", function (s) {
    state.current = s.current_room; state.participants = s.participants; state.jointClosed = s.joint_closed;
    state.open = s.open; root.dataset.pid = s.pid;
    buildRooms(s.rooms);
    s.history.forEach(addMessage);   // a reconnect sends the whole history again: ids already shown are skipped
    s.offers.forEach(upsertOffer);
    $("joint-closed").hidden = !s.joint_closed;
    activate(state.active || s.current_room || "joint");
    showPlacement(); renderPlacements();
    root.dataset.ready = "true";
    fire("state", s);
  });
  socket.on("chat", addMessage);
  socket.on("presence", function (p) { state.online[p.user_id] = p.online; renderPlacements(); });
  socket.on("placement", function (p) {
    state.participants.forEach(function (q) { if (q.user_id === p.user_id) { q.room = p.room; } });
    if (p.user_id === myId) { state.current = p.room; activate(p.room); showPlacement(); }
    renderPlacements();
  });
  socket.on("joint_closed", function (p) {
    state.jointClosed = true; $("joint-closed").hidden = false;
    if (!isHost) { state.current = p.room; activate(p.room); showPlacement(); }
    fire("joint_closed", p);
  });

  var composer = $("composer"), pending = null;
  if (composer) {
    composer.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = $("body"), text = body.value.trim(), err = $("body-error");
      err.textContent = "";
      if (!text) { return; }
      if (!pending || pending.text !== text) { pending = {text: text, id: newId()}; }
      var room = isHost ? state.active : state.current;
      socket.timeout(8000).emit("send", {room: room, body: text, client_id: pending.id}, function (timeout, ack) {
        if (timeout) { err.textContent = S.send_failed; return; }
        if (!ack.ok) { err.textContent = ack.error; return; }
        addMessage(ack.message); pending = null; body.value = "";
      });
    });
    $("body").addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { composer.requestSubmit(); }
    });
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // --- offers ------------------------------------------------------------------------------------
  function canAnswer(o) {
    return state.open && o.status === "open" && (mySide === "applicant" || mySide === "respondent") && o.side !== mySide;
  }
  function upsertOffer(o) {
    state.offers[o.id] = o;
    var li = document.querySelector('#offers [data-offer-id="' + o.id + '"]');
    if (!li) { li = el("li", "offer"); li.dataset.offerId = o.id; $("offers").appendChild(li); }
    li.textContent = ""; li.dataset.status = o.status;
    var roomLabel = (state.rooms.filter(function (r) { return r.id === o.room; })[0] || {}).label || "";
    li.appendChild(el("span", "meta", "#" + o.id + " · " + o.side_label + (o.room !== "joint" ? " · " + roomLabel : "")));
    li.appendChild(el("span", "body", o.text));
    li.appendChild(el("strong", "status status-" + o.status, o.status_label));
    var answers = [];
    ["applicant", "respondent"].forEach(function (side) {
      if (o.answers[side]) { answers.push(S[side] + (o.answers[side] === "accept" ? S.accepted_by : S.rejected_by)); }
    });
    if (answers.length) { li.appendChild(el("span", "answers", answers.join(S.sep))); }
    var buttons = el("span", "offer-actions");
    if (canAnswer(o)) {
      buttons.appendChild(button(S.accept, "primary accept", function () { answer(o.id, "accept"); }));
      buttons.appendChild(button(S.reject, "reject", function () { answer(o.id, "reject"); }));
    }
    if (state.open && o.status === "open" && o.made_by_id === myId) {
      buttons.appendChild(button(S.withdraw, "link", function () { socket.emit("withdraw", {offer_id: o.id}, showAck); }));
    }
    if (state.open && o.status === "open" && o.made_by_id !== myId) {
      buttons.appendChild(button(S.counter, "link", function () { counter(o); }));
    }
    li.appendChild(buttons);
    var err = el("span", "error"); err.setAttribute("role", "alert"); li.appendChild(err);
    fire("offer", o);
  }
  function button(text, cls, fn) { var b = el("button", cls, text); b.type = "button"; b.addEventListener("click", fn); return b; }
  function answer(id, a) {
    socket.emit("respond", {offer_id: id, answer: a}, function (ack) {
      var err = document.querySelector('#offers [data-offer-id="' + id + '"] .error');
      if (!ack.ok && err) { err.textContent = ack.error; }
      if (ack.ok) { upsertOffer(ack.offer); }
    });
  }
  function showAck(ack) { if (ack && ack.ok && ack.offer) { upsertOffer(ack.offer); } }
  function counter(o) {
    $("offer-details").open = true; $("replaces_id").value = o.id;
    var note = $("replaces-note"); note.textContent = S.counter_of + o.id; note.hidden = false;
    $("amount").focus();
  }
  socket.on("offer", upsertOffer);
  var offerForm = $("offer-form");
  if (offerForm) {
    offerForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      offerForm.querySelectorAll(".error").forEach(function (e) { e.textContent = ""; });
      var data = {amount: $("amount").value, instalments: $("instalments").value, pay_by: $("pay_by").value,
                  apology: $("apology").checked, other_terms: $("other_terms").value, replaces_id: $("replaces_id").value,
                  room: isHost ? state.active : state.current};
      socket.timeout(8000).emit("offer", data, function (timeout, ack) {
        if (timeout) { offerForm.querySelector('[data-field="amount"]').textContent = S.send_failed; return; }
        if (!ack.ok) {
          var slot = offerForm.querySelector('[data-field="' + (ack.field || "amount") + '"]') ||
                     offerForm.querySelector('[data-field="amount"]');
          slot.textContent = ack.error; return;
        }
        upsertOffer(ack.offer); offerForm.reset(); $("replaces_id").value = ""; $("replaces-note").hidden = true;
        $("offer-details").open = false;
      });
    });
  }

  // --- the mediator's tools -----------------------------------------------------------------------
  function renderPlacements() {
    var list = $("placements"); if (!list) { return; }
    list.textContent = "";
    state.participants.forEach(function (p) {
      if (p.side === "mediator" || p.side === "arbitrator") { return; }
      var li = el("li", "placement-row"); li.dataset.userId = p.user_id;
      li.appendChild(el("span", "who", p.label + " · " + (p.room === "joint" ? S.in_joint : S.in_caucus) +
                        (state.online[p.user_id] ? " · " + S.online : "")));
      if (p.room === "joint") {
        li.appendChild(button(S.move_caucus, "move-caucus", function () { move(p.user_id, "caucus-" + p.user_id); }));
      } else if (!state.jointClosed) {
        li.appendChild(button(S.move_joint, "move-joint", function () { move(p.user_id, "joint"); }));
      }
      list.appendChild(li);
    });
  }
  function move(userId, r) { socket.emit("move", {user_id: userId, room: r}, function () {}); }
  var flagForm = $("flag-form");
  if (flagForm) {
    flagForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var err = flagForm.querySelector('[data-field="kind"]'); err.textContent = "";
      socket.emit("flag", {kind: $("flag-kind").value, note: $("flag-note").value}, function (ack) {
        if (!ack.ok) { err.textContent = ack.error; return; }
        state.jointClosed = true; $("joint-closed").hidden = false; renderPlacements();
      });
    });
  }

  // --- evidence viewer ----------------------------------------------------------------------------
  function showEvidence(id, by) {
    var link = document.querySelector('.evidence-link[data-evidence-id="' + id + '"]'); if (!link) { return; }
    var fig = $("evidence-view");
    if (link.dataset.image === "true") { $("evidence-img").src = link.href; $("evidence-img").alt = link.textContent; }
    else { $("evidence-img").removeAttribute("src"); }
    $("evidence-caption").textContent = (by ? by + " " + S.shown : "") + link.textContent;
    fig.hidden = false;
  }
  document.querySelectorAll(".evidence-link").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      if (a.dataset.image === "true") { ev.preventDefault(); showEvidence(a.dataset.evidenceId); }
    });
  });
  document.querySelectorAll(".show-evidence").forEach(function (b) {
    b.addEventListener("click", function () {
      socket.emit("show", {evidence_id: Number(b.dataset.evidenceId),
                           room: isHost ? state.active : state.current}, function () {});
    });
  });
  socket.on("show", function (s) { showEvidence(s.evidence_id, s.by); });
})();
