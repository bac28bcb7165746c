// Audio and video between two people in the room over WebRTC, signalled through the room's Socket.IO channel
// ("signal" events, relayed by the server to one participant). ICE/TURN servers come from the server's state.
(function () {
  "use strict";
  var card = document.getElementById("video-card");
  if (!card) { return; }
  var pc = null, peer = null, local = null, iceServers = [], queued = [];
  var $ = function (id) { return document.getElementById(id); };

  function whenReady(fn) {
    if (window.JiefenRoom) { fn(window.JiefenRoom); return; }
    document.addEventListener("DOMContentLoaded", function () { if (window.JiefenRoom) { fn(window.JiefenRoom); } });
  }
  whenReady(function (room) {
    var S = room.strings, socket = room.socket;
    function status(text, st) { $("call-status").textContent = text; card.dataset.callState = st || ""; }

    function peers() {
      return room.state.participants.filter(function (p) {
        if (p.user_id === room.myId) { return false; }
        if (room.isHost || p.side === "mediator" || p.side === "arbitrator") { return true; }
        return !room.state.jointClosed;   // two parties only while the joint room is open
      });
    }
    function renderButtons() {
      var box = $("call-buttons"); box.textContent = "";
      if (!room.state.open) { return; }
      peers().forEach(function (p) {
        var b = document.createElement("button");
        b.type = "button"; b.className = "call"; b.dataset.userId = p.user_id;
        b.textContent = S.call_to.replace("{who}", p.label);
        b.addEventListener("click", function () { call(p.user_id); });
        box.appendChild(b);
      });
    }
    room.on("state", function (s) { iceServers = s.ice_servers || []; renderButtons(); });
    room.on("joint_closed", renderButtons);

    function send(to, data) { socket.emit("signal", {to: to, data: data}, function () {}); }
    function media() {
      if (local) { return Promise.resolve(local); }
      return navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 360}}).then(function (s) {
        local = s; $("local-video").srcObject = s; return s;
      });
    }
    function connection(to) {
      peer = to;
      pc = new RTCPeerConnection({iceServers: iceServers});
      pc.onicecandidate = function (ev) { if (ev.candidate) { send(to, {type: "candidate", candidate: ev.candidate.toJSON()}); } };
      pc.ontrack = function (ev) { $("remote-video").srcObject = ev.streams[0]; };
      pc.onconnectionstatechange = function () {
        var st = pc ? pc.connectionState : "closed";
        status(st === "connected" ? S.in_call : st, st);
        if (st === "failed" || st === "closed") { hangUp(false); }
      };
      $("hang-up").hidden = false;
      return pc;
    }
    function fail(err) { status(S.call_failed + (err && err.name ? err.name : err), "failed"); hangUp(true); }
    function call(to) {
      status(S.calling, "calling");
      media().then(function (s) {
        var c = connection(to);
        s.getTracks().forEach(function (t) { c.addTrack(t, s); });
        return c.createOffer();
      }).then(function (offer) { return pc.setLocalDescription(offer); })
        .then(function () { send(to, {type: "offer", sdp: pc.localDescription.sdp}); })
        .catch(fail);
    }
    function answer(from, sdp) {
      media().then(function (s) {
        var c = connection(from);
        s.getTracks().forEach(function (t) { c.addTrack(t, s); });
        return c.setRemoteDescription({type: "offer", sdp: sdp});
      }).then(flush).then(function () { return pc.createAnswer(); })
        .then(function (a) { return pc.setLocalDescription(a); })
        .then(function () { send(from, {type: "answer", sdp: pc.localDescription.sdp}); })
        .catch(fail);
    }
    function flush() {
      var list = queued; queued = [];
      return Promise.all(list.map(function (c) { return pc.addIceCandidate(c); }));
    }
    function hangUp(tell) {
      if (tell && peer !== null) { send(peer, {type: "bye"}); }
      if (pc) { pc.close(); pc = null; }
      if (local) { local.getTracks().forEach(function (t) { t.stop(); }); local = null; }
      $("local-video").srcObject = null; $("remote-video").srcObject = null;
      $("hang-up").hidden = true; peer = null; queued = [];
    }
    $("hang-up").addEventListener("click", function () { hangUp(true); status("", "closed"); });

    socket.on("signal", function (msg) {
      var d = msg.data || {};
      if (d.type === "offer") {
        var who = room.state.participants.filter(function (p) { return p.user_id === msg.from; })[0];
        status(S.incoming + (who ? who.label : ""), "ringing");
        var box = $("call-buttons"), b = document.createElement("button");
        b.type = "button"; b.className = "primary accept-call"; b.textContent = S.accept + " · " + (who ? who.label : "");
        b.addEventListener("click", function () { b.remove(); answer(msg.from, d.sdp); });
        box.prepend(b);
      } else if (d.type === "answer" && pc) {
        pc.setRemoteDescription({type: "answer", sdp: d.sdp}).then(flush).catch(fail);
      } else if (d.type === "candidate") {
        if (pc && pc.remoteDescription) { pc.addIceCandidate(d.candidate).catch(function () {}); }
        else { queued.push(d.candidate); }
      } else if (d.type === "bye") {
        hangUp(false); status("", "closed");
      }
    });
  });
})();
