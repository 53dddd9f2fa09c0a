import { initAll } from "/assets/govuk-frontend.min.js";
initAll();

// "Print this return" (templates/returns/read.html): shown only where it works.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}

// A question asked only on another answer on the same page (templates/returns/
// _question.html): hidden while that answer does not call for it, and its fields
// disabled so they are not sent (the service drops an answer to a question the return
// does not ask anyway). A chain follows: a question whose deciding question is hidden
// is hidden too. Without JavaScript it stays shown, its hint saying when to answer it.
const asked = [...document.querySelectorAll("[data-asked-when]")];
const showAsked = () => {
  for (const block of asked) {  // in page order: a deciding question comes first
    const values = JSON.parse(block.dataset.askedValues);
    const inputs = document.querySelectorAll(`input[name="${block.dataset.askedWhen}"]`);
    const chosen = [...inputs].find((input) => input.checked && !input.disabled);
    block.hidden = !(chosen && values.includes(chosen.value));
    for (const field of block.querySelectorAll("input, textarea, select")) {
      field.disabled = block.hidden;
    }
  }
};
if (asked.length) {
  document.addEventListener("change", showAsked);
  showAsked();
}
