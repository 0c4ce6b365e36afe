// A module whose import would be visible: J7 names it in a message and checks it never loads.
(globalThis as { __partitaImported?: boolean }).__partitaImported = true;
export {};
