// The consent text an officer reads to the family, and the version recorded with the consent.
// A new wording gets a new version: a referral always says which words the family agreed to.
import { language, t } from "./i18n.js";

export const CONSENT_VERSION = "bridges-consent-2026-11";
export const SCOPES = ["contact", "household", "needs", "situation"];

export const consentText = () => t("consent.text");
export const consentTextVersion = () => `${CONSENT_VERSION}/${language()}`;
