// The family's plan editor: agreements grouped by life area, written together live, on
// tablets and phones, online or not. Loaded on the plan page (web/templates/meeting/plan.html),
// which gives the settings in <script type="application/json" id="plan-config">.
//
// The document's shape is server/plan.py's; this file mirrors it (plan-schema.js) and takes
// the limits and choices from the page, so the two cannot disagree about them.

import * as Y from "yjs";
import { EditorView } from "@codemirror/view";
import { t } from "./i18n.js";
import { LOCAL, pageDocument } from "./sync.js";
import { textField } from "./textfield.js";
import { AGREEMENT_TEXT_FIELDS, characters, newAgreement, isDate, textOf } from "./plan-schema.js";
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

const REPAIR = "kring-repair"; // turning an older client's plain string into shared text
// Adding an agreement is not undone by "undo": others may already be writing in it. Removing
// it ("Verwijderen") is the way back, and that can be brought back by anyone.
const ADD = "kring-add";

const areaLabel = (area, schema) =>
  schema.life_areas.includes(area) ? t(`area.${area}`) : t("area.other");

// -- one agreement ---------------------------------------------------------------------------

// Folded away until someone taps "more": what a phone shows of an agreement is what, who and
// when (and, at the follow-ups, how it goes).
const MORE_TEXT = ["where", "backup", "request"];

class Card {
  constructor(editor, ymap) {
    this.editor = editor;
    this.ymap = ymap;
    this.fields = new Map(); // text field -> {host, ytext, view, options, tag}
    this.errors = new Map();
    const { writable, followUp } = editor;
    this.id = ymap.get("id") || nextId("agreement");
    this.titleId = nextId("title");
    this.editingNote = h("p", { class: "editing-note" });
    this.title = h("h4", { id: this.titleId, class: "agreement-title" });
    this.linkLine = h("p", { class: "agreement-link", hidden: true });

    const controls = h("div", { class: "agreement-controls row" });
    this.areaSelect = this.select(
      "life_area",
      editor.areaOrder.map((a) => [a, t(`area.${a}`)]),
    );
    controls.append(this.areaSelect.wrap);
    if (writable) {
      controls.append(
        h(
          "button",
          {
            type: "button",
            class: "secondary remove",
            "aria-describedby": this.titleId,
            onclick: () => this.remove(),
          },
          t("action.remove"),
        ),
      );
    }

    // Status (and "use the backup" when it is not working) only at the follow-ups.
    let statusRow = null;
    if (followUp) {
      this.statusSelect = this.select(
        "status",
        editor.schema.statuses.map((s) => [s, t(`agreementStatus.${s}`)]),
      );
      this.backupButton = h(
        "button",
        {
          type: "button",
          class: "secondary use-backup",
          "aria-describedby": this.titleId,
          hidden: true,
          onclick: () => this.useBackup(),
        },
        t("action.use_backup"),
      );
      statusRow = h("div", { class: "agreement-status row" }, this.statusSelect.wrap);
      if (writable) statusRow.append(this.backupButton);
    }

    const moreId = nextId("more");
    this.moreHint = h("span", { class: "more-hint" });
    this.moreTyping = h("span", { class: "typing-tag", hidden: true });
    this.moreToggle = h(
      "button",
      {
        type: "button",
        class: "secondary more-toggle",
        "data-keeps-working": true, // reading the rest needs no connection
        "aria-expanded": "false",
        "aria-controls": moreId,
        "aria-describedby": this.titleId,
        onclick: () => this.unfold(this.more.hidden),
      },
      h("span", {}, t("agreement.more")),
      this.moreHint,
      this.moreTyping,
    );
    this.more = h(
      "div",
      { id: moreId, class: "agreement-more", hidden: true },
      this.textRow("where", { placeholder: t("placeholder.where") }),
      this.textRow("backup", { placeholder: t("placeholder.backup") }),
      this.requestRow(),
      followUp ? this.progressRow() : null,
      controls,
    );

    this.el = h(
      "article",
      { class: "agreement-card", "data-agreement": this.id, "aria-labelledby": this.titleId },
      this.title,
      this.editingNote,
      this.linkLine,
      this.textRow("what", { placeholder: t("placeholder.what") }),
      this.whoRow(),
      this.whenRow(),
      statusRow,
      this.moreToggle,
      this.more,
    );
    this.el.addEventListener("focusin", () => {
      editor.editing(this.id);
      if (writable) this.repair();
    });
    this.refresh();
  }

  // Show or hide the rest of the agreement (this device only: others keep their own view).
  unfold(open) {
    this.more.hidden = !open;
    this.moreToggle.setAttribute("aria-expanded", String(open));
    if (open) for (const field of MORE_TEXT) this.fields.get(field)?.view?.requestMeasure();
  }

  // How much is in the folded part, and whether something there needs attention, on the
  // button that unfolds it.
  updateHint() {
    const filled = MORE_TEXT.filter((f) => textOf(this.ymap.get(f)).trim()).length;
    const notes = this.ymap.get("progress");
    const count =
      filled + (this.editor.followUp && notes instanceof Y.Array && notes.length ? 1 : 0);
    const wrong = [...this.more.querySelectorAll(".field-error")].some((e) => !e.hidden);
    this.moreHint.textContent = wrong
      ? t("agreement.more_wrong")
      : count
        ? t("agreement.more_filled", { count })
        : "";
    this.moreToggle.classList.toggle("has-error", wrong);
  }

  // An older or foreign client may have written a field as a plain string, or left it out:
  // make it shared text so it can be co-edited (its content is kept). Done when someone starts
  // working on the agreement, not by every tablet that shows it; if two tablets still do it at
  // once, one Y.Text wins and refresh() binds every view to the winner.
  repair() {
    const missing = AGREEMENT_TEXT_FIELDS.filter((f) => !(this.ymap.get(f) instanceof Y.Text));
    if (missing.length === 0) return;
    this.ymap.doc.transact(() => {
      for (const field of missing) this.ymap.set(field, new Y.Text(textOf(this.ymap.get(field))));
    }, REPAIR);
  }

  label(field, forId) {
    const id = nextId(`label-${field}`);
    return [
      id,
      h(
        forId ? "label" : "span",
        { id, class: "field-label", for: forId || null },
        t(`field.${field}`),
      ),
    ];
  }

  errorLine(field) {
    const el = h("p", { id: nextId(`error-${field}`), class: "field-error", hidden: true });
    this.errors.set(field, el);
    return el;
  }

  textRow(field, { placeholder, multiline = true, capitalize = "sentences" } = {}) {
    const [labelId, label] = this.label(field);
    const error = this.errorLine(field);
    const host = h("div", { class: "field-input" });
    // Who else has their cursor here: a name, not only a coloured caret (no hover on a phone).
    const tag = h("span", { class: "typing-tag", hidden: true });
    const row = h(
      "div",
      { class: `field field-${field}` },
      h("div", { class: "field-head" }, label, tag),
      host,
      error,
    );
    this.fields.set(field, {
      host,
      tag,
      ytext: undefined,
      view: null,
      options: { labelId, error, placeholder, multiline, capitalize },
    });
    this.bind(field);
    return row;
  }

  // Show the field's current value: a CodeMirror view on its Y.Text, or the plain text an
  // older client stored. Called again whenever the map holds another value for the field.
  bind(field) {
    const slot = this.fields.get(field);
    const value = this.ymap.get(field);
    if (slot.ytext === value && (slot.view || !(value instanceof Y.Text))) return;
    const hadFocus = slot.view?.hasFocus;
    slot.view?.destroy();
    slot.view = null;
    slot.host.replaceChildren();
    slot.ytext = value;
    const { labelId, error, placeholder, multiline, capitalize } = slot.options;
    if (value instanceof Y.Text) {
      const limit = this.editor.schema.text_limits[field];
      slot.view = textField(slot.host, value, {
        awareness: this.editor.live.awareness,
        undoManager: this.editor.undo,
        readOnly: !this.editor.writable,
        labelledBy: labelId,
        describedBy: error.id,
        placeholder: this.editor.writable ? placeholder : "",
        multiline,
        capitalize,
        onChange: () => this.check(field, limit),
      });
      if (hadFocus) slot.view.focus();
    } else {
      slot.host.append(h("p", { class: "prewrap" }, textOf(value)));
    }
  }

  select(field, options) {
    const id = nextId(`select-${field}`);
    const [, label] = this.label(field, id);
    const el = h(
      "select",
      {
        id,
        disabled: !this.editor.writable,
        onchange: () => this.ymap.doc.transact(() => this.ymap.set(field, el.value), LOCAL),
      },
      options.map(([value, text]) => h("option", { value }, text)),
    );
    return { el, wrap: h("div", { class: `field field-inline field-${field}` }, label, el) };
  }

  whoRow() {
    const [labelId, label] = this.label("who");
    this.chips = new Map();
    const chipsId = nextId("chips");
    const chips = h("div", {
      id: chipsId,
      class: "chips",
      role: "group",
      "aria-labelledby": labelId,
      hidden: true,
    });
    this.chosenLine = h("p", { class: "chosen" });
    const open = h(
      "button",
      {
        type: "button",
        class: "secondary choose",
        "aria-expanded": "false",
        "aria-controls": chipsId,
        hidden: !this.editor.writable,
        onclick: () => {
          chips.hidden = !chips.hidden;
          open.setAttribute("aria-expanded", String(!chips.hidden));
        },
      },
      t("who.choose"),
    );
    for (const person of this.editor.people) {
      const chip = h(
        "button",
        {
          type: "button",
          class: "chip",
          "aria-pressed": "false",
          disabled: !this.editor.writable,
          onclick: () => this.toggle(person.id),
        },
        person.name,
      );
      this.chips.set(String(person.id), chip);
      chips.append(chip);
    }
    const free = this.textRow("who", {
      placeholder: t("placeholder.who"),
      multiline: false,
      capitalize: "words",
    });
    free.querySelector(".field-label").textContent = t("field.who_free");
    return h(
      "div",
      { class: "field field-who-group" },
      label,
      h("div", { class: "row" }, this.chosenLine, open),
      chips,
      free,
    );
  }

  toggle(personId) {
    const key = String(personId);
    this.ymap.doc.transact(() => {
      let chosen = this.ymap.get("who_ids");
      if (!(chosen instanceof Y.Map)) {
        chosen = new Y.Map();
        this.ymap.set("who_ids", chosen);
      }
      if (chosen.get(key)) chosen.delete(key);
      else chosen.set(key, true);
    }, LOCAL);
  }

  whenRow() {
    const group = this.textRow("when", { placeholder: t("placeholder.when"), multiline: false });
    const id = nextId("date");
    const [, label] = this.label("when_date", id);
    this.dateInput = h("input", {
      id,
      type: "date",
      disabled: !this.editor.writable,
      onchange: () => this.setDate(),
    });
    const error = this.errorLine("when_date");
    this.dateInput.setAttribute("aria-describedby", error.id);
    group.append(h("div", { class: "field field-inline" }, label, this.dateInput), error);
    return group;
  }

  setDate() {
    const input = this.dateInput;
    if (input.validity.badInput) {
      this.showError("when_date", t("error.not_a_date")); // the value stays as typed
      return;
    }
    this.ymap.doc.transact(() => this.ymap.set("when_date", input.value), LOCAL);
  }

  requestRow() {
    const group = this.textRow("request", { placeholder: t("placeholder.request") });
    const professionals = this.editor.people.filter((p) => p.role.endsWith("professional"));
    this.requestSelect = this.select("request_to", [
      ["", t("request_to.none")],
      ...professionals.map((p) => [String(p.id), p.name]),
    ]);
    group.append(this.requestSelect.wrap);
    return group;
  }

  progressRow() {
    const [labelId, label] = this.label("progress");
    this.progressList = h("ul", { class: "progress-notes", "aria-labelledby": labelId });
    const row = h("div", { class: "field field-progress" }, label, this.progressList);
    if (this.editor.writable) {
      const id = nextId("progress");
      const input = h("input", {
        id,
        type: "text",
        placeholder: t("placeholder.progress"),
        "aria-labelledby": labelId,
        maxlength: String(this.editor.schema.progress_limit),
      });
      const add = () => {
        const text = input.value.trim();
        if (!text) return;
        this.ymap.doc.transact(() => {
          let notes = this.ymap.get("progress");
          if (!(notes instanceof Y.Array)) {
            notes = new Y.Array();
            this.ymap.set("progress", notes);
          }
          const at = new Date().toISOString().slice(0, 10);
          notes.push([new Y.Map(Object.entries({ text, by: this.editor.me.name, at }))]);
        }, LOCAL);
        input.value = "";
      };
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") {
          event.preventDefault();
          add();
        }
      });
      row.append(
        h(
          "div",
          { class: "row add-note" },
          input,
          h("button", { type: "button", class: "secondary", onclick: add }, t("action.add_note")),
        ),
      );
    }
    return row;
  }

  remove() {
    this.ymap.doc.transact(() => this.ymap.set("removed", true), LOCAL);
    this.editor.announce(t("removed.title", { count: this.editor.removedCount() }));
    this.editor.focusAfterMove();
  }

  showError(field, message) {
    const el = this.errors.get(field);
    if (!el) return;
    el.hidden = !message;
    el.textContent = message || "";
    el.closest(".field")?.classList.toggle("has-error", Boolean(message));
  }

  check(field, limit) {
    const text = textOf(this.ymap.get(field));
    const count = characters(text);
    let message = "";
    if (limit && count > limit) message = t("error.too_long", { count, limit });
    else if (field === "what" && !text.trim()) message = t("error.what_required");
    this.showError(field, message);
    if (field === "what")
      this.title.textContent = text.trim()
        ? t("agreement.label", { what: text.trim().slice(0, 80) })
        : t("agreement.untitled");
    if (MORE_TEXT.includes(field)) this.updateHint();
    if (field === "backup") this.showLinks(this.ymap.get("status"));
  }

  refresh() {
    const ymap = this.ymap;
    for (const field of this.fields.keys()) this.bind(field);
    const area = ymap.get("life_area");
    this.areaSelect.el.value = this.editor.schema.life_areas.includes(area) ? area : "";
    const status = this.editor.schema.statuses.includes(ymap.get("status"))
      ? ymap.get("status")
      : "open";
    if (this.statusSelect) this.statusSelect.el.value = status;
    this.showLinks(status);
    const date = ymap.get("when_date") || "";
    if (document.activeElement !== this.dateInput) this.dateInput.value = isDate(date) ? date : "";
    this.showError("when_date", date && !isDate(date) ? t("error.not_a_date") : "");
    const requestTo = ymap.get("request_to") || "";
    this.requestSelect.el.value = requestTo;
    const chosen = ymap.get("who_ids");
    const names = [];
    for (const [key, chip] of this.chips) {
      const ticked = chosen instanceof Y.Map && Boolean(chosen.get(key));
      chip.setAttribute("aria-pressed", String(ticked));
      if (ticked) names.push(chip.textContent);
    }
    this.chosenLine.textContent = names.length ? names.join(", ") : t("who.nobody");
    this.chosenLine.classList.toggle("muted", names.length === 0);
    const notes = ymap.get("progress");
    const items = notes instanceof Y.Array ? notes.toArray().filter((n) => n instanceof Y.Map) : [];
    this.progressList?.replaceChildren(
      ...(items.length
        ? items.map((n) =>
            h(
              "li",
              {},
              textOf(n.get("text")),
              " ",
              h("span", { class: "muted" }, `(${textOf(n.get("by"))}, ${textOf(n.get("at"))})`),
            ),
          )
        : [h("li", { class: "muted" }, t("progress.empty"))]),
    );
    for (const [field, limit] of Object.entries(this.editor.schema.text_limits))
      this.check(field, limit);
  }

  // "In place of ..." on an agreement made from another's backup, "replaced by ..." on the
  // one it replaces; "use the backup" while it is not working and nothing replaces it yet.
  showLinks(status) {
    const replaces = this.ymap.get("replaces");
    const original = typeof replaces === "string" && replaces ? this.editor.byId(replaces) : null;
    const successors = this.editor.replacementsOf(this.ymap.get("id"));
    const quote = (ymap) => textOf(ymap.get("what")).trim() || t("agreement.untitled");
    const lines = [];
    if (original) lines.push(t("link.replaces", { what: quote(original) }));
    if (successors.length)
      lines.push(t("link.replaced_by", { what: successors.map(quote).join("”, “") }));
    this.linkLine.textContent = lines.join(" ");
    this.linkLine.hidden = lines.length === 0;
    if (this.backupButton) {
      const ready = status === "not_working" && textOf(this.ymap.get("backup")).trim() !== "";
      this.backupButton.hidden = !(ready && successors.length === 0 && this.ymap.get("id"));
    }
  }

  // The backup becomes an agreement of its own, right after this one, which stays as it is
  // (with its status): nothing typed is lost, and the comparison shows the link.
  useBackup() {
    const id = this.ymap.get("id");
    const text = textOf(this.ymap.get("backup")).trim();
    if (!id || !text || this.editor.replacementsOf(id).length) return;
    const list = this.editor.agreements;
    const fresh = newAgreement(this.ymap.get("life_area"), text, id);
    this.editor.live.doc.transact(
      () => list.insert(list.toArray().indexOf(this.ymap) + 1, [fresh]),
      ADD,
    );
    this.editor.announce(t("backup.made", { what: text }));
    queueMicrotask(() => this.editor.cards.get(fresh)?.fields.get("what")?.view?.focus());
  }

  // Who has their cursor in which of this card's fields (Y.Text -> names).
  // Returns the names shown.
  showTyping(typing) {
    const shown = [];
    const folded = [];
    for (const [field, slot] of this.fields) {
      const names = (slot.ytext && typing.get(slot.ytext)) || [];
      showTyping(slot.tag, names);
      shown.push(...names);
      if (MORE_TEXT.includes(field)) folded.push(...names);
    }
    // Folded away, the field's name tag is not in view: the button that unfolds it says it.
    this.moreTyping.textContent = folded.length ? [...new Set(folded)].join(", ") : "";
    this.moreTyping.hidden = folded.length === 0;
    return shown;
  }

  showEditing(names) {
    this.editingNote.textContent = names.length
      ? t("presence.editing", { names: names.join(", ") })
      : "";
    this.el.classList.toggle("is-busy", names.length > 0);
  }

  destroy() {
    for (const slot of this.fields.values()) slot.view?.destroy();
    this.el.remove();
  }
}

// -- the whole plan --------------------------------------------------------------------------

class PlanEditor {
  constructor(root, config) {
    this.root = root;
    this.schema = config.schema;
    // The life areas as the choices offer them: the client's priorities from the compass
    // first (the server sends only the order); any area the order lacks still comes after.
    const order = (config.area_order || []).filter((a) => this.schema.life_areas.includes(a));
    this.areaOrder = [...order, ...this.schema.life_areas.filter((a) => !order.includes(a))];
    this.me = config.me;
    this.people = config.people;
    this.writable = config.writable;
    this.followUp = Boolean(config.follow_up);
    this.cards = new Map(); // Y.Map -> Card
    this.live = pageDocument(root, config, "plan");
    const doc = this.live.doc;
    this.agreements = doc.getArray("agreements");
    this.notes = doc.getText("notes");
    this.undo = new Y.UndoManager([this.agreements, this.notes], {
      trackedOrigins: new Set([LOCAL]),
    });

    this.list = root.querySelector("[data-agreements]");
    this.removedBox = root.querySelector("[data-removed]");
    this.liveRegion = root.querySelector("[data-announce]");
    this.presence = root.querySelector("[data-presence]");
    setUpUndo(root, this.undo);
    this.setUpDrawer();
    this.setUpAddForm();
    this.setUpNotes();
    this.setUpPresence();

    let queued = false;
    this.agreements.observeDeep((events) => {
      if (events.every((e) => e.target instanceof Y.Text)) return; // editors show their own text
      if (queued) return;
      queued = true;
      queueMicrotask(() => {
        queued = false;
        this.render();
      });
    });
    // Show what this device kept as soon as it is read, before the server answers.
    this.live.local.on("synced", () => this.render());
    this.live.provider.on("sync", () => this.render());
    this.render();
    root.dataset.ready = "true";
  }

  setUpAddForm() {
    const form = this.root.querySelector("[data-add-agreement]");
    if (!form) return;
    const area = form.querySelector("select");
    const what = form.querySelector("input");
    const error = form.querySelector(".field-error");
    const limit = this.schema.text_limits.what;
    area.replaceChildren(...this.areaOrder.map((a) => h("option", { value: a }, t(`area.${a}`))));
    const say = (message) => {
      error.hidden = !message;
      error.textContent = message;
      what.setAttribute("aria-invalid", String(Boolean(message)));
    };
    what.addEventListener("input", () => {
      const count = characters(what.value);
      if (count > limit) say(t("error.too_long", { count, limit }));
      else if (!error.hidden) say("");
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = what.value.trim();
      if (!text) return say(t("error.what_required"));
      if (characters(text) > limit)
        return say(t("error.too_long", { count: characters(text), limit })); // kept as typed
      say("");
      this.live.doc.transact(() => this.agreements.push([newAgreement(area.value, text)]), ADD);
      what.value = "";
      what.focus();
    });
  }

  setUpNotes() {
    const host = this.root.querySelector("[data-notes]");
    if (!host) return;
    this.notesTag = this.root.querySelector("[data-notes-typing]");
    const error = this.root.querySelector("[data-notes-error]");
    this.notesView = textField(host, this.notes, {
      awareness: this.live.awareness,
      undoManager: this.undo,
      readOnly: !this.writable,
      labelledBy: "notes-title",
      describedBy: error.id,
      placeholder: this.writable ? t("placeholder.notes") : "",
      onChange: (text) => {
        const limit = this.schema.notes_limit;
        const count = characters(text);
        error.hidden = count <= limit;
        error.textContent = count > limit ? t("error.too_long", { count, limit }) : "";
      },
    });
  }

  setUpPresence() {
    const awareness = this.live.awareness;
    announceMe(awareness, this.me);
    awareness.setLocalStateField("editing", null);
    this.root.addEventListener("focusout", (event) => {
      if (!event.relatedTarget?.closest?.("[data-agreement]")) this.editing(null);
    });
    awareness.on("change", () => this.showPresence());
    setUpPresenceList(this.root, this.presence);
    this.showPresence();
  }

  editing(id) {
    if (this.writable && this.live.awareness.getLocalState()?.editing !== id) {
      this.live.awareness.setLocalStateField("editing", id);
    }
  }

  showPresence() {
    const busy = new Map(); // agreement id -> names
    const { names, typing } = whoIsHere(this.live, this.me, this.writable, (state, name) => {
      if (state.editing) busy.set(state.editing, [...(busy.get(state.editing) || []), name]);
    });
    showHere(this.presence, names);
    for (const card of this.cards.values()) {
      // A name on the field someone types in; the card says who else is busy with it.
      const inFields = new Set(card.showTyping(typing));
      card.showEditing((busy.get(card.id) || []).filter((name) => !inFields.has(name)));
    }
    showTyping(this.notesTag, typing.get(this.notes) || []);
  }

  // The information and the conditions, read-only, beside the plan: a panel that does not
  // cover the field one is typing in on a tablet, and a sheet over the lower part on a phone.
  setUpDrawer() {
    const drawer = this.root.querySelector("[data-drawer]");
    const toggle = this.root.querySelector("[data-drawer-toggle]");
    if (!drawer || !toggle) return;
    const show = (open) => {
      drawer.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      document.documentElement.classList.toggle("has-drawer", open);
      if (open) drawer.focus();
      else toggle.focus();
    };
    toggle.addEventListener("click", () => show(drawer.hidden));
    drawer.querySelector("[data-drawer-close]").addEventListener("click", () => show(false));
    drawer.addEventListener("keydown", (event) => {
      if (event.key === "Escape") show(false);
    });
  }

  byId(id) {
    return this.agreements.toArray().find((m) => m instanceof Y.Map && m.get("id") === id);
  }

  // The agreements (not removed) made from this one's backup.
  replacementsOf(id) {
    if (!id) return [];
    return this.agreements
      .toArray()
      .filter((m) => m instanceof Y.Map && m.get("replaces") === id && m.get("removed") !== true);
  }

  removedCount() {
    return this.agreements.toArray().filter((m) => m instanceof Y.Map && m.get("removed") === true)
      .length;
  }

  // The button that was pressed is gone with its card or line: keep the keyboard's place.
  focusAfterMove() {
    queueMicrotask(() => {
      const summary =
        this.removedBox && !this.removedBox.hidden && this.removedBox.querySelector("summary");
      (summary || this.root.querySelector("#new-what") || this.list).focus?.();
    });
  }

  announce(message) {
    if (this.liveRegion) this.liveRegion.textContent = message;
  }

  render() {
    // Moving a node that holds the focus takes the focus away (and closes a tablet's
    // keyboard): remember it and give it back after the cards are in place.
    const focused = document.activeElement;
    this.place();
    if (focused && focused !== document.activeElement && focused.isConnected) {
      const view = EditorView.findFromDOM(focused);
      if (view)
        view.focus(); // CodeMirror puts the cursor back where it was
      else focused.focus({ preventScroll: true });
    }
    this.renderRemovedAndPresence();
  }

  place() {
    const present = new Set();
    const byArea = new Map();
    const removed = [];
    for (const ymap of this.agreements.toArray()) {
      if (!(ymap instanceof Y.Map)) continue; // reported by the server when the plan is frozen
      present.add(ymap);
      if (ymap.get("removed") === true) {
        removed.push(ymap);
        continue;
      }
      let card = this.cards.get(ymap);
      if (!card) {
        card = new Card(this, ymap);
        this.cards.set(ymap, card);
      } else {
        card.refresh();
      }
      const area = this.schema.life_areas.includes(ymap.get("life_area"))
        ? ymap.get("life_area")
        : "";
      byArea.set(area, [...(byArea.get(area) || []), card]);
    }
    for (const [ymap, card] of this.cards) {
      if (!present.has(ymap) || ymap.get("removed") === true) {
        card.destroy();
        this.cards.delete(ymap);
      }
    }
    const sections = [];
    for (const area of [...this.schema.life_areas, ""]) {
      const cards = byArea.get(area);
      if (!cards) continue;
      const headingId = `area-${area || "other"}`;
      let section = this.list.querySelector(`[data-area="${area || "other"}"]`);
      if (!section) {
        section = h(
          "section",
          { class: "plan-area stack", "data-area": area || "other", "aria-labelledby": headingId },
          h("h3", { id: headingId }, areaLabel(area, this.schema)),
          h("div", { class: "plan-cards stack" }),
        );
      }
      const holder = section.querySelector(".plan-cards");
      cards.forEach((card, index) => {
        if (holder.children[index] !== card.el)
          holder.insertBefore(card.el, holder.children[index] || null);
      });
      sections.push(section);
    }
    sections.forEach((section, index) => {
      if (this.list.children[index] !== section)
        this.list.insertBefore(section, this.list.children[index] || null);
    });
    for (const stale of [...this.list.children].slice(sections.length)) stale.remove();
    const empty = this.root.querySelector("[data-empty]");
    if (empty) empty.hidden = sections.length > 0;
    this.removed = removed;
  }

  renderRemovedAndPresence() {
    this.renderRemoved(this.removed);
    this.showPresence();
  }

  renderRemoved(removed) {
    renderRemovedList(this.removedBox, removed, {
      title: (count) => t("removed.title", { count }),
      label: (ymap) => textOf(ymap.get("what")) || t("agreement.untitled"),
      writable: this.writable,
      restore: (ymap) => {
        this.live.doc.transact(() => ymap.set("removed", false), LOCAL);
        this.focusAfterMove();
      },
    });
  }
}

const root = document.querySelector("[data-plan-editor]");
const configElement = document.getElementById("plan-config");
if (root && configElement) {
  window.kringPlan = new PlanEditor(root, JSON.parse(configElement.textContent));
  keepAwake();
  keepForOffline(window.kringPlan.me.id);
}
