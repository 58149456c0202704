// The browser's strings, in catalogues (web/src/i18n/*.json), in the page's language.
// The server renders <html lang="..."> from the person's choice (server/i18n.py); Dutch is the
// default and the fallback for a string a catalogue lacks.

import nl from "./i18n/nl.json";
import en from "./i18n/en.json";

const CATALOGUES = { nl, en };

export const language = CATALOGUES[document.documentElement.lang]
  ? document.documentElement.lang
  : "nl";
const catalogue = CATALOGUES[language];

// t("status.offline") or t("presence.editing", { name: "Ayşe" }): "{name}" is filled in.
export function t(key, params = {}) {
  const text = catalogue[key] ?? nl[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    name in params ? String(params[name]) : whole,
  );
}
