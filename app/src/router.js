// Screens are addressed by the URL's hash (#/search, #/program/<id>, #/inbox/<id>): only public
// ids ever appear there, never a family's details.
import { useEffect, useState } from "preact/hooks";

const parse = () => (location.hash.replace(/^#\/?/, "") || "").split("/").filter(Boolean).map(decodeURIComponent);

export function useRoute() {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const changed = () => setRoute(parse());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

export function navigate(...parts) {
  location.hash = `#/${parts.map(encodeURIComponent).join("/")}`;
}

export const href = (...parts) => `#/${parts.map(encodeURIComponent).join("/")}`;
