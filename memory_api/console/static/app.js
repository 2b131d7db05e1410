// The console's entry point: sign-in, and the screens behind #/hash routes (the key is never in the URL).

import { call, session, setBase } from "./api.js";
import { $ } from "./dom.js";
import { act, config, go, latestOnly, navigated, report } from "./ui.js";
import { canWrite, current, setSpaces } from "./space.js";
import * as activity from "./activity.js";
import * as context from "./context.js";
import * as editor from "./editor.js";
import * as history from "./history.js";
import * as members from "./members.js";
import * as memories from "./memories.js";
import * as overview from "./overview.js";
import * as search from "./search.js";
import * as spaces from "./spaces.js";
import * as switcher from "./switcher.js";
import * as whoami from "./whoami.js";

setBase(config.api, config.spacesApi);

const SCREENS = {
  memories: () => memories.show(),
  search: () => search.show(),
  new: () => editor.show(null),
  edit: (id) => editor.show(id),
  history: (id) => history.show(id),
  context: () => context.show(),
  activity: () => activity.show(),
  overview: () => overview.show(),
  spaces: (id) => (id ? members.show(id) : spaces.show()),
};
// Screens reached from another one keep their parent's tab marked as current.
const NAV_OF = { new: "memories", edit: "memories", history: "memories" };
// Screens that write: not for a reader of the space the console is on.
const WRITES = ["new", "edit"];
const routes = latestOnly();

function sectionOf(screen, id) {
  if (["new", "edit"].includes(screen)) return $("screen-edit");
  if (screen === "spaces" && id) return $("screen-members");
  return $(`screen-${screen}`);
}

async function route() {
  const ticket = routes.start();
  const [name, id] = location.hash.replace(/^#\/?/, "").split("/");
  const signedIn = Boolean(session.key);
  const screen = signedIn && SCREENS[name] ? name : signedIn ? "memories" : "signin";
  if (signedIn && screen !== name) return go("#/memories");
  $("nav").hidden = $("session").hidden = $("space-form").hidden = !signedIn;
  whoami.show();
  if (!signedIn) { // nothing of the last person's spaces is left in the page
    setSpaces([]);
    switcher.render();
  } else {
    // The spaces anew before every screen: a role changed or a membership ended elsewhere shows at the next
    // step. Only then is the screen revealed, its fields reset and filled by its show().
    try {
      if (!(await switcher.refresh()) || !routes.wanted(ticket)) return undefined; // gone: told, and moved
    } catch (err) {
      return report(err);
    }
    if (WRITES.includes(screen) && !canWrite()) {
      return go("#/memories", { error: `You are a reader of the space ${current().name}: you can read its `
        + "memories, not write them." });
    }
  }
  const section = sectionOf(screen, id);
  for (const other of document.querySelectorAll(".screen")) other.hidden = other !== section;
  for (const link of $("nav").querySelectorAll("a")) {
    if (link.hash === `#/${NAV_OF[screen] || screen}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  // Keyboard and screen-reader users land on the new screen's heading, not on the link they left.
  const heading = section.querySelector("h2");
  heading.tabIndex = -1;
  heading.focus({ preventScroll: true });
  if (screen === "signin") return $("signin-key").focus();
  try {
    await SCREENS[screen](id && decodeURIComponent(id));
  } catch (err) {
    report(err);
  }
  return undefined;
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act(event.submitter, async () => {
    whoami.forget();
    session.save($("signin-key").value.trim(), $("signin-user").value.trim());
    try {
      await call("/stats"); // any read the key may do: is it a key, and may it act for that user?
    } catch (err) {
      session.clear();
      // A service key must say whom it acts for: the field to fill is the next stop for the keyboard.
      if (err.code === "missing_user") $("signin-user").focus();
      throw err;
    }
    $("signin-form").reset(); // the key stays in sessionStorage only, not in a field
    go("#/memories", { say: "Signed in." });
  });
});

$("sign-out").addEventListener("click", () => {
  session.clear();
  whoami.forget();
  go("#/signin", { say: "Signed out." });
});

for (const screen of [activity, context, editor, history, members, memories, overview, search, spaces, switcher]) {
  screen.init?.();
}
window.addEventListener("hashchange", () => { navigated(); route(); });
route();
