/* The chat page: sends chat.send / chat.stop, renders chat.* and tool.* events
   (docs/websocket.md, "Chat"). */
(function () {
  "use strict";

  var root = document.querySelector("[data-chat]");
  if (!root) return;

  var transcript = root.querySelector("[data-transcript]");
  var scroller = root.querySelector(".transcript");
  var form = root.querySelector("[data-composer]");
  var input = root.querySelector("[data-input]");
  var sendButton = root.querySelector("[data-send]");
  var stopButton = root.querySelector("[data-stop]");
  var titleElement = root.querySelector("[data-chat-title]");
  var conversation = root.dataset.conversation ? Number(root.dataset.conversation) : null;
  var active = root.dataset.active === "1";
  var running = false;
  var turn = null;       // the assistant turn being written
  var streaming = null;  // its text block still receiving deltas
  var sent = null;       // the message of that turn: its text and its bubble

  setUpPage();
  if (!active) return;

  var socket = new window.Hub.Socket(root.dataset.socket, root.querySelector("[data-connection]"));
  socket.on("chat.started", onStarted);
  socket.on("chat.delta", onDelta);
  socket.on("chat.text", onText);
  socket.on("tool.started", onToolStarted);
  socket.on("tool.progress", onToolProgress);
  socket.on("tool.result", onToolResult);
  socket.on("tool.error", onToolError);
  socket.on("tool.approval", onApproval);
  socket.on("tool.approval.decided", onApprovalDecided);
  socket.on("chat.done", onDone);
  socket.on("chat.error", onChatError);
  socket.on("error", onProtocolError);
  socket.on("socket.closed", function () {
    if (running) finish("The connection dropped; the answer may be incomplete.", true);
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  input.addEventListener("input", grow);
  stopButton.addEventListener("click", function () {
    socket.send({ type: "chat.stop", conversation: conversation });
  });
  root.querySelectorAll("[data-suggest]").forEach(function (chip) {
    chip.addEventListener("click", function () {
      input.value = chip.textContent;
      grow();
      input.focus();
    });
  });
  transcript.addEventListener("click", function (event) {
    var button = event.target.closest(".approval button[data-decision]");
    if (!button) return;
    var box = button.closest(".approval");
    var sentOk = socket.send({
      type: "tool.approve",
      conversation: conversation,
      id: box.dataset.approvalFor,
      decision: button.dataset.decision,
    });
    if (!sentOk) {
      flash("Not connected yet; try again in a moment.");
      return;
    }
    box.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    box.querySelector(".approval-outcome").textContent = "Sending your answer…";
  });
  scrollToEnd(true);

  // --- sending ---

  function send() {
    var text = input.value.trim();
    if (!text || running) return;
    if (!socket.send({ type: "chat.send", conversation: conversation, text: text })) {
      flash("Not connected yet; try again in a moment.");
      return;
    }
    removeEmptyState();
    sent = { text: text, node: appendUserTurn(text) };
    input.value = "";
    grow();
    turn = appendAssistantTurn();
    setRunning(true);
    scrollToEnd(true);
  }

  function setRunning(on) {
    running = on;
    sendButton.hidden = on;
    stopButton.hidden = !on;
    root.classList.toggle("is-running", on);
    if (!on) input.focus();
  }

  // --- events ---

  function mine(event) {
    return event.conversation === conversation || (conversation === null && event.conversation == null);
  }

  function onStarted(event) {
    if (conversation !== null) return;
    conversation = event.conversation;
    root.dataset.conversation = String(conversation);
    titleElement.textContent = event.title;
    document.title = event.title + document.title.slice(document.title.indexOf(" · "));
    if (event.url) window.history.replaceState(null, "", event.url);
    addToSidebar(event);
  }

  function onDelta(event) {
    if (!mine(event) || !turn) return;
    if (!streaming) {
      streaming = document.createElement("div");
      streaming.className = "md streaming";
      parts().appendChild(streaming);
    }
    streaming.textContent += event.text;
    scrollToEnd(false);
  }

  function onText(event) {
    if (!mine(event) || !turn) return;
    var block = streaming || parts().appendChild(document.createElement("div"));
    block.className = "md";
    // Sanitised on the server (markdown-it without raw HTML, then nh3).
    block.innerHTML = event.html;
    streaming = null;
    scrollToEnd(false);
  }

  function onToolStarted(event) {
    if (!mine(event) || !turn) return;
    streaming = null;
    var card = document.getElementById("tpl-tool-card").content.firstElementChild.cloneNode(true);
    card.dataset.callId = event.id;
    card.dataset.state = "running";
    card.querySelector(".tool-name").textContent = event.name;
    card.querySelector(".tool-state").textContent = "Running…";
    var args = event.arguments;
    card.querySelector(".tool-args").textContent = typeof args === "string" ? args : JSON.stringify(args, null, 2);
    card.querySelector(".tool-result").textContent = "";
    parts().appendChild(card);
    scrollToEnd(false);
  }

  function cardFor(event) {
    if (!mine(event) || !turn) return null;
    return turn.querySelector('.tool-card[data-call-id="' + CSS.escape(String(event.id)) + '"]');
  }

  function onToolProgress(event) {
    var card = cardFor(event);
    if (!card) return;
    var label = event.message || (event.total ? Math.round((100 * event.progress) / event.total) + " %" : "Working…");
    card.querySelector(".tool-state").textContent = label;
  }

  function onToolResult(event) {
    var card = cardFor(event);
    if (!card) return;
    setCard(card, event.isError ? "error" : "done", event.isError ? "Error" : "Done", event.duration_ms);
    card.querySelector(".tool-result").textContent = window.Hub.prettyResult(window.Hub.resultText(event.content));
  }

  function onToolError(event) {
    var card = cardFor(event);
    if (!card) return;
    var declined = event.code === "declined";
    setCard(card, declined ? "declined" : "error", declined ? "Declined" : "Error", event.duration_ms);
    card.querySelector(".tool-result").textContent = event.message + " (" + event.code + ")";
  }

  // A risky call waits for a person: a card of its own, with Approve and Reject.
  function onApproval(event) {
    var card = cardFor(event);
    if (!card) return;
    card.dataset.state = "waiting";
    card.querySelector(".tool-state").textContent = "Waiting for approval";
    var box = document.getElementById("tpl-approval").content.firstElementChild.cloneNode(true);
    box.dataset.approvalFor = event.id;
    box.dataset.risk = event.risk;
    var risk = box.querySelector(".risk");
    risk.className = "risk risk-" + event.risk;
    risk.textContent = event.risk;
    box.querySelector(".approval-title").textContent = "Waiting for your approval";
    box.querySelector(".approval-summary").textContent = event.summary;
    box.querySelector(".approval-outcome").textContent = "";
    card.after(box);
    box.querySelector('button[data-decision="approve"]').focus();
    scrollToEnd(true);
  }

  var DECISIONS = {
    approved: "Approved",
    declined: "Declined",
    timeout: "No answer in time: declined",
    stopped: "Stopped before an answer: declined",
  };

  function onApprovalDecided(event) {
    if (!mine(event)) return;
    var box = transcript.querySelector('.approval[data-approval-for="' + CSS.escape(String(event.id)) + '"]');
    if (!box) return;
    box.dataset.decision = event.decision;
    box.querySelector(".approval-title").textContent = "Asked for your approval";
    var outcome = DECISIONS[event.decision] || event.decision;
    box.querySelector(".approval-outcome").textContent = outcome + (event.by ? " by " + event.by : "");
    var card = cardFor(event);
    if (card && event.decision === "approved") {
      card.dataset.state = "running";
      card.querySelector(".tool-state").textContent = "Running…";
    }
  }

  function setCard(card, state, label, ms) {
    card.dataset.state = state;
    card.querySelector(".tool-state").textContent = label;
    card.querySelector(".tool-time").textContent = window.Hub.durationLabel(ms);
  }

  function onDone(event) {
    if (!mine(event)) return;
    finish(event.stopped ? "Stopped." : "", false);
  }

  function onChatError(event) {
    if (!mine(event)) return;
    if (event.code === "conversation_busy") takeBack();
    if (!turn) turn = appendAssistantTurn();
    finish(event.message, true);
  }

  // Another window's reply is being written: the message was not stored, so it goes back
  // to the composer, to be sent again once that reply is done.
  function takeBack() {
    if (!sent) return;
    sent.node.remove();
    if (!input.value) {
      input.value = sent.text;
      grow();
    }
  }

  function onProtocolError(event) {
    flash(event.message || "The server did not understand that.");
    if (running && !event.id) finish("", false);
  }

  function finish(notice, isError) {
    if (turn) {
      turn.querySelectorAll('.tool-card[data-state="running"], .tool-card[data-state="waiting"]').forEach(function (card) {
        setCard(card, "cancelled", "Cancelled");
      });
      if (streaming) streaming.classList.remove("streaming");
      if (notice) {
        var note = document.createElement("p");
        note.className = isError ? "notice notice-error" : "notice";
        if (isError) note.setAttribute("role", "alert");
        note.textContent = notice;
        parts().appendChild(note);
      }
      if (!parts().children.length) turn.remove();
    }
    turn = null;
    streaming = null;
    sent = null;
    setRunning(false);
    scrollToEnd(false);
  }

  // --- building the page ---

  function parts() {
    return turn.querySelector(".parts");
  }

  function appendUserTurn(text) {
    var node = document.getElementById("tpl-user-turn").content.firstElementChild.cloneNode(true);
    node.querySelector(".bubble").textContent = text;
    transcript.appendChild(node);
    return node;
  }

  function appendAssistantTurn() {
    var node = document.getElementById("tpl-assistant-turn").content.firstElementChild.cloneNode(true);
    transcript.appendChild(node);
    return node;
  }

  function addToSidebar(event) {
    var list = document.querySelector("[data-conversation-list]");
    if (!list) return;
    var empty = list.querySelector("[data-empty-list]");
    if (empty) empty.remove();
    list.querySelectorAll("li.active").forEach(function (li) { li.classList.remove("active"); });
    var item = document.createElement("li");
    item.className = "active";
    var link = document.createElement("a");
    link.href = event.url;
    link.setAttribute("aria-current", "page");
    var title = document.createElement("span");
    title.className = "title";
    title.textContent = event.title;
    var when = document.createElement("time");
    when.textContent = "just now";
    link.append(title, when);
    item.appendChild(link);
    list.prepend(item);
  }

  function removeEmptyState() {
    var empty = transcript.querySelector("[data-empty-state]");
    if (empty) empty.remove();
  }

  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 240) + "px";
  }

  function scrollToEnd(force) {
    var nearEnd = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
    if (force || nearEnd) scroller.scrollTop = scroller.scrollHeight;
  }

  function flash(text) {
    var note = document.createElement("p");
    note.className = "toast";
    note.setAttribute("role", "status");
    note.textContent = text;
    document.body.appendChild(note);
    window.setTimeout(function () { note.remove(); }, 4000);
  }

  function setUpPage() {
    var toggle = document.querySelector("[data-sidebar-toggle]");
    var sidebar = document.getElementById("sidebar");
    if (toggle && sidebar) {
      toggle.addEventListener("click", function () {
        var open = !document.body.classList.contains("sidebar-open");
        document.body.classList.toggle("sidebar-open", open);
        toggle.setAttribute("aria-expanded", String(open));
        if (open) sidebar.querySelector("a").focus();
      });
    }
    document.querySelectorAll("form[data-confirm]").forEach(function (confirmForm) {
      confirmForm.addEventListener("submit", function (event) {
        if (!window.confirm(confirmForm.dataset.confirm)) event.preventDefault();
      });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        document.querySelectorAll("details.menu[open], details.switcher[open]").forEach(function (menu) {
          menu.removeAttribute("open");
        });
        if (document.body.classList.contains("sidebar-open")) {
          document.body.classList.remove("sidebar-open");
          if (toggle) {
            toggle.setAttribute("aria-expanded", "false");
            toggle.focus();
          }
        }
      }
    });
  }
})();
