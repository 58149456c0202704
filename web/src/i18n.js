// The browser's strings, in catalogues (web/src/i18n/*.json), in the page's language.
// The server renders <html lang="..."> from the person's choice (server/i18n.py); Dutch is the
// default and the fallback for a string a catalogue lacks (never the key itself).
//
// Plurals: a key with forms, e.g. "presence.count_one" and "presence.count_other", is asked
// for as t("presence.count", { count }). Intl.PluralRules picks the form the language needs
// (zero, one, two, few, many or other: Arabic has all six, Polish one, few, many and other);
// a form the catalogue lacks falls back to its "_other", then to Dutch.
// Numbers and dates are written as the reader's language writes them, through Intl, in the
// same locales as the server's Babel (Arabic with the digits used in Europe).

import nl from "./i18n/nl.json" with { type: "json" };
import en from "./i18n/en.json" with { type: "json" };
import tr from "./i18n/tr.json" with { type: "json" };
import ar from "./i18n/ar.json" with { type: "json" };
import pl from "./i18n/pl.json" with { type: "json" };

export const CATALOGUES = { nl, en, tr, ar, pl };
export const LOCALES = {
  nl: "nl-NL",
  en: "en-GB",
  tr: "tr-TR",
  ar: "ar-u-nu-latn",
  pl: "pl-PL",
};

// A catalogue may hold an empty string for a sentence nobody translated yet: that is missing too.
const first = (...texts) => texts.find((text) => typeof text === "string" && text !== "");

/**
 * The strings, numbers and dates of one language.
 * @param {string} wanted a language code ("ar"); an unknown one is Dutch
 * @param {Record<string, Record<string, string>>} catalogues by language, "nl" among them
 */
export function translator(wanted, catalogues = CATALOGUES) {
  const language = catalogues[wanted] ? wanted : "nl";
  const own = catalogues[language];
  const dutch = catalogues.nl;
  const locale = LOCALES[language] ?? language;
  const plural = new Intl.PluralRules(locale);
  const dutchPlural = new Intl.PluralRules(LOCALES.nl);
  const numbers = new Intl.NumberFormat(locale);
  const days = new Intl.DateTimeFormat(locale, { dateStyle: "short", timeZone: "UTC" });

  const lookup = (key, count) => {
    if (typeof count === "number" && first(own[`${key}_other`], dutch[`${key}_other`])) {
      return first(
        own[`${key}_${plural.select(count)}`],
        own[`${key}_other`],
        dutch[`${key}_${dutchPlural.select(count)}`],
        dutch[`${key}_other`],
      );
    }
    return first(own[key], dutch[key]) ?? key;
  };

  const number = (value) => numbers.format(value);

  // t("status.offline") or t("presence.editing", { names: "Ayşe" }): "{names}" is filled in,
  // a number as the language writes it.
  const t = (key, params = {}) =>
    lookup(key, params.count).replace(/\{(\w+)\}/g, (whole, name) => {
      if (!(name in params)) return whole;
      const value = params[name];
      return typeof value === "number" ? number(value) : String(value);
    });

  // "2026-12-31" (a day, as the plan stores it) as the language writes a short date.
  const day = (value) => {
    const found = /^(\d{4})-(\d{2})-(\d{2})$/.exec(typeof value === "string" ? value : "");
    if (!found) return "";
    const [year, month, date] = found.slice(1).map(Number);
    return days.format(new Date(Date.UTC(year, month - 1, date)));
  };

  return { language, locale, t, number, day };
}

const page = translator(typeof document === "undefined" ? "nl" : document.documentElement.lang);

export const language = page.language;
export const t = page.t;
export const formatNumber = page.number;
export const formatDay = page.day;
