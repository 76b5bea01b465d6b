// The consent text an officer reads to the family, and the version recorded with the consent.
// It is read in the family's language (the "language to speak" of the form, when Bridges has
// the text in it; the officer may choose another), whatever language the app is in. A new
// wording gets a new version: a referral always says which words the family agreed to.
import { CATALOGS, language } from "./i18n.js";

export const CONSENT_VERSION = "bridges-consent-2026-11";
export const SCOPES = ["contact", "household", "needs", "situation"];
export const CONSENT_LANGUAGES = Object.keys(CATALOGS);

/** The language the consent is read in for this draft. */
export function consentLanguage(draft) {
  if (draft.consent.language && CATALOGS[draft.consent.language]) return draft.consent.language;
  return CATALOGS[draft.contactLanguage] ? draft.contactLanguage : language();
}

/** Whether the family's own language has no consent text (an interpreter reads it). */
export const noTextInFamilyLanguage = (draft) => !CATALOGS[draft.contactLanguage];

export const consentText = (lang) => CATALOGS[lang]["consent.text"];
export const consentTextVersion = (lang) => `${CONSENT_VERSION}/${lang}`;
