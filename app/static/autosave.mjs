// Saves a return's key-area form as a draft while the auditor types, so nothing is
// lost if the browser is closed. The page works without this: "Save and continue"
// posts the same form. A save that another tab or person got in before is never
// forced through: the message asks the auditor to reload instead.
const DELAY_MS = 1500;

for (const form of document.querySelectorAll("form[data-autosave]")) {
  const status = document.getElementById("autosave-status");
  const version = form.querySelector("input[name=version]");
  const csrf = form.querySelector("input[name=csrf_token]");
  let timer = null;
  let dirty = false;
  let stopped = false;

  const say = (text) => { if (status) status.textContent = text; };

  const save = async (keepalive = false) => {
    if (!dirty || stopped) return;
    dirty = false;
    const body = new URLSearchParams(new FormData(form));
    try {
      const response = await fetch(form.action, {
        method: "POST", body, keepalive, credentials: "same-origin",
        headers: { "X-Autosave": "1", "X-CSRF-Token": csrf ? csrf.value : "" },
      });
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

  const changed = () => {
    dirty = true;
    clearTimeout(timer);
    timer = setTimeout(save, DELAY_MS);
  };
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  // Leaving or hiding the page saves what is pending, even as the tab closes.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") save(true);
  });
  form.addEventListener("submit", () => { stopped = true; clearTimeout(timer); });
}
