import { initAll } from "/assets/govuk-frontend.min.js";
initAll();

// "Print this return" (templates/returns/read.html): shown only where it works.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
