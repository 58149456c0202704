// The browser's strings (web/src/i18n.js) and the direction of typed text (web/src/bidi.js),
// under node's test runner: `node --test tests/js/i18n.test.mjs` (tests/test_web_i18n.py runs
// it). The catalogues here are made up, so the checks do not wait for the translations.

import assert from "node:assert/strict";
import { test } from "node:test";
import { directionOf } from "../../web/src/bidi.js";
import { CATALOGUES, translator } from "../../web/src/i18n.js";

const nl = {
  "status.saved": "Opgeslagen",
  "status.offline": "Geen verbinding.",
  "error.too_long": "Te lang: {count} van de {limit} tekens.",
  "presence.count_one": " persoon hier",
  "presence.count_other": " mensen hier",
  "removed.count_one": "{count} verwijderd",
  "removed.count_other": "{count} verwijderd (meer)",
};

test("a string the Arabic catalogue lacks, or leaves empty, is Dutch", () => {
  const { t } = translator("ar", { nl, ar: { "status.saved": "تم الحفظ", "status.offline": "" } });
  assert.equal(t("status.saved"), "تم الحفظ");
  assert.equal(t("status.offline"), "Geen verbinding.");
  assert.equal(t("error.too_long", { count: 501, limit: 500 }), "Te lang: 501 van de 500 tekens.");
});

test("no language ever shows a key: every Dutch string is there in each catalogue's place", () => {
  for (const language of ["nl", "en", "tr", "ar", "pl"]) {
    const { t } = translator(language);
    for (const key of Object.keys(CATALOGUES.nl)) {
      const plural = key.match(/^(.*)_(zero|one|two|few|many|other)$/);
      const shown = plural ? t(plural[1], { count: 7 }) : t(key);
      assert.ok(shown && shown !== key && shown !== plural?.[1], `${language}: ${key}`);
    }
  }
  assert.equal(translator("de").language, "nl", "an unknown language is Dutch");
});

test("Arabic picks each of its six plural forms, then its _other, then Dutch", () => {
  const forms = ["zero", "one", "two", "few", "many", "other"];
  const ar = Object.fromEntries(forms.map((form) => [`presence.count_${form}`, form]));
  const { t } = translator("ar", { nl, ar });
  const picked = [0, 1, 2, 3, 11, 100].map((count) => t("presence.count", { count }));
  assert.deepEqual(picked, forms);

  const { t: fewer } = translator("ar", { nl, ar: { "presence.count_other": "آخر" } });
  assert.equal(fewer("presence.count", { count: 3 }), "آخر", "a missing form: _other");
  const { t: none } = translator("ar", { nl, ar: {} });
  assert.equal(none("presence.count", { count: 1 }), " persoon hier", "none at all: Dutch");
  assert.equal(none("presence.count", { count: 2 }), " mensen hier");
});

test("Polish: one, few, many; numbers and days as each language writes them", () => {
  const pl = { "x_one": "1 osoba", "x_few": "{count} osoby", "x_many": "{count} osób" };
  const { t } = translator("pl", { nl: { x_other: "{count} mensen" }, pl });
  assert.deepEqual(
    [1, 2, 5, 22].map((count) => t("x", { count })),
    ["1 osoba", "2 osoby", "5 osób", "22 osoby"],
  );
  const arabic = translator("ar", { nl, ar: {} });
  assert.equal(arabic.t("error.too_long", { count: 1234, limit: 500 }), "Te lang: 1,234 van de 500 tekens.");
  assert.equal(arabic.day("2026-12-31"), "31\u200f/12\u200f/2026", "latin digits, as Babel's ar");
  const dutch = translator("nl", { nl });
  assert.equal(dutch.day("2026-12-31"), "31-12-2026");
  assert.equal(dutch.number(1234), "1.234");
  assert.equal(dutch.day("31-12-2026"), "", "not a day: nothing");
});

test("typed text reads in the direction of its first letter", () => {
  assert.equal(directionOf("سيتصل Ayşe Yılmaz بالمدرسة"), "rtl");
  assert.equal(directionOf("Ayşe belt مريم"), "ltr");
  assert.equal(directionOf("12, (٣) "), null, "no letter: it follows the page");
  assert.equal(directionOf("“שלום”"), "rtl");
});
