import { render } from "preact";
import { App } from "./app";
import { refreshSession } from "./api/auth";
import "./styles.css";

// A reload keeps the session of this tab: trade the stored refresh token before the first render.
void refreshSession().finally(() => render(<App />, document.getElementById("app")!));
