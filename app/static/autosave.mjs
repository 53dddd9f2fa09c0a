// Saves a return's key-area form as a draft while the auditor types, so nothing is
// lost if the browser is closed. The page works without this: "Save and continue"
// posts the same form. A save that another tab or person got in before is never
// forced through: the message asks the auditor to reload instead.
//
// One tab never conflicts with itself: saves run one after another, each sending the
// version the one before it returned, and "Save and continue" waits for a save in
// flight, then posts with the version that save returned.
const DEFAULT_DELAY_MS = 1500;

for (const form of document.querySelectorAll("form[data-autosave]")) {
  const status = document.getElementById("autosave-status");
  const version = form.querySelector("input[name=version]");
  const csrf = form.querySelector("input[name=csrf_token]");
  let timer = null;
  let dirty = false;
  let stopped = false;
  let submitting = false;
  let saving = Promise.resolve(); // the last save asked for, done or in flight
  let pending = 0; // saves asked for and not yet finished

  const say = (text) => { if (status) status.textContent = text; };
  // data-autosave="MS" sets how long after the last key press the draft is saved.
  const delay = () => Number(form.dataset.autosave) || DEFAULT_DELAY_MS;

  const send = async (keepalive) => {
    if (!dirty || stopped) return;
    dirty = false;
    // Read now, not when the save was asked for: the save before may have moved
    // the version on.
    const body = new URLSearchParams(new FormData(form));
    try {
      const response = await fetch(form.action, {
        method: "POST", body, keepalive, credentials: "same-origin",
        headers: { "X-Autosave": "1", "X-CSRF-Token": csrf ? csrf.value : "" },
      });
      if (response.redirected && new URL(response.url).pathname.startsWith("/sign-in")) {
        // Signed out (the session timed out): the service has kept what was sent for
        // this person (app/access/kept.py); "Save and continue" keeps the rest.
        stopped = true;
        say("You have been signed out. What you typed has been kept: select Save and continue, then sign in again to save it.");
        return;
      }
      const result = await response.json();
      if (response.ok) {
        version.value = result.version;
        say(`Draft saved at ${new Date().toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" })}`);
      } else if (response.status === 409) {
        stopped = true;
        say(`${result.detail} Your typing has not been saved: reload the page to see their changes.`);
      } else {
        dirty = true;
        say("Not saved yet: check the answers marked when you select Save and continue.");
      }
    } catch (error) {
      dirty = true;
      say("Could not save just now; your answers will be saved when you select Save and continue.");
    }
  };

  const save = (keepalive = false) => {
    pending += 1;
    saving = saving.then(() => send(keepalive)).finally(() => { pending -= 1; });
    return saving;
  };

  const changed = () => {
    dirty = true;
    clearTimeout(timer);
    timer = setTimeout(save, delay());
  };
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  // Leaving or hiding the page saves what is pending, even as the tab closes.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden" && !submitting) save(true);
  });
  let waiting = false; // a post held back until the save in flight has answered
  form.addEventListener("submit", (event) => {
    clearTimeout(timer);
    stopped = true; // the form itself now carries everything typed
    if (submitting) return;
    if (waiting) { event.preventDefault(); return; } // a second press while we wait
    if (pending === 0) { submitting = true; return; }
    // A save is in flight: post once it has answered, with the version it returned.
    event.preventDefault();
    waiting = true;
    const button = event.submitter;
    saving.then(() => setTimeout(() => {
      submitting = true;
      form.requestSubmit(button);
    }));
  });
}
