import { h, render } from "preact"; render(h("p", null, "Bridges"), document.getElementById("app"));
