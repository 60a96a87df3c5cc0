/* The tenant's websocket (docs/websocket.md): JSON events in, JSON messages out,
   reconnecting with backoff. Shared by the chat and the tool explorer. */
(function () {
  "use strict";

  // Close codes that mean "do not try again": signed out, or no access to this tenant.
  var FINAL = { 4401: "Signed out: reload the page.", 4403: "Not allowed.", 4404: "No access to this sub-account." };

  function HubSocket(path, indicator) {
    this.path = path;
    this.indicator = indicator;
    this.handlers = {};
    this.delay = 1;
    this.ws = null;
    this.connect();
  }

  HubSocket.prototype.url = function () {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + this.path;
  };

  HubSocket.prototype.status = function (state, text) {
    if (!this.indicator) return;
    this.indicator.dataset.state = state;
    this.indicator.textContent = text;
  };

  HubSocket.prototype.connect = function () {
    var self = this;
    this.status("connecting", "Connecting…");
    var ws = (this.ws = new WebSocket(this.url()));
    ws.onopen = function () {
      self.delay = 1;
      self.status("online", "Connected");
      self.emit({ type: "socket.open" });
    };
    ws.onmessage = function (message) {
      var event;
      try {
        event = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (event && typeof event.type === "string") self.emit(event);
    };
    ws.onclose = function (closed) {
      self.emit({ type: "socket.closed", code: closed.code });
      if (FINAL[closed.code]) {
        self.status("denied", FINAL[closed.code]);
        return;
      }
      var wait = self.delay;
      self.delay = Math.min(self.delay * 2, 30);
      self.status("offline", "Offline, retrying in " + wait + " s");
      window.setTimeout(function () { self.connect(); }, wait * 1000);
    };
  };

  HubSocket.prototype.on = function (type, handler) {
    (this.handlers[type] = this.handlers[type] || []).push(handler);
    return this;
  };

  HubSocket.prototype.emit = function (event) {
    (this.handlers[event.type] || []).concat(this.handlers["*"] || []).forEach(function (handler) {
      handler(event);
    });
  };

  HubSocket.prototype.send = function (message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  };

  HubSocket.prototype.isOpen = function () {
    return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
  };

  /* Helpers both pages use. Text from the model or a tool only ever goes in through
     textContent; the one HTML the pages insert is the server's sanitised Markdown. */
  function resultText(content) {
    return (content || []).map(function (block) {
      if (block.type === "text") return block.text;
      if (block.type === "image" || block.type === "audio") return "[" + block.type + ": " + (block.mimeType || "") + "]";
      return JSON.stringify(block);
    }).join("\n");
  }

  function prettyResult(text) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (error) {
      return text;
    }
  }

  function durationLabel(ms) {
    if (typeof ms !== "number") return "";
    return ms < 1000 ? ms + " ms" : (ms / 1000).toFixed(1) + " s";
  }

  window.Hub = { Socket: HubSocket, resultText: resultText, prettyResult: prettyResult, durationLabel: durationLabel };
})();
