// Copies GOV.UK Frontend's JavaScript, images and manifest (and axe-core for the browser tests'
// accessibility check is read straight from node_modules) into concerns/web/static/govuk/.
import { cpSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const source = join(root, "node_modules", "govuk-frontend", "dist", "govuk");
const target = join(root, "concerns", "web", "static", "govuk");
mkdirSync(target, { recursive: true });
cpSync(join(source, "govuk-frontend.min.js"), join(target, "govuk-frontend.min.js"));
cpSync(join(source, "assets", "images"), join(target, "images"), { recursive: true });
cpSync(join(source, "assets", "manifest.json"), join(target, "manifest.json"));
