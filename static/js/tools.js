/* The tool explorer: each form becomes a tools.call over the tenant's websocket,
   answered by tool.started / tool.progress / tool.result / tool.error under its id. */
(function () {
  "use strict";

  var root = document.querySelector("[data-explorer]");
  if (!root) return;

  setUpFilter();
  var active = root.dataset.active === "1";
  var socket = new window.Hub.Socket(root.dataset.socket, root.querySelector("[data-connection]"));
  var calls = {};  // call id -> {form, started}
  var counter = 0;

  var dialog = root.querySelector("[data-confirm-dialog]");

  root.querySelectorAll("[data-tool-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!active || form.dataset.callId) return;
      var args = collect(form);
      if (!args) return;
      if (form.hasAttribute("data-confirm-run")) confirmThen(form, args);
      else run(form, args);
    });
    form.querySelector("[data-cancel]").addEventListener("click", function () {
      if (form.dataset.callId) socket.send({ type: "call.cancel", id: form.dataset.callId });
    });
  });

  socket.on("tool.started", function (event) {
    var call = calls[event.id];
    if (call) status(call.form, "Running…");
  });
  socket.on("tool.progress", function (event) {
    var call = calls[event.id];
    if (call) status(call.form, event.message || "Working…");
  });
  socket.on("tool.result", function (event) {
    var text = window.Hub.prettyResult(window.Hub.resultText(event.content));
    done(event.id, event.isError ? "error" : "done", text, event.isError ? "The tool reported an error." : "Done.");
  });
  socket.on("tool.error", function (event) {
    var detail = (event.errors || []).join("\n");
    done(event.id, "error", event.message + (detail ? "\n\n" + detail : ""), "Failed (" + event.code + ").");
  });
  socket.on("error", function (event) {
    if (event.id !== undefined) done(event.id, "error", event.message, "Refused (" + event.code + ").");
  });
  socket.on("socket.closed", function () {
    Object.keys(calls).forEach(function (id) {
      done(id, "error", "The connection dropped before the result arrived.", "Interrupted.");
    });
  });

  // A destructive or outbound tool runs only once the person has confirmed, the record named.
  function confirmThen(form, args) {
    var risk = form.dataset.risk;
    dialog.querySelector("[data-confirm-text]").textContent = summary(form.dataset.toolForm, args) + "?";
    dialog.querySelector("[data-confirm-risk]").textContent = risk === "outbound"
      ? "This reaches a customer and cannot be taken back."
      : "This cannot be undone.";
    dialog.returnValue = "";
    dialog.onclose = function () {
      if (dialog.returnValue === "run") run(form, args);
      else status(form, "Not run.");
    };
    dialog.showModal();
  }

  function summary(name, args) {
    var words = name.replace(/[._]/g, " ").trim();
    var sentence = words.charAt(0).toUpperCase() + words.slice(1);
    var record = null;
    Object.keys(args).some(function (key) {
      if (/(^|_)id$|Id$/.test(key) && (typeof args[key] === "string" || typeof args[key] === "number")) {
        record = String(args[key]);
        return true;
      }
      return false;
    });
    if (record) return sentence + " " + record;
    var to = ["to", "phone", "email"].map(function (key) { return args[key]; }).filter(Boolean);
    return to.length ? sentence + " to " + to.join(", ") : sentence;
  }

  function run(form, args) {
    var id = "explorer-" + ++counter;
    if (!socket.send({ type: "tools.call", id: id, name: form.dataset.toolForm, arguments: args })) {
      status(form, "Not connected yet; try again in a moment.");
      return;
    }
    calls[id] = { form: form, started: performance.now() };
    form.dataset.callId = id;
    form.querySelector("[data-run]").disabled = true;
    form.querySelector("[data-cancel]").hidden = false;
    status(form, "Sent…");
  }

  function done(id, state, text, label) {
    var call = calls[id];
    if (!call) return;
    delete calls[id];
    var form = call.form;
    delete form.dataset.callId;
    form.querySelector("[data-run]").disabled = false;
    form.querySelector("[data-cancel]").hidden = true;
    var output = form.querySelector("[data-output]");
    output.hidden = false;
    output.dataset.state = state;
    form.querySelector("[data-result]").textContent = text;
    form.querySelector("[data-duration]").textContent = window.Hub.durationLabel(Math.round(performance.now() - call.started));
    status(form, label);
  }

  function status(form, text) {
    form.querySelector("[data-status]").textContent = text;
  }

  // --- reading a form back into arguments ---

  function collect(form) {
    var args = {};
    var ok = true;
    form.querySelectorAll("[data-field]").forEach(function (field) {
      var error = field.querySelector("[data-error]");
      error.hidden = true;
      var control = field.querySelector("input, select, textarea");
      control.removeAttribute("aria-invalid");
      try {
        var value = read(field, control.value);
        if (value === undefined) {
          if (field.hasAttribute("data-required")) throw new Error("Required.");
          return;
        }
        args[field.dataset.field] = value;
      } catch (problem) {
        ok = false;
        error.textContent = problem.message;
        error.hidden = false;
        control.setAttribute("aria-invalid", "true");
        error.id = error.id || control.id + "-error";
        control.setAttribute("aria-errormessage", error.id);
      }
    });
    if (!ok) {
      var first = form.querySelector('[aria-invalid="true"]');
      if (first) first.focus();
      return null;
    }
    return args;
  }

  function scalar(kind, raw) {
    if (kind === "integer" || kind === "number") {
      var number = Number(raw);
      if (raw.trim() === "" || Number.isNaN(number)) throw new Error("Enter a number.");
      if (kind === "integer" && !Number.isInteger(number)) throw new Error("Enter a whole number.");
      return number;
    }
    return raw;
  }

  function read(field, raw) {
    var widget = field.dataset.widget;
    var kind = field.dataset.kind;
    if (raw.trim() === "") return undefined;
    if (widget === "boolean") return raw === "true";
    if (widget === "number" || widget === "select") return scalar(kind, raw);
    if (widget === "list") {
      return raw.split("\n").map(function (line) { return line.trim(); })
        .filter(Boolean).map(function (item) { return scalar(kind, item); });
    }
    if (widget === "json") {
      try {
        return JSON.parse(raw);
      } catch (problem) {
        throw new Error("Enter valid JSON.");
      }
    }
    return raw;
  }

  function setUpFilter() {
    var filter = root.querySelector("[data-tool-filter]");
    var count = root.querySelector("[data-filter-count]");
    if (!filter) return;
    filter.addEventListener("input", function () {
      var words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      root.querySelectorAll("[data-tool]").forEach(function (tool) {
        var match = words.every(function (word) { return tool.dataset.search.indexOf(word) !== -1; });
        tool.hidden = !match;
        if (match) shown += 1;
      });
      count.textContent = words.length ? shown + " shown" : "";
    });
  }
})();
