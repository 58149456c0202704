// The network compass, written together live by the client and their supporters in the
// preparation, on phones and tablets, online or not; read-only for whoever may only read it.
// Loaded on the compass page (web/templates/compass/compass.html), which gives the settings in
// <script type="application/json" id="compass-config"> and holds a place for each field.
//
// The document's shape is server/rules/compass.py's; compass-schema.js mirrors its key names
// and the limits come from the page.

import * as Y from "yjs";
import { EditorView } from "@codemirror/view";
import { t } from "./i18n.js";
import { LOCAL, pageDocument } from "./sync.js";
import { textField } from "./textfield.js";
import { characters, textOf } from "./plan-schema.js";
import { newQuestion } from "./compass-schema.js";
import { keepAwake, keepForOffline } from "./device.js";
import {
  announceMe,
  h,
  nextId,
  renderRemovedList,
  setUpPresenceList,
  setUpUndo,
  showHere,
  showTyping,
  whoIsHere,
} from "./editing.js";

// Making a field's shared text, or a plain string an older client wrote into shared text, is
// not undone by "undo" (someone else may be typing in it already).
const REPAIR = "kring-repair";
// Adding a question is not undone either: "Weghalen" is the way back, and anyone can bring a
// removed question back.
const ADD = "kring-add";

const UNBOUND = Symbol("unbound"); // a field not drawn yet (an empty map holds undefined)

function tooLong(text, limit) {
  const count = characters(text);
  return limit && count > limit ? t("error.too_long", { count, limit }) : "";
}

// One text of a Y.Map (an answer, a life area's strengths) in its place on the page.
class MapField {
  constructor(editor, map, key, place, limit) {
    this.editor = editor;
    this.map = map;
    this.key = key;
    this.limit = limit;
    this.host = place.querySelector("[data-host]");
    this.tag = place.querySelector("[data-typing]");
    this.error = place.querySelector("[data-error]");
    this.labelId = place.querySelector(".field-label, h3")?.id;
    this.place = place;
    this.ytext = UNBOUND;
    this.view = null;
    this.host.addEventListener("focusin", () => this.editor.ensureTexts());
    this.bind();
  }

  // Show the value the map holds now: a CodeMirror view on its Y.Text, or the plain text an
  // older client stored (made shared text as soon as a writer is synced).
  bind() {
    const value = this.map.get(this.key);
    if (this.ytext === value && (this.view || !(value instanceof Y.Text))) return;
    const hadFocus = this.view?.hasFocus;
    this.view?.destroy();
    this.view = null;
    this.host.replaceChildren();
    this.ytext = value;
    if (value instanceof Y.Text) {
      const editor = this.editor;
      this.view = textField(this.host, value, {
        awareness: editor.live.awareness,
        undoManager: editor.undo,
        readOnly: !editor.writable,
        labelledBy: this.labelId,
        describedBy: this.error.id,
        placeholder: editor.writable ? t("compass.placeholder") : "",
        onChange: (text) => this.check(text),
      });
      if (hadFocus) this.view.focus();
      this.check(value.toString());
    } else {
      const text = textOf(value);
      this.host.append(
        h("p", { class: text ? "prewrap" : "prewrap muted" }, text || t("compass.empty")),
      );
    }
  }

  check(text) {
    const message = tooLong(text, this.limit);
    this.error.hidden = !message;
    this.error.textContent = message;
    this.place.classList.toggle("has-error", Boolean(message));
  }
}

// One question for the conference: its text, "to the conference", and remove.
class Question {
  constructor(editor, ymap) {
    this.editor = editor;
    this.ymap = ymap;
    const { writable } = editor;
    this.labelId = nextId("question");
    this.label = h("span", { id: this.labelId, class: "field-label" });
    this.tag = h("span", { class: "typing-tag", hidden: true });
    this.host = h("div", { class: "field-input" });
    this.error = h("p", { id: nextId("question-error"), class: "field-error", hidden: true });
    const toggleId = nextId("to-conference");
    this.toggle = h("input", {
      id: toggleId,
      type: "checkbox",
      disabled: !writable,
      "aria-describedby": this.labelId,
      onchange: () =>
        editor.live.doc.transact(() => ymap.set("to_conference", this.toggle.checked), LOCAL),
    });
    const controls = h(
      "div",
      { class: "row question-controls" },
      h("label", { class: "check", for: toggleId }, this.toggle, " ", t("compass.to_conference")),
      writable
        ? h(
            "button",
            {
              type: "button",
              class: "secondary",
              "aria-describedby": this.labelId,
              onclick: () => this.remove(),
            },
            t("compass.remove_question"),
          )
        : null,
    );
    this.el = h(
      "li",
      { class: "question-item field stack", "data-question": ymap.get("id") || "" },
      h("div", { class: "field-head" }, this.label, this.tag),
      this.host,
      this.error,
      controls,
    );
    this.ytext = UNBOUND;
    this.view = null;
    this.refresh();
  }

  refresh(number) {
    if (number) this.label.textContent = t("compass.question", { number });
    this.toggle.checked = this.ymap.get("to_conference") === true;
    this.el.classList.toggle("is-chosen", this.toggle.checked);
    const value = this.ymap.get("text");
    if (this.ytext === value && (this.view || !(value instanceof Y.Text))) return;
    this.view?.destroy();
    this.host.replaceChildren();
    this.ytext = value;
    this.view = null;
    if (value instanceof Y.Text) {
      this.view = textField(this.host, value, {
        awareness: this.editor.live.awareness,
        undoManager: this.editor.undo,
        readOnly: !this.editor.writable,
        labelledBy: this.labelId,
        describedBy: this.error.id,
        onChange: (text) => this.check(text),
      });
      this.check(value.toString());
    } else {
      this.host.append(h("p", { class: "prewrap" }, textOf(value)));
    }
  }

  check(text) {
    const message = tooLong(text, this.editor.schema.text_limits.question);
    this.error.hidden = !message;
    this.error.textContent = message;
    this.el.classList.toggle("has-error", Boolean(message));
  }

  remove() {
    this.editor.live.doc.transact(() => this.ymap.set("removed", true), LOCAL);
    this.editor.announce(t("compass.question_removed"));
    queueMicrotask(() => this.editor.root.querySelector("#new-question")?.focus());
  }

  destroy() {
    this.view?.destroy();
    this.el.remove();
  }
}

class CompassEditor {
  constructor(root, config) {
    this.root = root;
    this.schema = config.schema;
    this.me = config.me;
    this.writable = config.writable;
    this.live = pageDocument(root, config, "compass");
    const doc = this.live.doc;
    this.answers = doc.getMap("answers");
    this.strengths = doc.getMap("strengths");
    this.priorities = doc.getMap("priorities");
    this.questions = doc.getArray("questions");
    this.undo = new Y.UndoManager([this.answers, this.strengths, this.priorities, this.questions], {
      trackedOrigins: new Set([LOCAL]),
    });
    setUpUndo(root, this.undo);

    const limits = this.schema.text_limits;
    this.fields = [
      ...[...root.querySelectorAll("[data-answer]")].map(
        (place) => new MapField(this, this.answers, place.dataset.answer, place, limits.answer),
      ),
      ...[...root.querySelectorAll("[data-strength]")].map(
        (place) =>
          new MapField(this, this.strengths, place.dataset.strength, place, limits.strength),
      ),
    ];
    this.setUpPriorities();
    this.items = new Map(); // Y.Map -> Question
    this.list = root.querySelector("[data-questions]");
    this.removedBox = root.querySelector("[data-removed-questions]");
    this.liveRegion = root.querySelector("[data-announce]");
    this.setUpAddForm();

    this.answers.observe(() => this.bindFields());
    this.strengths.observe(() => this.bindFields());
    this.priorities.observe(() => this.showPriorities());
    this.questions.observeDeep((events) => {
      if (events.every((e) => e.target instanceof Y.Text)) return; // fields show their own text
      this.renderQuestions();
    });
    // What this device kept is shown as soon as it is read; once the server's copy is in,
    // a writer makes the shared texts that are missing (so two people can type in them).
    this.live.local?.on("synced", () => this.render());
    this.live.provider.on("sync", (synced) => {
      if (synced) this.ensureTexts();
      this.render();
    });

    this.presence = root.querySelector("[data-presence]");
    announceMe(this.live.awareness, this.me);
    this.live.awareness.on("change", () => this.showPresence());
    setUpPresenceList(root, this.presence);
    this.render();
    root.dataset.ready = "true";
  }

  // Every answer and life area gets its shared text (a plain string is kept as its start).
  // Done by a writer once synced with the server, or when they start typing offline.
  ensureTexts() {
    if (!this.writable) return;
    const missing = this.fields.filter((f) => !(f.map.get(f.key) instanceof Y.Text));
    if (missing.length === 0) return;
    this.live.doc.transact(() => {
      for (const field of missing)
        field.map.set(field.key, new Y.Text(textOf(field.map.get(field.key))));
    }, REPAIR);
  }

  bindFields() {
    for (const field of this.fields) field.bind();
    this.showPresence();
  }

  render() {
    this.bindFields();
    this.showPriorities();
    this.renderQuestions();
  }

  // -- priorities: 3 or 4 life areas come first -------------------------------------------

  setUpPriorities() {
    this.countLine = this.root.querySelector("[data-priority-count]");
    for (const card of this.root.querySelectorAll("[data-strength]")) {
      const button = card.querySelector("[data-priority]");
      const area = card.dataset.strength;
      button.addEventListener("click", () => {
        const on = this.priorities.get(area) === true;
        this.live.doc.transact(() => {
          if (on) this.priorities.delete(area);
          else this.priorities.set(area, true);
        }, LOCAL);
      });
    }
  }

  showPriorities() {
    const max = this.schema.max_priorities;
    const chosen = this.schema.life_areas.filter((a) => this.priorities.get(a) === true);
    for (const card of this.root.querySelectorAll("[data-strength]")) {
      const on = chosen.includes(card.dataset.strength);
      const button = card.querySelector("[data-priority]");
      button.setAttribute("aria-pressed", String(on));
      // A fifth is not offered: one is taken away first (two devices at once may still
      // choose five; the count says so).
      button.disabled = !this.writable || (!on && chosen.length >= max);
      card.classList.toggle("is-priority", on);
    }
    const count = chosen.length;
    let said;
    if (count > max) said = t("compass.priorities_over", { count, max });
    else if (count === max) said = t("compass.priorities_full", { count });
    else said = t("compass.priorities_count", { count });
    this.countLine.textContent = said;
    this.countLine.classList.toggle("field-error", count > max);
  }

  // -- questions for the conference -------------------------------------------------------

  setUpAddForm() {
    const form = this.root.querySelector("[data-add-question]");
    if (!form) return;
    const input = form.querySelector("input");
    const error = form.querySelector(".field-error");
    const limit = this.schema.text_limits.question;
    const say = (message) => {
      error.hidden = !message;
      error.textContent = message;
      input.setAttribute("aria-invalid", String(Boolean(message)));
    };
    input.addEventListener("input", () => say(tooLong(input.value, limit)));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return say(t("compass.question_required"));
      const wrong = tooLong(text, limit);
      if (wrong) return say(wrong); // kept as typed
      say("");
      this.live.doc.transact(() => this.questions.push([newQuestion(text)]), ADD);
      input.value = "";
      input.focus();
      this.announce(t("compass.question_added"));
    });
  }

  renderQuestions() {
    // Moving a node that holds the focus takes the focus away (and a tablet's keyboard):
    // remember it and give it back.
    const focused = document.activeElement;
    const present = new Set();
    const shown = [];
    const removed = [];
    for (const ymap of this.questions.toArray()) {
      if (!(ymap instanceof Y.Map)) continue;
      present.add(ymap);
      if (ymap.get("removed") === true) {
        removed.push(ymap);
        continue;
      }
      let item = this.items.get(ymap);
      if (!item) {
        item = new Question(this, ymap);
        this.items.set(ymap, item);
      }
      shown.push(item);
    }
    for (const [ymap, item] of this.items) {
      if (!present.has(ymap) || ymap.get("removed") === true) {
        item.destroy();
        this.items.delete(ymap);
      }
    }
    shown.forEach((item, index) => {
      item.refresh(index + 1);
      if (this.list.children[index] !== item.el)
        this.list.insertBefore(item.el, this.list.children[index] || null);
    });
    for (const stale of [...this.list.children].slice(shown.length)) stale.remove();
    const empty = this.root.querySelector("[data-questions-empty]");
    if (empty) empty.hidden = shown.length > 0;
    if (focused && focused !== document.activeElement && focused.isConnected) {
      const view = EditorView.findFromDOM(focused);
      if (view) view.focus();
      else focused.focus({ preventScroll: true });
    }
    this.renderRemoved(removed);
    this.showPresence();
  }

  renderRemoved(removed) {
    renderRemovedList(this.removedBox, removed, {
      title: (count) => t("compass.removed_questions", { count }),
      label: (ymap) => textOf(ymap.get("text")) || t("compass.empty"),
      writable: this.writable,
      restore: (ymap) => {
        this.live.doc.transact(() => ymap.set("removed", false), LOCAL);
        this.announce(t("compass.question_restored"));
      },
    });
  }

  announce(message) {
    if (this.liveRegion) this.liveRegion.textContent = message;
  }

  showPresence() {
    const { names, typing } = whoIsHere(this.live, this.me, this.writable);
    showHere(this.presence, names);
    for (const field of this.fields) showTyping(field.tag, typing.get(field.ytext) || []);
    for (const item of this.items.values()) showTyping(item.tag, typing.get(item.ytext) || []);
  }
}

const root = document.querySelector("[data-compass]");
const configElement = document.getElementById("compass-config");
if (root && configElement) {
  window.kringCompass = new CompassEditor(root, JSON.parse(configElement.textContent));
  keepAwake();
  keepForOffline(window.kringCompass.me.id);
}
