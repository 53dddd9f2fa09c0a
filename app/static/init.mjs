import { initAll } from "/assets/govuk-frontend.min.js";
initAll();

// "Print this return" (templates/returns/read.html): shown only where it works.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}

// A question asked only on another answer on the same page (templates/returns/
// _question.html): hidden while that answer does not call for it. Without
// JavaScript it stays shown, its hint saying when to answer it; the service drops
// an answer to a question the return does not ask when it saves.
for (const block of document.querySelectorAll("[data-asked-when]")) {
  const values = block.dataset.askedValues.split("|");
  const inputs = document.querySelectorAll(`input[name="${block.dataset.askedWhen}"]`);
  const update = () => {
    const chosen = [...inputs].find((input) => input.checked);
    block.hidden = !(chosen && values.includes(chosen.value));
  };
  for (const input of inputs) input.addEventListener("change", update);
  update();
}
