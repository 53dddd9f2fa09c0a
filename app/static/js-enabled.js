// Marks the page as able to run GOV.UK Frontend's scripts. Loaded as a file (not an
// inline script) so the Content-Security-Policy can forbid inline script entirely.
document.body.className += " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
