// The sandbox page: a small Slack-like client for the embedded workspace (sandbox/page.py).
// Plain script, no build step, no external requests. Everything shown comes from
// GET /sandbox/state (long-polled); everything done goes through POST /sandbox/*.
"use strict";

(() => {
  // ------------------------------------------------------------------ small helpers

  const $ = (selector, root = document) => root.querySelector(selector);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "html") node.innerHTML = value; // only ever built from escaped parts
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const esc = (text) => String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
  // Slack escapes exactly these three in message text.
  const SLACK_ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">" };
  const decodeSlack = (text) => String(text).replace(/&(?:amp|lt|gt);/g, (e) => SLACK_ENTITIES[e]);
  const NAMED_ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };
  const decodeEntities = (text) =>
    String(text).replace(/&(?:#(\d{1,7})|#x([0-9a-f]{1,6})|([a-z]+));/gi, (whole, dec, hex, name) => {
      if (name) return NAMED_ENTITIES[name.toLowerCase()] ?? whole;
      const code = dec ? Number(dec) : parseInt(hex, 16);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
    });
  // Control characters never matter in chat text; removing them frees \u0000/\u0001 to mark
  // stashed pieces of HTML while formatting.
  const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

  function compareTs(a, b) {
    const [aw, af = ""] = String(a).split(".");
    const [bw, bf = ""] = String(b).split(".");
    if (aw.length !== bw.length) return aw.length - bw.length;
    if (aw !== bw) return aw < bw ? -1 : 1;
    const pa = af.padEnd(9, "0");
    const pb = bf.padEnd(9, "0");
    return pa < pb ? -1 : pa > pb ? 1 : 0;
  }

  function timeOf(ts) {
    const date = new Date(Number(String(ts).split(".")[0]) * 1000);
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function sizeText(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  const EMOJI = {
    "+1": "👍", thumbsup: "👍", "-1": "👎", thumbsdown: "👎", wave: "👋", lock: "🔒",
    warning: "⚠️", x: "❌", white_check_mark: "✅", heavy_check_mark: "✔️",
    hourglass: "⌛", hourglass_flowing_sand: "⏳", alarm_clock: "⏰", paperclip: "📎",
    no_entry_sign: "🚫", no_entry: "⛔", information_source: "ℹ️", robot_face: "🤖",
    sparkles: "✨", tada: "🎉", bulb: "💡", eyes: "👀", thinking_face: "🤔", memo: "📝",
    page_facing_up: "📄", frame_with_picture: "🖼️", art: "🎨", mag: "🔍", gear: "⚙️",
    globe_with_meridians: "🌐", link: "🔗", rotating_light: "🚨", smile: "😄",
    slightly_smiling_face: "🙂", heart: "❤️", fire: "🔥", rocket: "🚀", star: "⭐",
    question: "❓", exclamation: "❗", hammer_and_wrench: "🛠️", stopwatch: "⏱️",
    speech_balloon: "💬", books: "📚", chart_with_upwards_trend: "📈", key: "🔑",
    red_circle: "🔴", large_green_circle: "🟢", large_yellow_circle: "🟡",
  };
  const emojify = (html) =>
    html.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);

  // ------------------------------------------------------------------ page state

  const ui = {
    state: null,
    version: null,
    view: { kind: "conv", id: null }, // or { kind: "home" }
    thread: null, // { channel, ts }
    lastSeen: {}, // conversation id -> latest ts the person has seen there
    feedback: new Map(), // "ts:action_id" -> chosen value
    dismissed: new Set(), // ephemeral ts the person dismissed
    modalKey: null,
    homeKey: null,
    info: {},
    stickToBottom: { main: true, thread: true },
  };

  const conversation = (id) => (ui.state ? ui.state.conversations.find((c) => c.id === id) : null);
  const threadInfo = (channel, ts) =>
    (ui.state ? ui.state.assistant_threads : []).find(
      (t) => t.channel === channel && t.thread_ts === ts,
    ) || null;
  const userName = (id) => (ui.state && ui.state.users[id]) || String(id).toLowerCase();
  const conversationName = (id) => {
    const conv = conversation(id);
    return conv ? conv.name : null;
  };

  function latestTs(conv) {
    let latest = "0";
    for (const m of conv.messages) {
      if (compareTs(m.ts, latest) > 0) latest = m.ts;
      if (m.latest_reply && compareTs(m.latest_reply, latest) > 0) latest = m.latest_reply;
    }
    return latest;
  }

  // ------------------------------------------------------------------ server calls

  async function api(path, body, form) {
    const init = { method: "POST" };
    if (form) {
      init.body = form;
    } else {
      init.headers = { "Content-Type": "application/json" };
      init.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      throw new Error("The sandbox server does not answer. Is it still running?");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (response.status === 413) throw new Error("That is too large for the sandbox (16 MB).");
    if (!response.ok || !data || data.ok === false) {
      throw new Error((data && data.error) || `The sandbox answered HTTP ${response.status}.`);
    }
    return data;
  }

  let toastTimer = null;
  function toast(message) {
    const box = $("#toast");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      box.hidden = true;
    }, 6000);
  }

  async function act(promise) {
    try {
      return await promise;
    } catch (error) {
      toast(error.message);
      return null;
    }
  }

  function setConnected(connected) {
    $("#connection").hidden = connected;
  }

  async function pollLoop() {
    for (;;) {
      const url = ui.version === null ? "/sandbox/state" : `/sandbox/state?since=${ui.version}`;
      try {
        const response = await fetch(url, { cache: "no-store" });
        if (response.status === 200) {
          applyState(await response.json());
          setConnected(true);
        } else if (response.status === 204) {
          setConnected(true);
        } else {
          setConnected(false);
          await sleep(2000);
        }
      } catch (error) {
        setConnected(false);
        await sleep(2000);
      }
    }
  }

  async function loadInfo() {
    try {
      const response = await fetch("/sandbox/info", { cache: "no-store" });
      ui.info = await response.json();
    } catch (error) {
      ui.info = {};
    }
    const labels = { model: "Model", listening: "Listening on" };
    const parts = Object.entries(ui.info).map(([key, value]) => {
      const label = labels[key] || key.charAt(0).toUpperCase() + key.slice(1).replace(/_/g, " ");
      return el("span", { class: "info-item", "data-info": key }, `${label}: `, el("b", {}, value));
    });
    $("#banner-info").replaceChildren(...parts);
  }

  // ------------------------------------------------------------------ navigation

  function parseHash() {
    const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
    if (hash === "home") return { view: { kind: "home" }, thread: null };
    const match = /^c\/([A-Z0-9]+)(?:\/t\/([0-9.]+))?$/.exec(hash);
    if (!match) return null;
    return {
      view: { kind: "conv", id: match[1] },
      thread: match[2] ? { channel: match[1], ts: match[2] } : null,
    };
  }

  function writeHash() {
    let hash = "#/home";
    if (ui.view.kind === "conv") {
      hash = `#/c/${ui.view.id}`;
      if (ui.thread && ui.thread.channel === ui.view.id) hash += `/t/${ui.thread.ts}`;
    }
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  function selectConversation(id) {
    if (ui.view.kind !== "conv" || ui.view.id !== id) {
      ui.view = { kind: "conv", id };
      if (ui.thread && ui.thread.channel !== id) ui.thread = null;
      ui.stickToBottom.main = true;
      tellContext(id);
    }
    render();
    $('[data-testid="composer"]').focus();
  }

  function openThread(channel, ts) {
    ui.view = { kind: "conv", id: channel };
    ui.thread = { channel, ts };
    ui.stickToBottom.thread = true;
    render();
    $('[data-testid="thread-composer"]').focus();
  }

  function closeThread() {
    ui.thread = null;
    render();
  }

  async function openHome() {
    ui.view = { kind: "home" };
    ui.thread = null;
    render();
    await act(api("/sandbox/home")); // app_home_opened, every time, like Slack
  }

  async function openAssistant() {
    const context = ui.view.kind === "conv" ? ui.view.id : null;
    const body = context && conversation(context)?.kind === "channel" ? { context_channel: context } : {};
    const started = await act(api("/sandbox/assistant", body));
    if (!started) return;
    // An agent app answers in its Messages tab (the DM); an older app in a panel thread.
    if (started.thread_ts) openThread(started.channel, started.thread_ts);
    else selectConversation(started.channel);
  }

  // Slack tells an agent app what the person has open beside it (app_context_changed):
  // a channel; the app's own Messages tab (the DM) is not beside it.
  function tellContext(id) {
    if (ui.state && ui.state.agent && conversation(id)?.kind === "channel") {
      api("/sandbox/context", { channel: id }).catch(() => {});
    }
  }

  const sessionOf = (channel, ts) =>
    ((ui.state && ui.state.sessions) || []).find((s) => s.channel === channel && s.thread_ts === ts) || null;

  // ------------------------------------------------------------------ rendering: shell

  function applyState(state) {
    const first = ui.state === null;
    ui.state = state;
    ui.version = state.version;
    if (first) {
      for (const conv of state.conversations) ui.lastSeen[conv.id] = latestTs(conv);
      const fromHash = parseHash();
      if (fromHash && (fromHash.view.kind === "home" || conversation(fromHash.view.id))) {
        ui.view = fromHash.view;
        ui.thread = fromHash.thread;
        if (ui.view.kind === "home") act(api("/sandbox/home"));
      } else {
        ui.view = { kind: "conv", id: state.conversations[0].id };
      }
      $("#me-name").textContent = state.me.name;
    }
    render();
  }

  function render() {
    if (!ui.state) return;
    renderSidebar();
    renderMain();
    renderThread();
    renderModal();
    writeHash();
  }

  function renderSidebar() {
    const channels = $("#nav-channels");
    const dms = $("#nav-dms");
    for (const conv of ui.state.conversations) {
      const parent = conv.kind === "dm" ? dms : channels;
      const testid = conv.kind === "dm" ? "channel-dm" : `channel-${conv.name}`;
      let button = parent.querySelector(`[data-conv="${conv.id}"]`);
      if (!button) {
        const label =
          conv.kind === "dm"
            ? [el("span", { class: "nav-icon", "aria-hidden": "true" }, "🤖"), ` ${conv.name}`, el("span", { class: "app-badge" }, "APP")]
            : [el("span", { class: "nav-icon", "aria-hidden": "true" }, "#"), ` ${conv.name}`];
        button = el(
          "button",
          { type: "button", class: "nav-item", "data-conv": conv.id, "data-testid": testid, onclick: () => selectConversation(conv.id) },
          ...label,
        );
        parent.append(button);
      }
      const active = ui.view.kind === "conv" && ui.view.id === conv.id;
      if (active) ui.lastSeen[conv.id] = latestTs(conv);
      button.classList.toggle("active", active);
      button.classList.toggle("unread", !active && compareTs(latestTs(conv), ui.lastSeen[conv.id] || "0") > 0);
      button.setAttribute("aria-current", active ? "page" : "false");
    }
    $("#nav-home").classList.toggle("active", ui.view.kind === "home");
  }

  function isNearBottom(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }

  function renderMain() {
    const messagesBox = $("#messages");
    const homeBox = $("#home");
    const composer = $("#composer-form");
    if (ui.view.kind === "home") {
      $("#conv-title").textContent = "Home";
      $("#conv-sub").textContent = `${ui.state.bot.name}: the app's Home tab`;
      messagesBox.hidden = true;
      composer.hidden = true;
      homeBox.hidden = false;
      renderHome(homeBox);
      renderTabPrompts(null);
      return;
    }
    homeBox.hidden = true;
    messagesBox.hidden = false;
    composer.hidden = false;
    ui.homeKey = null;
    renderTabPrompts(conversation(ui.view.id));
    const conv = conversation(ui.view.id);
    if (!conv) return;
    if (conv.kind === "dm") {
      $("#conv-title").replaceChildren(conv.name, el("span", { class: "app-badge" }, "APP"));
      $("#conv-sub").textContent = "Your direct messages with the assistant";
    } else {
      $("#conv-title").textContent = `# ${conv.name}`;
      $("#conv-sub").textContent = `Mention @${ui.state.bot.name} to get an answer in a thread`;
    }
    const textarea = $('[data-testid="composer"]');
    textarea.placeholder = conv.kind === "dm" ? `Message ${conv.name}` : `Message #${conv.name}`;

    const tops = new Set(conv.messages.map((m) => m.ts));
    const items = conv.messages.map((m) => ({ ts: m.ts, kind: "message", item: m }));
    for (const e of ui.state.ephemerals) {
      if (e.channel !== conv.id || ui.dismissed.has(e.ts)) continue;
      if (e.thread_ts && tops.has(e.thread_ts)) continue; // shown in its thread
      items.push({ ts: e.ts, kind: "ephemeral", item: e });
    }
    items.sort((a, b) => compareTs(a.ts, b.ts));
    const stick = ui.stickToBottom.main || isNearBottom(messagesBox);
    if (items.length === 0) {
      reconcile(messagesBox, [
        {
          key: "empty",
          sig: conv.id,
          build: () =>
            el(
              "div",
              { class: "empty", "data-testid": "empty-conversation" },
              conv.kind === "dm"
                ? "This is the start of your DM with the assistant. Write anything."
                : `This is the start of #${conv.name}. Mention @${ui.state.bot.name} to ask something.`,
            ),
        },
      ]);
    } else {
      reconcile(messagesBox, items.map((entry) => messageItem(entry, conv, "main")));
    }
    messagesBox.dataset.wasBottom = String(stick);
    if (stick) messagesBox.scrollTop = messagesBox.scrollHeight;
    ui.stickToBottom.main = false;
  }

  function messageItem(entry, conv, where) {
    const item = entry.item;
    const extra = [where, ui.state.users, ui.feedback.get(item.ts), threadInfo(conv.id, item.ts)];
    for (const [key, value] of ui.feedback) if (key.startsWith(`${item.ts}:`)) extra.push(key, value);
    return {
      key: `${entry.kind}:${item.ts}`,
      sig: JSON.stringify([item, extra]),
      build: () =>
        entry.kind === "ephemeral" ? buildEphemeral(item) : buildMessage(item, conv, where),
    };
  }

  // Keep unchanged nodes (and whatever the person is doing in them) across renders.
  function reconcile(container, items) {
    const existing = new Map();
    for (const child of Array.from(container.children)) {
      if (child.dataset.key) existing.set(child.dataset.key, child);
      else child.remove();
    }
    const nodes = items.map((item) => {
      let node = existing.get(item.key);
      existing.delete(item.key);
      if (!node || node.dataset.sig !== item.sig) {
        const fresh = item.build();
        fresh.dataset.key = item.key;
        fresh.dataset.sig = item.sig;
        if (node && node.tagName === fresh.tagName) {
          // Changed in place: the element stays, and with it the pointer's hover on it.
          for (const name of node.getAttributeNames()) {
            if (!fresh.hasAttribute(name)) node.removeAttribute(name);
          }
          for (const name of fresh.getAttributeNames()) node.setAttribute(name, fresh.getAttribute(name));
          node.replaceChildren(...fresh.childNodes);
        } else {
          if (node) node.replaceWith(fresh);
          node = fresh;
        }
      }
      return node;
    });
    for (const stale of existing.values()) stale.remove();
    nodes.forEach((node, index) => {
      if (container.children[index] !== node) container.insertBefore(node, container.children[index] || null);
    });
  }

  // ------------------------------------------------------------------ messages

  function authorLine(name, isBot, ts, extra) {
    return el(
      "div",
      { class: "meta" },
      el("span", { class: "author" }, name),
      isBot ? el("span", { class: "app-badge" }, "APP") : null,
      el("time", { class: "time", title: ts }, timeOf(ts)),
      extra,
    );
  }

  function avatar(name, isBot) {
    return el("div", { class: `avatar ${isBot ? "bot" : "person"}`, "aria-hidden": "true" }, isBot ? "🤖" : (name[0] || "?").toUpperCase());
  }

  function buildMessage(m, conv, where) {
    const isBot = m.is_bot;
    const isMe = m.user === ui.state.me.id;
    const node = el("div", {
      class: `message${isBot ? " from-bot" : ""}${isMe ? " from-me" : ""}${m.streaming ? " streaming" : ""}`,
      // The thread pane repeats the parent: a hook of its own keeps "message" unique per ts.
      "data-testid": where === "parent" ? "thread-parent" : "message",
      "data-ts": m.ts,
      "data-user": m.user,
      "data-streaming": m.streaming ? "true" : "false",
    });
    const body = el("div", { class: "body" }, authorLine(m.name, isBot, m.ts));
    const content = el("div", { class: "content", "data-testid": "message-content" });
    const panel = m.subtype === "assistant_app_thread";
    if (panel) {
      const info = threadInfo(conv.id, m.ts);
      content.append(
        el("div", { class: "assistant-root" }, "✨ Assistant chat: ", el("b", {}, (info && info.title) || "New chat")),
      );
    } else if (!isBot) {
      // People's messages carry rich_text made from their text; the text is what they typed.
      if (m.text) content.append(textNode(m.text, "mrkdwn"));
    } else if (m.format === "markdown") {
      // A streamed message: its steps, its markdown, and chat.stopStream's blocks below.
      if (m.tasks && m.tasks.length) content.append(renderTasks(m.tasks));
      if (m.text) content.append(textNode(m.text, "markdown"));
      if (m.blocks && m.blocks.length) content.append(renderBlocks(m.blocks, { kind: "message", channel: conv.id, ts: m.ts }));
    } else if (m.blocks && m.blocks.length) {
      content.append(renderBlocks(m.blocks, { kind: "message", channel: conv.id, ts: m.ts }));
    } else if (m.text) {
      content.append(textNode(m.text, "mrkdwn"));
    }
    body.append(content);
    if (m.files && m.files.length) body.append(renderFiles(m.files));
    if (m.reactions && m.reactions.length) body.append(renderReactions(m.reactions));
    if (m.streaming) body.append(el("div", { class: "typing", "data-testid": "typing" }, el("span", { class: "dots", "aria-hidden": "true" }), "typing…"));
    if (where === "main" && m.reply_count > 0) {
      body.append(
        el(
          "div",
          { class: "thread-summary" },
          el(
            "button",
            { type: "button", class: "link-button", "data-testid": "open-thread", onclick: () => openThread(conv.id, m.ts) },
            `${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}`,
          ),
          el("span", { class: "muted" }, ` Last reply ${timeOf(m.latest_reply)}`),
        ),
      );
    }
    node.append(avatar(m.name, isBot), body, messageActions(m, conv, where, panel));
    return node;
  }

  function messageActions(m, conv, where, panel) {
    const actions = el("div", { class: "message-actions" });
    if (where === "main") {
      actions.append(
        el(
          "button",
          { type: "button", class: "hover-button", "data-testid": "reply-in-thread", title: "Reply in thread", onclick: () => openThread(conv.id, m.ts) },
          panel ? "Open chat" : "Reply in thread",
        ),
      );
    }
    if (!panel && ui.state.shortcuts.length) {
      const menu = el("div", { class: "menu", role: "menu", hidden: true, "data-testid": "message-menu-items" });
      for (const shortcut of ui.state.shortcuts) {
        menu.append(
          el(
            "button",
            {
              type: "button",
              role: "menuitem",
              "data-testid": `shortcut-${shortcut.callback_id}`,
              onclick: async () => {
                menu.hidden = true;
                await act(api("/sandbox/shortcut", { channel: conv.id, ts: m.ts, callback_id: shortcut.callback_id }));
              },
            },
            `⚡ ${shortcut.name}`,
          ),
        );
      }
      const toggle = el(
        "button",
        {
          type: "button",
          class: "hover-button",
          "data-testid": "message-menu",
          title: "More actions",
          "aria-haspopup": "menu",
          onclick: (event) => {
            event.stopPropagation();
            const wasHidden = menu.hidden;
            closeMenus();
            menu.hidden = !wasHidden;
          },
        },
        "⋯",
      );
      actions.append(toggle, menu);
    }
    return actions;
  }

  function closeMenus() {
    for (const menu of document.querySelectorAll(".menu")) menu.hidden = true;
  }

  function buildEphemeral(e) {
    const node = el("div", { class: "message ephemeral from-bot", "data-testid": "ephemeral", "data-ts": e.ts });
    const marker = el("span", { class: "only-you", "data-testid": "only-visible-to-you" }, "👁 Only visible to you");
    const body = el("div", { class: "body" }, authorLine(ui.state.bot.name, true, e.ts, marker));
    const content = el("div", { class: "content", "data-testid": "message-content" });
    if (e.blocks && e.blocks.length) {
      content.append(renderBlocks(e.blocks, { kind: "ephemeral", channel: e.channel, ts: e.ts }));
    } else {
      content.append(textNode(e.text, "mrkdwn"));
    }
    body.append(content);
    body.append(
      el(
        "button",
        {
          type: "button",
          class: "link-button dismiss",
          "data-testid": "dismiss-ephemeral",
          onclick: () => {
            ui.dismissed.add(e.ts);
            render();
          },
        },
        "Dismiss",
      ),
    );
    node.append(avatar(ui.state.bot.name, true), body);
    return node;
  }

  function textNode(text, format) {
    const html = format === "markdown" ? markdownToHtml(text) : mrkdwnToHtml(text);
    return el("div", { class: `text ${format}`, html });
  }

  function fileSrc(file) {
    return file.url;
  }

  function renderFiles(files) {
    const box = el("div", { class: "files" });
    for (const file of files) {
      if (file.missing) {
        box.append(el("div", { class: "file-card missing" }, "This file was deleted."));
      } else if (file.is_image) {
        const image = el("img", { src: fileSrc(file), alt: file.alt_text || file.name, loading: "lazy", "data-testid": "file-image", "data-file-id": file.id });
        image.addEventListener("load", keepBottom);
        box.append(
          el(
            "figure",
            { class: "file-image" },
            el("a", { href: fileSrc(file), target: "_blank", rel: "noopener" }, image),
            el("figcaption", {}, file.title || file.name),
          ),
        );
      } else {
        box.append(
          el(
            "div",
            { class: "file-card", "data-testid": "file", "data-file-id": file.id },
            el("span", { class: "file-icon", "aria-hidden": "true" }, "📄"),
            el(
              "div",
              { class: "file-meta" },
              el("a", { href: fileSrc(file), target: "_blank", rel: "noopener", "data-testid": "file-link" }, file.title || file.name),
              el("span", { class: "muted" }, `${(file.filetype || "").toUpperCase()} · ${sizeText(file.size)}`),
            ),
            el("a", { class: "download", href: file.download_url, download: file.name, "data-testid": "file-download" }, "Download"),
          ),
        );
      }
    }
    return box;
  }

  // Under the message, as Slack shows them: the emoji and how many reacted with it (who,
  // on hover); the person's own are highlighted.
  function renderReactions(reactions) {
    return el(
      "div",
      { class: "reactions" },
      reactions.map((r) =>
        el(
          "span",
          {
            class: `reaction${r.users.includes(ui.state.me.id) ? " mine" : ""}`,
            "data-testid": "reaction",
            "data-name": r.name,
            title: `${r.users.map(userName).join(", ")} reacted with :${r.name}:`,
          },
          el("span", { class: "reaction-emoji", html: emojify(esc(`:${r.name}:`)) }),
          el("span", { class: "reaction-count" }, String(r.count)),
        ),
      ),
    );
  }

  function keepBottom(event) {
    const box = event.target.closest(".messages");
    if (box && box.dataset.wasBottom === "true") box.scrollTop = box.scrollHeight;
  }

  // ------------------------------------------------------------------ the thread pane

  function renderThread() {
    const pane = $("#thread-pane");
    const layout = $("#layout");
    const thread = ui.thread;
    if (!thread || ui.view.kind !== "conv") {
      pane.hidden = true;
      layout.classList.remove("with-thread");
      return;
    }
    pane.hidden = false;
    layout.classList.add("with-thread");
    pane.dataset.channel = thread.channel;
    pane.dataset.threadTs = thread.ts;
    const conv = conversation(thread.channel);
    const info = threadInfo(thread.channel, thread.ts);
    const parent = conv ? conv.messages.find((m) => m.ts === thread.ts) : null;
    $("#thread-title").textContent = (info && info.title) || (info && info.panel ? "Assistant" : "Thread");
    $("#thread-where").textContent = conv ? (conv.kind === "dm" ? conv.name : `#${conv.name}`) : "";
    const box = $("#thread-messages");
    const stick = ui.stickToBottom.thread || isNearBottom(box);
    if (!parent || !conv) {
      reconcile(box, [{ key: "loading", sig: thread.ts, build: () => el("div", { class: "empty" }, "Opening the thread…") }]);
    } else {
      const replies = conv.threads[thread.ts] || [];
      const entries = [{ ts: parent.ts, kind: "message", item: parent }];
      for (const reply of replies) entries.push({ ts: reply.ts, kind: "message", item: reply });
      for (const e of ui.state.ephemerals) {
        if (e.channel === thread.channel && e.thread_ts === thread.ts && !ui.dismissed.has(e.ts)) {
          entries.push({ ts: e.ts, kind: "ephemeral", item: e });
        }
      }
      entries.sort((a, b) => compareTs(a.ts, b.ts));
      const items = entries.map((entry) => messageItem(entry, conv, entry.item === parent ? "parent" : "thread"));
      if (replies.length) {
        const count = `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`;
        items.splice(1, 0, { key: "divider", sig: count, build: () => el("div", { class: "replies-divider" }, count) });
      }
      reconcile(box, items);
    }
    box.dataset.wasBottom = String(stick);
    if (stick) box.scrollTop = box.scrollHeight;
    ui.stickToBottom.thread = false;

    const status = $("#assistant-status");
    const session = sessionOf(thread.channel, thread.ts);
    const stop =
      session && session.status === "processing"
        ? el(
            "button",
            {
              type: "button",
              class: "stop-button",
              "data-testid": "stop",
              title: "Stop the answer",
              onclick: () => act(api("/sandbox/stop", { channel: thread.channel, thread_ts: thread.ts })),
            },
            "■ Stop",
          )
        : null;
    const sig = JSON.stringify([info && info.status, Boolean(stop)]);
    if ((info && info.status) || stop) {
      status.hidden = false;
      if (status.dataset.sig !== sig) {
        status.dataset.sig = sig;
        const line = info && info.status ? [el("span", { class: "dots", "aria-hidden": "true" }), `${ui.state.bot.name} ${info.status}`] : [];
        status.replaceChildren(...line, stop);
      }
    } else {
      status.hidden = true;
      status.dataset.sig = "";
      status.replaceChildren();
    }
    renderPrompts(info, conv, thread);
  }

  // The steps of a streamed answer (task_update chunks), with the pages they cite.
  function renderTasks(tasks) {
    const icons = { pending: "○", in_progress: "◔", complete: "✓", error: "✕" };
    return el(
      "div",
      { class: "tasks" },
      ...tasks.map((task) =>
        el(
          "div",
          { class: `task task-${task.status}`, "data-testid": "task", "data-status": task.status },
          el("span", { class: "task-icon", "aria-hidden": "true" }, icons[task.status] || "•"),
          ` ${task.title}`,
          ...(task.sources || []).map((source) =>
            el("a", { class: "task-source", href: source.url, target: "_blank", rel: "noopener noreferrer" }, source.text),
          ),
        ),
      ),
    );
  }

  // Prompts an agent app pins to its Messages tab: they start a new conversation there.
  function renderTabPrompts(conv) {
    const info = conv && conv.kind === "dm" ? threadInfo(conv.id, "") : null;
    const prompts = info ? info.prompts : [];
    fillPrompts($("#dm-prompts"), [conv && conv.id], prompts, info, "tab-prompt", { channel: conv && conv.id });
  }

  function renderPrompts(info, conv, thread) {
    const replies = conv ? conv.threads[thread.ts] || [] : [];
    const asked = replies.some((r) => r.user === ui.state.me.id);
    const prompts = info && !asked ? info.prompts : [];
    const where = { channel: thread.channel, thread_ts: thread.ts };
    fillPrompts($("#suggested-prompts"), [], prompts, info, "suggested-prompt", where);
  }

  // Prompt buttons in `box`; a click sends the prompt's message to `where`.
  function fillPrompts(box, key, prompts, info, testid, where) {
    const sig = JSON.stringify([...key, prompts, info && info.prompts_title]);
    if (box.dataset.sig === sig) return;
    box.dataset.sig = sig;
    box.hidden = prompts.length === 0;
    box.replaceChildren(
      el("div", { class: "prompts-title" }, (info && info.prompts_title) || "Suggested prompts"),
      ...prompts.map((prompt) =>
        el(
          "button",
          {
            type: "button",
            class: "prompt",
            "data-testid": testid,
            title: prompt.message,
            onclick: () => act(api("/sandbox/message", { ...where, text: toSlack(prompt.message) })),
          },
          prompt.title,
        ),
      ),
    );
  }

  // ------------------------------------------------------------------ App Home and modals

  function renderHome(box) {
    const home = ui.state.home;
    const key = home ? `${home.view_id}:${home.hash}` : "none";
    if (ui.homeKey === key) return;
    ui.homeKey = key;
    if (!home) {
      box.replaceChildren(el("div", { class: "empty" }, "Opening the app's Home…"));
      return;
    }
    const ctx = { kind: "view", viewId: home.view_id, values: home.values || {}, root: box };
    box.replaceChildren(el("div", { class: "home-card", "data-view-id": home.view_id }, renderBlocks(home.blocks, ctx)));
  }

  function renderModal() {
    const root = $("#modal-root");
    const modals = ui.state.modals;
    const top = modals.length ? modals[modals.length - 1] : null;
    if (!top) {
      root.replaceChildren();
      ui.modalKey = null;
      return;
    }
    const key = `${top.view_id}:${top.hash}`;
    if (ui.modalKey !== key) {
      ui.modalKey = key;
      root.replaceChildren(buildModal(top, modals.length));
      const first = root.querySelector("input, textarea, select");
      if (first) first.focus();
    }
    showModalErrors(root, top.errors || {});
  }

  function buildModal(view, depth) {
    const body = el("div", { class: "modal-body" });
    const ctx = { kind: "view", viewId: view.view_id, values: view.values || {}, root: body, modal: true };
    body.append(renderBlocks(view.blocks, ctx));
    const general = el("div", { class: "modal-problem", "data-testid": "modal-problem", hidden: true });
    const close = () => act(api("/sandbox/close", { view_id: view.view_id }));
    const footer = el(
      "footer",
      { class: "modal-footer" },
      el("button", { type: "button", class: "bk-button", "data-testid": "modal-cancel", onclick: close }, view.close || "Cancel"),
    );
    if (view.submit) {
      const submit = el(
        "button",
        { type: "submit", class: "bk-button primary", "data-testid": "modal-submit" },
        view.submit,
      );
      footer.append(submit);
    }
    const form = el(
      "form",
      {
        class: "modal",
        role: "dialog",
        "aria-modal": "true",
        "aria-label": view.title,
        "data-testid": "modal",
        "data-view-id": view.view_id,
        "data-callback-id": view.callback_id,
        novalidate: true,
        onsubmit: (event) => {
          event.preventDefault();
          if (view.submit) submitModal(view, form, general);
        },
        onkeydown: (event) => {
          if (event.key === "Escape") {
            event.preventDefault();
            close();
          }
        },
      },
      el(
        "header",
        { class: "modal-header" },
        el("h2", { "data-testid": "modal-title" }, view.title),
        depth > 1 ? el("span", { class: "muted" }, `(${depth} open)`) : null,
        el("button", { type: "button", class: "icon-button", "data-testid": "modal-close", title: "Close", onclick: close }, "✕"),
      ),
      body,
      general,
      footer,
    );
    return el("div", { class: "modal-backdrop" }, form);
  }

  function showModalErrors(root, errors) {
    for (const block of root.querySelectorAll(".input-block")) {
      const message = errors[block.dataset.blockId];
      const slot = block.querySelector(".input-error");
      if (slot.dataset.local === "true" && !message) continue;
      slot.dataset.local = "false";
      slot.textContent = message || "";
      slot.hidden = !message;
      block.classList.toggle("has-error", Boolean(message));
    }
  }

  async function submitModal(view, form, general) {
    const values = collectValues(form);
    let missing = false;
    for (const block of form.querySelectorAll(".input-block")) {
      const slot = block.querySelector(".input-error");
      const actionId = block.dataset.inputActionId;
      const empty = block.dataset.optional !== "true" && isEmpty(values[actionId]);
      if (slot.dataset.local === "true") {
        slot.dataset.local = "false";
        slot.hidden = true;
        block.classList.remove("has-error");
      }
      if (actionId && empty) {
        missing = true;
        slot.textContent = "Please complete this required field.";
        slot.hidden = false;
        slot.dataset.local = "true";
        block.classList.add("has-error");
      }
    }
    if (missing) return;
    const button = form.querySelector('[data-testid="modal-submit"]');
    const label = button.textContent;
    button.disabled = true;
    button.textContent = "Working…";
    general.hidden = true;
    try {
      const answer = await api("/sandbox/submit", { view_id: view.view_id, values });
      if (!answer.closed && answer.errors) showModalErrors(form, answer.errors);
    } catch (error) {
      general.textContent = error.message;
      general.hidden = false;
    } finally {
      if (button.isConnected) {
        button.disabled = false;
        button.textContent = label;
      }
    }
  }

  const isEmpty = (value) => value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0);

  // What the person entered in a view's input blocks, by action_id.
  function collectValues(root) {
    const values = {};
    for (const control of root.querySelectorAll(".input-block [data-input-kind]")) {
      const value = controlValue(control);
      if (value !== undefined) values[control.dataset.actionId] = value;
    }
    return values;
  }

  function controlValue(control) {
    switch (control.dataset.inputKind) {
      case "select": {
        if (control.multiple) return Array.from(control.selectedOptions).map((o) => o.value).filter((v) => v !== "");
        return control.value === "" ? undefined : control.value;
      }
      case "checkboxes":
        return Array.from(control.querySelectorAll("input:checked")).map((input) => input.value);
      case "radio": {
        const checked = control.querySelector("input:checked");
        return checked ? checked.value : undefined;
      }
      case "date":
        return control.value === "" ? null : control.value;
      default:
        return control.value;
    }
  }

  // ------------------------------------------------------------------ interactions

  async function clickElement(ctx, action) {
    const body = { action_id: action.action_id, block_id: action.block_id };
    if (action.value !== undefined) body.value = action.value;
    if (ctx.kind === "view") {
      body.view_id = ctx.viewId;
      const values = collectValues(ctx.root);
      delete values[action.action_id];
      body.values = values;
    } else if (ctx.kind === "ephemeral") {
      body.ephemeral_ts = ctx.ts;
    } else {
      body.channel = ctx.channel;
      body.ts = ctx.ts;
    }
    return act(api("/sandbox/click", body));
  }

  // ------------------------------------------------------------------ Block Kit

  function plain(textObject) {
    if (!textObject) return "";
    return typeof textObject === "string" ? textObject : String(textObject.text || "");
  }

  function textObjectNode(textObject, tag = "div", cls = "") {
    if (!textObject) return null;
    if (typeof textObject === "string") return el(tag, { class: cls, text: textObject });
    if (textObject.type === "mrkdwn") return el(tag, { class: `${cls} text mrkdwn`.trim(), html: mrkdwnToHtml(textObject.text || "") });
    return el(tag, { class: cls, html: emojify(esc(textObject.text || "")) });
  }

  function imageSource(element) {
    const file = element.slack_file;
    if (file && file.id) return `/sandbox/file/${encodeURIComponent(file.id)}`;
    const url = element.image_url || (file && file.url) || "";
    const hosted = /\/files-pri\/[A-Z0-9]+-(F[A-Z0-9]+)\//.exec(url);
    if (hosted) return `/sandbox/file/${hosted[1]}`;
    if (url.startsWith("/sandbox/file/") || /^data:image\//.test(url)) return url;
    return null; // the page loads nothing from outside this computer
  }

  function imageNode(element, cls) {
    const src = imageSource(element);
    const alt = element.alt_text || "image";
    if (src) return el("img", { class: cls, src, alt, title: alt, loading: "lazy" });
    const url = element.image_url || "";
    if (/^https?:/i.test(url)) {
      return el("a", { class: `${cls} external-image`, href: url, target: "_blank", rel: "noopener noreferrer", title: url }, `🖼 ${alt}`);
    }
    return el("span", { class: `${cls} external-image` }, `🖼 ${alt}`);
  }

  function renderBlocks(blocks, ctx) {
    const box = el("div", { class: "blocks" });
    (blocks || []).forEach((block, index) => {
      if (block && typeof block === "object") {
        const node = renderBlock(block, ctx, index);
        if (node) box.append(node);
      }
    });
    return box;
  }

  function renderBlock(block, ctx, index) {
    const blockId = block.block_id || "";
    const wrap = (cls, ...children) => el("div", { class: `block ${cls}`, "data-block-type": block.type, "data-block-id": blockId }, ...children);
    switch (block.type) {
      case "section": {
        const node = wrap("section-block");
        const main = el("div", { class: "section-main" });
        if (block.text) main.append(textObjectNode(block.text, "div", "section-text"));
        if (block.fields && block.fields.length) {
          main.append(el("div", { class: "fields" }, ...block.fields.map((f) => textObjectNode(f, "div", "field"))));
        }
        node.append(main);
        if (block.accessory) node.append(el("div", { class: "accessory" }, renderElement(block.accessory, block, ctx, index, 0)));
        return node;
      }
      case "header":
        return wrap("header-block", el("h3", { html: emojify(esc(plain(block.text))) }));
      case "divider":
        return wrap("divider-block", el("hr"));
      case "context":
        return wrap(
          "context-block",
          ...(block.elements || []).map((e) => (e.type === "image" ? imageNode(e, "context-image") : textObjectNode(e, "span", "context-text"))),
        );
      case "markdown":
        return wrap("markdown-block", el("div", { class: "text markdown", html: markdownToHtml(block.text || "") }));
      case "table": {
        const align = (column) => ((block.column_settings || [])[column] || {}).align || "left";
        const cell = (c, row, column) =>
          el(row === 0 ? "th" : "td", { class: `align-${align(column)}` }, c && c.type === "raw_text" ? c.text : "");
        const rows = (block.rows || []).map((row, r) => el("tr", {}, ...row.map((c, column) => cell(c, r, column))));
        return wrap("table-block", el("table", {}, ...rows));
      }
      case "rich_text":
        return wrap("rich-text-block", el("div", { class: "text rich", html: richTextToHtml(block.elements || []) }));
      case "image": {
        const node = wrap("image-block");
        if (block.title) node.append(el("div", { class: "image-title" }, plain(block.title)));
        node.append(imageNode(block, "block-image"));
        return node;
      }
      case "actions":
      case "context_actions":
        return wrap(
          block.type === "actions" ? "actions-block" : "context-actions-block",
          ...(block.elements || []).map((element, position) => renderElement(element, block, ctx, index, position)),
        );
      case "input":
        return renderInputBlock(block, ctx, index);
      case "video":
        return wrap("video-block", el("a", { href: block.title_url || block.video_url || "#", target: "_blank", rel: "noopener noreferrer" }, `▶ ${plain(block.title)}`));
      case "file":
        return wrap("file-block", el("span", { class: "muted" }, "📄 A remote file"));
      default:
        return wrap("unknown-block", el("span", { class: "muted" }, `[${block.type} block]`));
    }
  }

  function renderInputBlock(block, ctx, index) {
    const element = block.element || {};
    const actionId = element.action_id || "";
    const node = el("div", {
      class: "block input-block",
      "data-block-type": "input",
      "data-block-id": block.block_id || "",
      "data-input-action-id": actionId,
      "data-optional": block.optional ? "true" : "false",
    });
    const inputId = `input-${ctx.viewId || ctx.ts}-${block.block_id || index}`;
    node.append(
      el(
        "label",
        { class: "input-label", for: inputId },
        plain(block.label),
        block.optional ? el("span", { class: "muted" }, " (optional)") : null,
      ),
    );
    const control = renderElement(element, block, ctx, index, 0, inputId);
    node.append(control);
    if (block.hint) node.append(el("div", { class: "hint" }, plain(block.hint)));
    node.append(el("div", { class: "input-error", "data-testid": "modal-error", role: "alert", hidden: true }));
    return node;
  }

  function initialValue(element, ctx) {
    const entered = ctx.values ? ctx.values[element.action_id] : undefined;
    if (entered !== undefined) return entered;
    switch (element.type) {
      case "static_select":
      case "radio_buttons":
        return element.initial_option ? element.initial_option.value : undefined;
      case "checkboxes":
      case "multi_static_select":
        return (element.initial_options || []).map((o) => o.value);
      case "datepicker":
        return element.initial_date;
      case "timepicker":
        return element.initial_time;
      case "users_select":
        return element.initial_user;
      case "conversations_select":
        return element.initial_conversation;
      case "channels_select":
        return element.initial_channel;
      default:
        return element.initial_value;
    }
  }

  function options(element) {
    const list = [];
    for (const option of element.options || []) list.push({ group: null, option });
    for (const group of element.option_groups || []) {
      for (const option of group.options || []) list.push({ group: plain(group.label), option });
    }
    return list;
  }

  function renderElement(element, block, ctx, index, position, inputId) {
    const inInput = block.type === "input";
    // In an input block only dispatch_action sends anything before submission; elsewhere
    // every change is an action, as in Slack.
    const dispatches = !inInput || Boolean(block.dispatch_action);
    const actionId = element.action_id || "";
    const action = (value) =>
      clickElement(ctx, { action_id: actionId, block_id: block.block_id || undefined, value });
    const common = { "data-action-id": actionId, "data-element-type": element.type, id: inputId };
    switch (element.type) {
      case "button":
      case "workflow_button":
      case "icon_button": {
        const style = element.style === "primary" || element.style === "danger" ? ` ${element.style}` : "";
        return el(
          "button",
          {
            ...common,
            type: "button",
            class: `bk-button${style}`,
            "data-value": element.value,
            title: element.accessibility_label,
            onclick: () => {
              if (element.url && /^https?:/i.test(element.url)) window.open(element.url, "_blank", "noopener,noreferrer");
              action(element.value);
            },
          },
          element.type === "icon_button" ? `${element.icon === "trash" ? "🗑 " : ""}${plain(element.text)}` : plain(element.text),
        );
      }
      case "feedback_buttons": {
        const key = `${ctx.ts || ctx.viewId}:${actionId}`;
        const chosen = ui.feedback.get(key);
        const button = (spec, emoji) =>
          el(
            "button",
            {
              type: "button",
              class: `feedback${chosen === spec.value ? " chosen" : ""}`,
              "data-action-id": actionId,
              "data-value": spec.value,
              "data-testid": `feedback-${spec === element.positive_button ? "positive" : "negative"}`,
              "aria-pressed": chosen === spec.value ? "true" : "false",
              "aria-label": spec.accessibility_label || plain(spec.text),
              title: plain(spec.text),
              onclick: async () => {
                ui.feedback.set(key, spec.value);
                render();
                await action(spec.value);
              },
            },
            emoji,
          );
        return el(
          "span",
          { class: "feedback-buttons", "data-element-type": element.type },
          element.positive_button ? button(element.positive_button, "👍") : null,
          element.negative_button ? button(element.negative_button, "👎") : null,
        );
      }
      case "static_select":
      case "multi_static_select":
      case "users_select":
      case "multi_users_select":
      case "conversations_select":
      case "multi_conversations_select":
      case "channels_select":
      case "multi_channels_select":
      case "external_select": {
        const multiple = element.type.startsWith("multi_");
        const select = el("select", { ...common, class: "bk-select", "data-input-kind": "select", multiple });
        const initial = initialValue(element, ctx);
        const chosen = new Set(Array.isArray(initial) ? initial : initial !== undefined && initial !== null ? [initial] : []);
        if (!multiple && chosen.size === 0) {
          select.append(el("option", { value: "" }, plain(element.placeholder) || "Choose…"));
        }
        let choices = options(element);
        if (element.type.includes("users")) {
          choices = Object.entries(ui.state.users).map(([id, name]) => ({ group: null, option: { value: id, text: { text: name } } }));
        } else if (element.type.includes("conversations") || element.type.includes("channels")) {
          choices = ui.state.conversations.map((c) => ({ group: null, option: { value: c.id, text: { text: c.kind === "dm" ? c.name : `#${c.name}` } } }));
        }
        const groups = new Map();
        for (const { group, option } of choices) {
          const node = el("option", { value: option.value, selected: chosen.has(option.value) }, plain(option.text));
          if (group) {
            if (!groups.has(group)) {
              groups.set(group, el("optgroup", { label: group }));
              select.append(groups.get(group));
            }
            groups.get(group).append(node);
          } else {
            select.append(node);
          }
        }
        if (dispatches) {
          select.addEventListener("change", () => {
            action(multiple ? Array.from(select.selectedOptions).map((o) => o.value) : select.value);
          });
        }
        return select;
      }
      case "overflow": {
        const select = el("select", { ...common, class: "bk-select overflow", title: "More" });
        select.append(el("option", { value: "", selected: true }, "⋯"));
        for (const { option } of options(element)) select.append(el("option", { value: option.value }, plain(option.text)));
        select.addEventListener("change", () => {
          const value = select.value;
          select.value = "";
          if (value) action(value);
        });
        return select;
      }
      case "plain_text_input":
      case "email_text_input":
      case "url_text_input":
      case "number_input": {
        const initial = initialValue(element, ctx);
        const attrs = {
          ...common,
          class: "bk-input",
          "data-input-kind": "text",
          placeholder: plain(element.placeholder) || null,
          maxlength: element.max_length || null,
          minlength: element.min_length || null,
        };
        let input;
        if (element.type === "plain_text_input" && element.multiline) {
          input = el("textarea", { ...attrs, rows: 4 });
          input.value = initial || "";
        } else {
          const type = { email_text_input: "email", url_text_input: "url", number_input: "number" }[element.type] || "text";
          input = el("input", {
            ...attrs,
            type,
            step: element.type === "number_input" ? (element.is_decimal_allowed ? "any" : "1") : null,
            min: element.min_value ?? null,
            max: element.max_value ?? null,
          });
          input.value = initial || "";
        }
        if (dispatches) {
          const triggers = (element.dispatch_action_config && element.dispatch_action_config.trigger_actions_on) || ["on_enter_pressed"];
          if (triggers.includes("on_enter_pressed") && input.tagName === "INPUT") {
            input.addEventListener("keydown", (event) => {
              if (event.key === "Enter") {
                event.preventDefault();
                action(input.value);
              }
            });
          }
          if (triggers.includes("on_character_entered")) {
            let timer = null;
            input.addEventListener("input", () => {
              clearTimeout(timer);
              timer = setTimeout(() => action(input.value), 500);
            });
          }
        } else if (input.tagName === "INPUT") {
          // Enter in a modal's one-line input submits, as in Slack.
          input.addEventListener("keydown", (event) => {
            if (event.key === "Enter" && !ctx.modal) event.preventDefault();
          });
        }
        return input;
      }
      case "checkboxes":
      case "radio_buttons": {
        const radio = element.type === "radio_buttons";
        const initial = initialValue(element, ctx);
        const chosen = new Set(Array.isArray(initial) ? initial : initial ? [initial] : []);
        const name = `${radio ? "radio" : "check"}-${ctx.viewId || ctx.ts}-${block.block_id || index}-${actionId}`;
        const group = el("div", { ...common, class: radio ? "bk-radios" : "bk-checkboxes", role: radio ? "radiogroup" : "group", "data-input-kind": radio ? "radio" : "checkboxes" });
        for (const { option } of options(element)) {
          const input = el("input", { type: radio ? "radio" : "checkbox", name, value: option.value, checked: chosen.has(option.value) });
          if (dispatches) input.addEventListener("change", () => action(option.value));
          group.append(
            el(
              "label",
              { class: "choice" },
              input,
              el("span", { html: option.text && option.text.type === "mrkdwn" ? mrkdwnToHtml(option.text.text) : esc(plain(option.text)) }),
              option.description ? el("span", { class: "muted choice-description" }, plain(option.description)) : null,
            ),
          );
        }
        return group;
      }
      case "datepicker":
      case "timepicker": {
        const input = el("input", { ...common, class: "bk-input", type: element.type === "datepicker" ? "date" : "time", "data-input-kind": "date" });
        input.value = initialValue(element, ctx) || "";
        if (dispatches) input.addEventListener("change", () => action(input.value));
        return input;
      }
      case "image":
        return imageNode(element, "accessory-image");
      default:
        return el("span", { class: "muted", "data-element-type": element.type }, `[${element.type}]`);
    }
  }

  // ------------------------------------------------------------------ text formats

  // Slack's mrkdwn (text arrives with &, <, > escaped) to HTML. Everything is escaped first;
  // only the few tags made here are ever produced.
  function mrkdwnToHtml(text) {
    const segments = String(text || "").replace(CONTROL, "").split("```");
    if (segments.length % 2 === 0) {
      // An unclosed fence is just text.
      const last = segments.pop();
      segments[segments.length - 1] += "```" + last;
    }
    return segments
      .map((segment, i) => {
        if (i % 2 === 1) {
          const code = segment.replace(/^\n/, "").replace(/\n$/, "");
          return `<pre class="code-block"><code>${esc(decodeSlack(code))}</code></pre>`;
        }
        let prose = segment;
        if (i > 0) prose = prose.replace(/^\n/, "");
        if (i < segments.length - 1) prose = prose.replace(/\n$/, "");
        return mrkdwnLines(prose);
      })
      .join("");
  }

  function mrkdwnLines(text) {
    if (text === "") return "";
    const out = [];
    let quote = [];
    let previousInline = false;
    const flush = () => {
      if (quote.length) out.push(`<blockquote>${quote.join("<br>")}</blockquote>`);
      quote = [];
    };
    for (const line of text.split("\n")) {
      const quoted = /^&gt;\s?(.*)$/.exec(line);
      if (quoted) {
        quote.push(mrkdwnInline(quoted[1]));
        previousInline = false;
        continue;
      }
      const hadQuote = quote.length > 0;
      flush();
      if (previousInline) out.push("<br>");
      out.push(mrkdwnInline(line));
      previousInline = true;
      if (hadQuote && line === "") previousInline = false;
    }
    flush();
    return out.join("");
  }

  function stasher() {
    const stash = [];
    return {
      keep: (html) => {
        stash.push(html);
        return `\u0000${stash.length - 1}\u0001`;
      },
      restore: (text) => {
        let result = text;
        // Stashed pieces may hold others (a link label with code); restore until none left.
        for (let round = 0; round < 3 && result.includes("\u0000"); round += 1) {
          result = result.replace(/\u0000(\d+)\u0001/g, (_, i) => stash[Number(i)]);
        }
        return result;
      },
    };
  }

  function mrkdwnInline(line) {
    const { keep, restore } = stasher();
    let s = line.replace(/`([^`]+)`/g, (_, code) => keep(`<code>${esc(decodeSlack(code))}</code>`));
    s = s.replace(/<([^<>]+)>/g, (_, inner) => keep(slackEntity(inner)));
    s = emojify(esc(decodeSlack(s)));
    s = s.replace(/(^|[^\w*])\*(?=\S)([^*]*?[^\s*])\*(?![\w*])/g, "$1<strong>$2</strong>");
    s = s.replace(/(^|[^\w_])_(?=\S)([^_]*?[^\s_])_(?![\w_])/g, "$1<em>$2</em>");
    s = s.replace(/(^|[^\w~])~(?=\S)([^~]*?[^\s~])~(?![\w~])/g, "$1<del>$2</del>");
    return restore(s);
  }

  // <@U…>, <#C…>, <!here>, <url|label>: what Slack shows for them.
  function slackEntity(inner) {
    const bar = inner.indexOf("|");
    const target = bar >= 0 ? inner.slice(0, bar) : inner;
    const label = bar >= 0 ? inner.slice(bar + 1) : "";
    if (target.startsWith("@")) {
      const id = target.slice(1);
      const name = label || userName(id);
      return `<span class="mention${id === ui.state?.me.id ? " me" : ""}" data-user-id="${esc(id)}">@${esc(decodeSlack(name))}</span>`;
    }
    if (target.startsWith("#")) {
      const id = target.slice(1);
      const name = label || conversationName(id) || id;
      return `<span class="channel-mention">#${esc(decodeSlack(name))}</span>`;
    }
    if (target.startsWith("!")) {
      const command = target.slice(1);
      if (/^(here|channel|everyone)$/.test(command)) return `<span class="mention">@${command}</span>`;
      return esc(decodeSlack(label || command.split("^")[0]));
    }
    const url = decodeSlack(target);
    if (/^(https?:|mailto:)/i.test(url)) {
      const shown = label ? decodeSlack(label) : url.replace(/^mailto:/i, "");
      return `<a href="${esc(url)}" target="_blank" rel="noopener noreferrer">${esc(shown)}</a>`;
    }
    return esc(decodeSlack(`<${inner}>`));
  }

  function safeLink(url, labelHtml) {
    if (!/^(https?:|mailto:)/i.test(url)) return labelHtml;
    return `<a href="${esc(url)}" target="_blank" rel="noopener noreferrer">${labelHtml}</a>`;
  }

  // Markdown (streamed answers, markdown blocks) to HTML: a readable subset.
  function markdownToHtml(text) {
    const lines = String(text || "").replace(CONTROL, "").split("\n");
    const out = [];
    let paragraph = [];
    let list = null; // { ordered, items }
    const flushParagraph = () => {
      if (paragraph.length) out.push(`<p>${paragraph.join("<br>")}</p>`);
      paragraph = [];
    };
    const flushList = () => {
      if (list) {
        const tag = list.ordered ? "ol" : "ul";
        out.push(`<${tag}>${list.items.map((item) => `<li class="indent-${item.indent}">${item.html}</li>`).join("")}</${tag}>`);
      }
      list = null;
    };
    const flush = () => {
      flushParagraph();
      flushList();
    };
    for (let i = 0; i < lines.length; i += 1) {
      const line = lines[i];
      const fence = /^\s*(```+|~~~+)/.exec(line);
      if (fence) {
        flush();
        const code = [];
        i += 1;
        while (i < lines.length && !lines[i].trim().startsWith(fence[1])) {
          code.push(lines[i]);
          i += 1;
        }
        out.push(`<pre class="code-block"><code>${esc(code.join("\n"))}</code></pre>`);
        continue;
      }
      if (/^\s*\|.*\|\s*$/.test(line) && i + 1 < lines.length && /^\s*\|?\s*:?-{3,}/.test(lines[i + 1])) {
        flush();
        const rows = [line];
        i += 2;
        while (i < lines.length && /^\s*\|.*\|\s*$/.test(lines[i])) {
          rows.push(lines[i]);
          i += 1;
        }
        i -= 1;
        const cells = (row) => row.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => markdownInline(c.trim()));
        const [head, ...body] = rows;
        out.push(
          `<table><thead><tr>${cells(head).map((c) => `<th>${c}</th>`).join("")}</tr></thead>` +
            `<tbody>${body.map((r) => `<tr>${cells(r).map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")}</tbody></table>`,
        );
        continue;
      }
      const heading = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
      if (heading) {
        flush();
        out.push(`<div class="md-heading md-h${heading[1].length}">${markdownInline(heading[2])}</div>`);
        continue;
      }
      if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
        flush();
        out.push("<hr>");
        continue;
      }
      const item = /^(\s*)([-*+•]|\d+[.)])\s+(.*)$/.exec(line);
      if (item) {
        flushParagraph();
        const ordered = /\d/.test(item[2]);
        if (!list || list.ordered !== ordered) {
          flushList();
          list = { ordered, items: [] };
        }
        list.items.push({ indent: Math.min(3, Math.floor(item[1].length / 2)), html: markdownInline(item[3]) });
        continue;
      }
      const quote = /^\s*>\s?(.*)$/.exec(line);
      if (quote) {
        flush();
        out.push(`<blockquote>${markdownInline(quote[1])}</blockquote>`);
        continue;
      }
      if (line.trim() === "") {
        flush();
        continue;
      }
      flushList();
      paragraph.push(markdownInline(line));
    }
    flush();
    return out.join("");
  }

  function markdownInline(line) {
    const { keep, restore } = stasher();
    let s = line.replace(/`([^`]+)`/g, (_, code) => keep(`<code>${esc(code)}</code>`));
    s = s.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_, label, url) => keep(safeLink(url, esc(label))));
    s = s.replace(/<([@#!][^<>\s]+|https?:\/\/[^<>\s]+|mailto:[^<>\s]+)>/g, (_, inner) => keep(slackEntity(inner)));
    s = s.replace(/https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"]/g, (url) => keep(safeLink(url, esc(url))));
    // Markdown reads entity references (&amp; &lt; &gt; …) as the characters they name.
    s = emojify(esc(decodeEntities(s)));
    s = s.replace(/(\*\*|__)(?=\S)(.+?[^\s])\1/g, "<strong>$2</strong>");
    s = s.replace(/(^|[^\w*])\*(?=\S)([^*]*?[^\s*])\*(?![\w*])/g, "$1<em>$2</em>");
    s = s.replace(/(^|[^\w_])_(?=\S)([^_]*?[^\s_])_(?![\w_])/g, "$1<em>$2</em>");
    s = s.replace(/~~(?=\S)(.+?[^\s])~~/g, "<del>$1</del>");
    return restore(s);
  }

  // Block Kit rich_text elements to HTML.
  function richTextToHtml(elements) {
    return elements
      .map((element) => {
        const inner = (element.elements || []);
        switch (element.type) {
          case "rich_text_section":
            return `<div>${richInline(inner)}</div>`;
          case "rich_text_preformatted":
            return `<pre class="code-block"><code>${inner.map((p) => esc(p.text || p.url || "")).join("")}</code></pre>`;
          case "rich_text_quote":
            return `<blockquote>${richInline(inner)}</blockquote>`;
          case "rich_text_list": {
            const tag = element.style === "ordered" ? "ol" : "ul";
            const items = inner.map((section) => `<li>${richInline(section.elements || [])}</li>`).join("");
            return `<${tag} class="indent-${Math.min(3, element.indent || 0)}">${items}</${tag}>`;
          }
          default:
            return "";
        }
      })
      .join("");
  }

  function richInline(parts) {
    return parts
      .map((part) => {
        let html;
        switch (part.type) {
          case "text":
            html = esc(part.text || "").replace(/\n/g, "<br>");
            break;
          case "link":
            html = safeLink(part.url || "", esc(part.text || part.url || ""));
            break;
          case "user":
            html = `<span class="mention" data-user-id="${esc(part.user_id || "")}">@${esc(userName(part.user_id))}</span>`;
            break;
          case "channel":
            html = `<span class="channel-mention">#${esc(conversationName(part.channel_id) || part.channel_id || "")}</span>`;
            break;
          case "emoji":
            html = part.unicode
              ? esc(String.fromCodePoint(...part.unicode.split("-").map((h) => parseInt(h, 16))))
              : emojify(esc(`:${part.name}:`));
            break;
          case "broadcast":
            html = `<span class="mention">@${esc(part.range || "")}</span>`;
            break;
          case "date":
            html = esc(part.fallback || "");
            break;
          default:
            html = esc(part.text || "");
        }
        const style = part.style || {};
        if (style.code) html = `<code>${html}</code>`;
        if (style.bold) html = `<strong>${html}</strong>`;
        if (style.italic) html = `<em>${html}</em>`;
        if (style.strike) html = `<del>${html}</del>`;
        return html;
      })
      .join("");
  }

  // What a person typed, in Slack's wire format: &, <, > escaped, links and the bot's
  // mention in angle brackets (as Slack's own client sends them).
  function toSlack(typed) {
    let text = typed.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    text = text.replace(/(^|[\s(])(https?:\/\/[^\s<>]+?)(?=[.,;:!?)\]'"]*(?:\s|$))/g, "$1<$2>");
    if (ui.state) {
      const name = ui.state.bot.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      const mention = new RegExp(`(^|[^\\w@.<])@${name}(?![\\w-])`, "gi");
      text = text.replace(mention, `$1<@${ui.state.bot.id}>`);
    }
    return text;
  }

  // ------------------------------------------------------------------ composers

  function setupComposer(form, where) {
    const textarea = form.querySelector("textarea");
    const fileInput = form.querySelector('input[type="file"]');
    const pendingBox = form.querySelector(".pending-files");
    const files = [];
    // Sends in the order they were asked for. A message written while the one before
    // is still on its way goes after it, instead of being dropped with the composer
    // cleared under it.
    let sending = Promise.resolve();

    const autosize = () => {
      textarea.style.height = "auto";
      textarea.style.height = `${Math.min(textarea.scrollHeight, 220)}px`;
    };
    const showPending = () => {
      pendingBox.replaceChildren(
        ...files.map((file, index) =>
          el(
            "span",
            { class: "pending-file", "data-testid": "pending-file" },
            `📎 ${file.name} (${sizeText(file.size)})`,
            el(
              "button",
              {
                type: "button",
                class: "icon-button",
                title: `Remove ${file.name}`,
                onclick: () => {
                  files.splice(index, 1);
                  showPending();
                },
              },
              "✕",
            ),
          ),
        ),
      );
    };
    const addFiles = (list) => {
      for (const file of list) files.push(file);
      showPending();
    };

    textarea.addEventListener("input", autosize);
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    textarea.addEventListener("paste", (event) => {
      const pasted = event.clipboardData ? Array.from(event.clipboardData.files) : [];
      if (pasted.length) {
        event.preventDefault();
        addFiles(pasted);
      }
    });
    fileInput.addEventListener("change", () => {
      addFiles(Array.from(fileInput.files || []));
      fileInput.value = "";
    });
    form.addEventListener("dragover", (event) => {
      event.preventDefault();
      form.classList.add("dragging");
    });
    form.addEventListener("dragleave", () => form.classList.remove("dragging"));
    form.addEventListener("drop", (event) => {
      event.preventDefault();
      form.classList.remove("dragging");
      if (event.dataTransfer) addFiles(Array.from(event.dataTransfer.files));
    });

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!ui.state) return;
      const target = where === "thread" ? ui.thread : ui.view.kind === "conv" ? { channel: ui.view.id, ts: null } : null;
      if (!target) return;
      const text = textarea.value.trim();
      if (!text && files.length === 0) return;
      const command = /^\/(\S+)(?:\s+([\s\S]*))?$/.exec(text);
      if (command && files.length === 0 && command[1].toLowerCase() !== "ai") {
        toast(`/${command[1]} is not a command in this workspace. Try /ai help.`);
        return;
      }
      const attached = files.splice(0);
      const request = () => {
        if (command && attached.length === 0) {
          return api("/sandbox/command", { channel: target.channel, text: (command[2] || "").trim() });
        }
        if (attached.length) {
          const data = new FormData();
          data.append("channel", target.channel);
          data.append("text", toSlack(text));
          if (target.ts) data.append("thread_ts", target.ts);
          for (const file of attached) data.append("file", file, file.name);
          return api("/sandbox/message", null, data);
        }
        const body = { channel: target.channel, text: toSlack(text) };
        if (target.ts) body.thread_ts = target.ts;
        return api("/sandbox/message", body);
      };
      textarea.value = "";
      showPending();
      autosize();
      textarea.focus();
      sending = sending.then(async () => {
        try {
          await request();
          ui.stickToBottom[where === "thread" ? "thread" : "main"] = true;
        } catch (error) {
          toast(error.message);
          // Nothing the person wrote is lost: what failed comes back to the composer,
          // unless they have started the next message.
          if (!textarea.value && files.length === 0) {
            textarea.value = text;
            files.push(...attached);
            showPending();
            autosize();
          }
        }
      });
    });
  }

  // ------------------------------------------------------------------ start

  function start() {
    setupComposer($("#composer-form"), "main");
    setupComposer($("#thread-composer-form"), "thread");
    $("#nav-home").addEventListener("click", openHome);
    $("#nav-assistant").addEventListener("click", openAssistant);
    $("#thread-close").addEventListener("click", closeThread);
    document.addEventListener("click", (event) => {
      if (!event.target.closest(".message-actions")) closeMenus();
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        closeMenus();
        if (!document.querySelector(".modal") && ui.thread) closeThread();
      }
    });
    window.addEventListener("hashchange", () => {
      const parsed = parseHash();
      if (!parsed || !ui.state) return;
      if (parsed.view.kind === "home") {
        if (ui.view.kind !== "home") openHome();
        return;
      }
      ui.view = parsed.view;
      ui.thread = parsed.thread;
      render();
    });
    for (const box of [$("#messages"), $("#thread-messages")]) {
      box.addEventListener("scroll", () => {
        box.dataset.wasBottom = String(isNearBottom(box));
      });
    }
    loadInfo();
    pollLoop();
  }

  // For tests and curious people: the page's own helpers, without side effects.
  window.sandboxPage = { mrkdwnToHtml, markdownToHtml, richTextToHtml, toSlack };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
