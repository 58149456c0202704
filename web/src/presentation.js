// The presentation view (web/templates/meeting/present.html): the family's plan on a big
// screen or a projector, large and numbered, following every edit live.
//
// A read-only connection to the plan document (sync.js), with no copy kept on this device.
// The numbering and order are the copy's (server/rules/plan.py's read_plan: by life area, in
// the family's order within one). What the screen shows lives only as long as the connection:
// when the connection drops, the plan is hidden until it is back; when the server closes it
// for good (4001: the meeting went back to private time; 4403: refused), the plan is cleared
// and the document dropped, so nothing of it stays on the screen.

import * as Y from "yjs";
import { formatDay, t, translator } from "./i18n.js";
import { LiveDocument } from "./sync.js";
import { textOf } from "./plan-schema.js";

// Connected and caught up with the server (a reader's own handshake may still be counted as
// "saving" for a moment; it sends no edits).
const SHOWN = new Set(["saved", "saving"]);

function h(tag, attributes = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name === "class") el.className = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child != null && child !== false) el.append(child);
  }
  return el;
}

// Kring's own words for `key`, and beside them the same in the room's second language (the
// page's ?also=), each marked with its language and direction. The family's words are not.
function inBoth(second, key) {
  if (!second) return t(key);
  const { language, dir } = second;
  return [t(key), " ", h("span", { class: "second-language", lang: language, dir }, second.t(key))];
}

// The plan's agreements as the copy reads them (removed and empty ones left out).
export function agreementsOf(doc, config) {
  const order = new Map(config.schema.life_areas.map((area, index) => [area, index]));
  const rows = [];
  for (const item of doc.getArray("agreements").toArray()) {
    if (!(item instanceof Y.Map) || item.get("removed") === true) continue;
    const text = (field) => textOf(item.get(field)).trim();
    const whoIds = item.get("who_ids");
    const named =
      whoIds instanceof Y.Map
        ? [...whoIds.keys()].filter((id) => id in config.people).map((id) => config.people[id])
        : [];
    const requestTo = textOf(item.get("request_to"));
    const area = textOf(item.get("life_area"));
    const row = {
      id: textOf(item.get("id")),
      area: order.has(area) ? area : "",
      what: text("what"),
      who: [...named, text("who")].filter(Boolean).join(", "),
      when: [text("when"), formatDay(item.get("when_date"))].filter(Boolean).join(" "),
      where: text("where"),
      backup: text("backup"),
      request:
        text("request") && requestTo in config.people
          ? `${text("request")} (${config.people[requestTo]})`
          : text("request"),
      status: textOf(item.get("status")) || "open",
    };
    if (!row.what && !row.who && !row.when && !row.where && !row.backup && !row.request) continue;
    rows.push(row);
  }
  const last = order.size;
  // Array.prototype.sort is stable: the family's order within a life area stays.
  rows.sort((a, b) => (order.get(a.area) ?? last) - (order.get(b.area) ?? last));
  return rows;
}

class Presentation {
  constructor(root, config) {
    this.root = root;
    this.config = config;
    // A room reading two languages: the second's words, and its direction as the server says.
    this.second = config.also ? { ...translator(config.also), dir: config.alsoDir } : null;
    this.host = root.querySelector("[data-presentation-plan]");
    this.status = root.querySelector("[data-sync-status]");
    this.seen = new Map(); // agreement id -> what it showed, to mark what just changed
    this.pending = false;
    this.live = new LiveDocument({
      conference: config.conference,
      name: "plan",
      person: "",
      writable: false,
      keepLocal: false,
      view: "present",
      onState: () => this.state(),
    });
    this.live.doc.on("update", () => this.schedule());
    this.state();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      if (SHOWN.has(this.live.state)) this.render();
    });
  }

  state() {
    if (!this.live) return; // called once from within LiveDocument's constructor
    const { state } = this.live;
    this.root.dataset.state = state;
    this.status.dataset.state = state; // its dot's colour (app.css)
    if (state === "closed") {
      // For good: nothing of the plan stays on the screen or in this page.
      this.clear(this.live.closedReason);
      this.live.doc.destroy();
      return;
    }
    if (SHOWN.has(state)) {
      this.status.textContent = t("presentation.live");
      this.render();
    } else {
      // Not connected (or not caught up): show nothing rather than what may be out of date.
      this.clear(state.startsWith("offline") ? t("presentation.offline") : t("status.connecting"));
    }
  }

  clear(message) {
    this.host.replaceChildren();
    this.seen.clear();
    this.root.classList.toggle("is-closed", this.live.state === "closed");
    this.status.textContent = message;
  }

  render() {
    const rows = agreementsOf(this.live.doc, this.config);
    const blocks = [];
    let list = null;
    let area = null;
    const changed = [];
    rows.forEach((row, index) => {
      if (row.area !== area || list === null) {
        area = row.area;
        const label = inBoth(this.second, area ? `area.${area}` : "area.other");
        list = h("ol", { class: "presentation-agreements plain", start: String(index + 1) });
        blocks.push(h("section", { class: "presentation-area" }, h("h2", {}, label), list));
      }
      const number = index + 1;
      const fields = [
        ["who", row.who],
        ["when", row.when],
        ["where", row.where],
        ["backup", row.backup],
        ["request", row.request],
      ].filter(([, value]) => value);
      if (this.config.followUp) {
        fields.push(["status", inBoth(this.second, `agreementStatus.${row.status}`)]);
      }
      const shown = JSON.stringify([row.what, ...fields]);
      const item = h(
        "li",
        { class: "presentation-agreement", "data-number": String(number) },
        h(
          "h3",
          {},
          h("span", { class: "agreement-number" }, `${number}.`),
          " ",
          // what the family typed reads in its own direction, the number where the page starts
          row.what
            ? h("span", { dir: "auto" }, row.what)
            : inBoth(this.second, "presentation.noWhat"),
        ),
        fields.length
          ? h(
              "dl",
              {},
              fields.map(([field, value]) => [
                h("dt", {}, inBoth(this.second, `field.${field}`)),
                h("dd", {}, value),
              ]),
            )
          : null,
      );
      if (row.id && this.seen.has(row.id) && this.seen.get(row.id) !== shown) changed.push(item);
      if (row.id) this.seen.set(row.id, shown);
      list.append(item);
    });
    if (!rows.length) {
      blocks.push(h("p", { class: "muted" }, inBoth(this.second, "presentation.empty")));
    }
    const notes = this.live.doc.getText("notes").toString().trim();
    if (notes) {
      blocks.push(
        h(
          "section",
          { class: "presentation-notes" },
          h("h2", {}, inBoth(this.second, "presentation.notes")),
          h("p", { class: "prewrap" }, notes),
        ),
      );
    }
    this.host.replaceChildren(...blocks);
    for (const item of changed) item.classList.add("is-changed");
    this.root.dataset.agreements = String(rows.length);
  }
}

function fullscreenButton(root) {
  const button = root.querySelector("[data-fullscreen]");
  if (!button || !document.fullscreenEnabled) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else root.requestFullscreen();
  });
}

const root = document.querySelector("[data-presentation]");
const configElement = document.getElementById("presentation-config");
if (root && configElement) {
  window.kringPresentation = new Presentation(root, JSON.parse(configElement.textContent));
  fullscreenButton(root);
}
