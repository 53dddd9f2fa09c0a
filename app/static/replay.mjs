// The Kept work page (templates/access/kept.html): what someone typed before their
// session timed out, kept for them. With one kept form, it is posted back at once, as
// if they had pressed its button; with several, or without JavaScript, they press each.
const forms = document.querySelectorAll("form[data-replay]");
if (forms.length === 1) forms[0].requestSubmit();
