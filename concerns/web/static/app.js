// Starts the GOV.UK Frontend components (error summary focus, service navigation, etc.).
import { initAll } from "/static/govuk/govuk-frontend.min.js";
initAll();
