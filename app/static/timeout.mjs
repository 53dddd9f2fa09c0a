// The timeout warning (GOV.UK's timeout-warning pattern, WCAG 2.2.1): two minutes
// before the session would end for sitting idle, a modal dialog says so and offers
// "Stay signed in". Typing anywhere keeps the session alive (at most one call a
// minute), so someone writing a long answer is never signed out mid-sentence. If
// nobody answers, the page is left as it is: what is saved afterwards is kept for
// the person until they sign in again (app/access/kept.py).
const dialog = document.getElementById("timeout-warning");

if (dialog && typeof dialog.showModal === "function") {
  // How long from lastActive until the service ends the session: on this page, what
  // was left when it was drawn (the service notes activity at most once a minute);
  // after "Stay signed in", the whole idle time, as the service answers.
  let idle = Number(dialog.dataset.idleSeconds) * 1000;
  const warn = Number(dialog.dataset.warnSeconds) * 1000;
  const form = dialog.querySelector("form");
  const csrf = form.querySelector("input[name=csrf_token]");
  const countdown = dialog.querySelector("[data-countdown]");
  const heading = dialog.querySelector("h2");
  let lastActive = Date.now();
  let lastPing = Date.now();
  let ticker = null;
  let ended = false;
  const say = (element, words) => { if (element.textContent !== words) element.textContent = words; };

  const minutes = (ms) => {
    const whole = Math.max(0, Math.ceil(ms / 60000));
    return whole === 1 ? "1 minute" : `${whole} minutes`;
  };

  const stay = async () => {
    const response = await fetch(form.action, {
      method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf ? csrf.value : "" },
    });
    if (!response.ok || response.redirected) throw new Error("signed out");
    const answer = await response.json();
    if (answer.idle_seconds) idle = answer.idle_seconds * 1000;
    lastActive = lastPing = Date.now();
  };

  const check = () => {
    const left = lastActive + idle - Date.now();
    if (left <= 0) {
      // Signed out: the page stays as it is, so nothing on it is lost; what is saved
      // from it now is kept until its person signs in again.
      clearInterval(ticker);
      ended = true;
      say(heading, "You have been signed out");
      say(countdown.closest("p"),
        "Anything you save from this page now is kept for you for 24 hours, and saved when you sign in again.");
      say(form.querySelector("button"), "Close and carry on");
      if (!dialog.open) dialog.showModal();
      heading.focus();
    } else if (left <= warn && !dialog.open) {
      say(countdown, minutes(left));
      dialog.showModal();
      heading.focus();
    } else if (dialog.open) {
      say(countdown, minutes(left));
    }
  };
  ticker = setInterval(check, 1000);

  // Escape means "Stay signed in", not "leave the dialog to come back a second later".
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    form.requestSubmit();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (ended) { dialog.close(); return; }
    try {
      await stay();
      dialog.close();
    } catch (error) {
      form.submit(); // the plain page says what happened
    }
  });
  // Typing in the page is activity: keep the session alive (the server's idle time
  // starts again with each call; this page's count with it).
  document.addEventListener("input", () => {
    if (Date.now() - lastPing > 60000) stay().catch(() => {});
  });
}
